package tracker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"supportgate/bitrix"
	"supportgate/queue"
	"supportgate/store"

	bolt "go.etcd.io/bbolt"
)

// commentData is the Data of a "comment" job.
type commentData struct {
	Thread string `json:"thread"`
	uploads
	// Task is the task being commented on; Sent is when the comment was
	// first sent and Hash the hash of its text, to find it after an
	// ambiguous send; CommentID is the comment made.
	Task      int64     `json:"task,omitempty"`
	Sent      time.Time `json:"sent,omitzero"`
	Hash      string    `json:"hash,omitempty"`
	CommentID int64     `json:"comment_id,omitempty"`
	// NewTask is set when the thread's task is gone (or never came): a
	// new task is made from this message instead of a comment.
	NewTask *creation `json:"new_task,omitempty"`
	OldTask int64     `json:"old_task,omitempty"`
	// Warning goes first in the comment (a sender that failed
	// authentication but named the thread's Message-ID).
	Warning string `json:"warning,omitempty"`
	followUp
}

// followUp is what the task's state made of the follow-up (closed.go,
// chatpost.go): the policy once decided, and its steps done.
type followUp struct {
	Policy   string `json:"policy,omitempty"`
	Status   int    `json:"status,omitempty"`    // the task's status when decided
	Renewed  bool   `json:"renewed,omitempty"`   // the renew step is done
	Closed   bool   `json:"closed,omitempty"`    // NewTask follows a closed task
	NoParent bool   `json:"no_parent,omitempty"` // the portal refused PARENT_ID
	Chat     int64  `json:"chat,omitempty"`      // the task's chat (new card)
	// Posts are the chat messages we made (text, then one per file);
	// Posted counts the files done.
	Posts  []int64 `json:"posts,omitempty"`
	Posted int     `json:"posted,omitempty"`
	Noted  bool    `json:"noted,omitempty"` // the line naming files not posted is sent
}

// waitForTask is how long a comment waits for the thread's task job
// before making a task itself, looking every taskPoll (vars for tests).
var (
	waitForTask = 10 * time.Minute
	taskPoll    = 15 * time.Second
)

func (t *Tracker) handleComment(ctx context.Context, j *store.Job) error {
	var d commentData
	c, th, save, err := t.begin(j, &d, func() string { return d.Thread })
	if err != nil {
		return err
	}
	if d.CommentID != 0 {
		if err := t.renew(ctx, c, &d, save); err != nil {
			return err
		}
		return commented(d.Task, d.CommentID, d.Posts...)
	}
	if d.NewTask == nil && d.Task == 0 {
		if th.TaskID == 0 {
			if time.Since(j.Created) < waitForTask {
				t.wakeOnTask(th.ID, j.ID) // the task job wakes it; taskPoll is the fallback
				return queue.Later(taskPoll, "waiting for the thread's task")
			}
			// The task job failed or is stuck: this message starts the
			// task (looking first, in case the task job made it after all).
			d.NewTask = &creation{}
		} else {
			d.Task = th.TaskID
		}
		if err := save(); err != nil {
			return err
		}
	}
	m, err := t.loadMail(j)
	if err != nil {
		return err
	}
	cfg := t.cfg.Get()
	if d.NewTask == nil && d.Policy == "" {
		if err := t.decidePolicy(ctx, c, cfg, m, &d); err != nil {
			return err
		}
		if err := save(); err != nil {
			return err
		}
		if err := t.cacheChat(th, d.Task, d.Chat); err != nil {
			return err
		}
	}
	if d.NewTask == nil && d.Chat != 0 {
		return t.postToChat(ctx, c, cfg, th, m, &d, save)
	}
	if err := t.upload(ctx, c, cfg, m, false, &d.uploads, save); err != nil {
		return err
	}
	if d.NewTask != nil {
		return t.replaceTask(ctx, c, th, m, &d, save)
	}

	lang := threadLang(cfg, th)
	text := t.commentText(m, &d, lang)
	if d.NoFolder {
		if names := m.attachmentNames(); len(names) > 0 {
			text += "\n\n[I]" + word(lang, "no_folder") + " (" + noFolderReason(&d.uploads, lang) + "): " +
				escapeBBCode(strings.Join(names, ", ")) + ".[/I]"
		}
	}
	text += strings.TrimRight(skippedNote(&d.uploads, lang), "\n")
	text += strings.TrimRight(refusedNote(&d.uploads, lang), "\n")
	hash := textHash(text)
	if !d.Sent.IsZero() {
		id, err := t.findComment(ctx, c, d.Task, th.ChatID, hash, d.Sent)
		if err != nil {
			return err
		}
		if id != 0 {
			t.log.Info("found the comment an earlier attempt made", "task", d.Task, "comment", id)
			d.CommentID = id
			if err := save(); err != nil {
				return err
			}
			if err := t.renew(ctx, c, &d, save); err != nil {
				return err
			}
			return commented(d.Task, id)
		}
	}
	d.Sent, d.Hash = time.Now(), hash
	if err := save(); err != nil {
		return err
	}
	id, err := c.AddComment(ctx, d.Task, text, d.refs())
	if err != nil {
		if bitrix.IsNotFound(err) {
			// #512: the task is gone or we lost access. Only a task
			// that tasks.task.get confirms missing is replaced.
			task, gerr := c.GetTask(ctx, d.Task)
			if gerr == nil && task == nil {
				t.log.Warn("thread's task is gone; making a new one", "thread", th.ID, "old_task", d.Task)
				d.NewTask, d.OldTask = &creation{}, d.Task
				if err := save(); err != nil {
					return err
				}
				return t.replaceTask(ctx, c, th, m, &d, save)
			}
		}
		return remoteErr("task.commentitem.add", err)
	}
	d.CommentID = id
	if err := save(); err != nil {
		return err
	}
	t.log.Info("bitrix24 comment added", "thread", th.ID, "task", d.Task, "comment", id, "files", len(d.Files), "reason", d.Policy)
	if err := t.renew(ctx, c, &d, save); err != nil {
		return err
	}
	return commented(d.Task, id)
}

// commentText is the comment of a follow-up: the warning, whether the
// task was renewed for it, the sender and the new text.
func (t *Tracker) commentText(m *inMail, d *commentData, lang string) string {
	text := warningLine(d.Warning)
	if d.Policy == PolicyRenewed {
		text += word(lang, "renewed")
	}
	return text + word(lang, "from") + escapeBBCode(m.sender()) + "\n\n" + m.newText()
}

// commented finishes a comment job: our own comment (or, in the new card,
// our chat messages by id) is marked handled so its ONTASKCOMMENTADD is
// not mailed back to the customer.
func commented(task, id int64, chatMsgs ...int64) error {
	return queue.Then(func(tx *bolt.Tx) error {
		for _, mid := range chatMsgs {
			if _, err := store.Seen(tx, handledKey(task, 'm', mid)); err != nil {
				return err
			}
		}
		if id == 0 {
			return nil
		}
		_, err := store.Seen(tx, handledKey(task, 'c', id))
		return err
	})
}

// replaceTask makes a new task for the thread from this message and moves
// the thread to it. This happens when the thread's task was deleted in
// the portal (task.commentitem.add says #512 and tasks.task.get finds
// nothing): the customer is still writing, so the conversation must land
// somewhere the team sees it. The new task's text says which task it
// replaces; the reconciler's cursor starts over on the new task. It also
// happens when the thread's own task job never delivered a task; then the
// portal is searched first, in case that job made it after all.
func (t *Tracker) replaceTask(ctx context.Context, c *bitrix.Client, th *store.Thread, m *inMail, d *commentData, save func() error) error {
	cfg := t.cfg.Get()
	note := "Задача по этой переписке не была создана вовремя; создана по следующему письму."
	if d.OldTask != 0 {
		note = fmt.Sprintf("Задача #%d по этой переписке удалена; переписка продолжается здесь.", d.OldTask)
	}
	if d.Closed {
		note = closedNote(c, d)
	}
	f := t.taskFields(cfg, th, m, &d.uploads, note)
	if d.Closed && !d.NoParent {
		f.ParentID = d.OldTask
	}
	id, err := t.createTask(ctx, c, cfg, th, f, d.NewTask, d.OldTask == 0, save)
	if err != nil && f.ParentID != 0 && isParentRefused(err) {
		// The portal would not link the old task: a link line instead.
		t.log.Warn("PARENT_ID refused; the new task links the old one in its text", "old_task", d.OldTask, "err", err)
		d.NoParent = true
		if err := save(); err != nil {
			return err
		}
		f = t.taskFields(cfg, th, m, &d.uploads, closedNote(c, d))
		id, err = t.createTask(ctx, c, cfg, th, f, d.NewTask, false, save)
	}
	if err != nil {
		return err
	}
	if d.NewTask.Other {
		// The thread's task job made the task after all: record it and
		// run again to add this message as a comment.
		if err := t.st.Update(func(tx *bolt.Tx) error { return setTask(tx, th.ID, id, 0) }); err != nil {
			return err
		}
		d.Task, d.NewTask = id, nil
		if err := save(); err != nil {
			return err
		}
		return queue.Later(0, "task found; adding the comment")
	}
	var ack func(tx *bolt.Tx) error
	if d.Closed && t.ack != nil {
		// The customer wrote to a closed task and got a new one: the
		// acknowledgement again, naming it (the thread moves in the same
		// transaction).
		msgID := m.id
		ack = func(tx *bolt.Tx) error { return t.ack(tx, th.ID, msgID, m.msg) }
	}
	t.log.Info("follow-up made a new task", "thread", th.ID, "task", id, "old_task", d.OldTask, "reason", d.Policy)
	return t.taskMade(ctx, c, th.ID, id, d.NewTask.Chat, d.NewTask.ChatKnown, ack)
}

func textHash(s string) string {
	sum := sha256.Sum256([]byte(strings.Join(strings.Fields(s), " ")))
	return hex.EncodeToString(sum[:12])
}

// findComment looks for the comment an ambiguous task.commentitem.add may
// have made: by the webhook's user, same text, posted since about since.
// New-card tasks do not list forum comments; their chat is searched.
func (t *Tracker) findComment(ctx context.Context, c *bitrix.Client, task, chat int64, hash string, since time.Time) (int64, error) {
	me, err := c.CurrentUser(ctx)
	if err != nil {
		return 0, remoteErr("user.current", err)
	}
	after := since.Add(-findSlack)
	recent := func(date string) bool {
		tm, err := time.Parse(time.RFC3339, date)
		return err != nil || !tm.Before(after) // an odd date: do not rule it out
	}
	list, err := c.ListComments(ctx, task, 0)
	if err == nil {
		for i := len(list) - 1; i >= 0; i-- {
			cm := list[i]
			if cm.AuthorID == me.ID && recent(cm.PostDate) && textHash(cm.Message) == hash {
				return cm.ID, nil
			}
		}
		if chat == 0 {
			return 0, nil
		}
	} else if chat == 0 || bitrix.IsRetryable(err) {
		return 0, remoteErr("task.commentitem.getlist", err)
	}
	msgs, err := c.ChatMessages(ctx, chat, 0)
	if err != nil {
		return 0, remoteErr("im.dialog.messages.get", err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; m.AuthorID == me.ID && recent(m.Date) && textHash(m.Text) == hash {
			return m.ID, nil
		}
	}
	return 0, nil
}
