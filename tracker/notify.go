package tracker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"

	"supportgate/bitrix"
	"supportgate/compose"
	"supportgate/queue"
	"supportgate/relay"
	"supportgate/store"

	bolt "go.etcd.io/bbolt"
)

// notifyData is the Data of a "notify" job: one specialist comment to
// mail. Comment is an old-card comment id; Message a new-card chat
// message id (then Comment is 0).
type notifyData struct {
	Task    int64 `json:"task"`
	Comment int64 `json:"comment,omitempty"`
	Message int64 `json:"message,omitempty"`
}

func (n notifyData) kindID() (byte, int64) {
	if n.Comment > 0 {
		return 'c', n.Comment
	}
	return 'm', n.Message
}

func (n notifyData) handled() string { k, id := n.kindID(); return handledKey(n.Task, k, id) }
func (n notifyData) queued() string  { k, id := n.kindID(); return queuedKey(n.Task, k, id) }

// NotifyJob is the job that mails comment (old card) or chat message
// (new card) of task to the thread's requester.
func NotifyJob(task, comment, message int64) *store.Job {
	data, _ := json.Marshal(notifyData{Task: task, Comment: comment, Message: message})
	return &store.Job{Kind: KindNotify, Data: data}
}

// queueNotify queues a notify job unless the comment was handled or
// queued already, or its task belongs to no thread of ours (the outgoing
// webhook fires for every task in the portal). It reports whether a job
// was queued.
func queueNotify(tx *bolt.Tx, n notifyData) (bool, error) {
	if store.WasSeen(tx, n.handled()) {
		return false, nil
	}
	th, err := store.ThreadByTask(tx, n.Task)
	if err != nil || th == nil {
		return false, err
	}
	fresh, err := store.Seen(tx, n.queued())
	if err != nil || !fresh {
		return false, err
	}
	j := NotifyJob(n.Task, n.Comment, n.Message)
	return true, store.AddJobs(tx, "", j)
}

// EventHandler is the handler of POST /bitrix/event.
func (t *Tracker) EventHandler() http.Handler { return t }

// ServeHTTP takes Bitrix24's outgoing-webhook call. The token is checked
// (constant time) before anything else happens: a wrong or missing one
// gets 401 and changes nothing. ONTASKCOMMENTADD for a task of ours
// queues a durable notify job; every other event gets 200 and is
// ignored. The answer comes at once: the portal does not retry and
// throttles slow handlers.
func (t *Tracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	ev, err := bitrix.ParseEvent(r)
	if err != nil {
		// The token may be in there, but an unparsable body is refused
		// either way; no side effects.
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	if !bitrix.VerifyToken(ev, t.appToken()) {
		t.badTokens.note(t.log, r.RemoteAddr, ev.Name, badTokenNow)
		http.Error(w, "wrong application token", http.StatusUnauthorized)
		return
	}
	if ev.Name != "ONTASKCOMMENTADD" || ev.TaskID <= 0 || (ev.CommentID <= 0 && ev.MessageID <= 0) {
		t.log.Debug("bitrix24 event ignored", "event", ev.Name, "task", ev.TaskID)
		writeOK(w)
		return
	}
	n := notifyData{Task: ev.TaskID, Comment: ev.CommentID}
	if ev.IsNewCard() {
		n.Message = ev.MessageID
	}
	var queued bool
	err = t.st.Commit(func(tx *bolt.Tx) (err error) {
		queued, err = queueNotify(tx, n)
		return err
	})
	if err != nil {
		// The reconciler will find the comment.
		t.log.Error("bitrix24 event not queued", "task", n.Task, "comment", n.Comment, "message", n.Message, "err", err)
		http.Error(w, "not stored", http.StatusInternalServerError)
		return
	}
	t.log.Info("bitrix24 comment event", "task", n.Task, "comment", n.Comment, "message", n.Message, "queued", queued)
	writeOK(w)
}

func writeOK(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok\n"))
}

// remark is a comment or chat message, whichever card it came from.
type remark struct {
	ID         int64
	AuthorID   int64
	AuthorName string
	Text       string
	Files      []bitrix.AttachedFile
}

// maxMailFiles caps the attachments of one notification.
const maxMailFiles = 10 << 20

var errGone = errors.New("comment not found")

func (t *Tracker) handleNotify(ctx context.Context, j *store.Job) error {
	var n notifyData
	if err := json.Unmarshal(j.Data, &n); err != nil || n.Task <= 0 || (n.Comment <= 0 && n.Message <= 0) {
		return queue.Permanent(fmt.Errorf("notify job: bad data %q", j.Data))
	}
	c, err := t.bx()
	if err != nil {
		return t.notConfigured(j)
	}
	log := t.log.With("task", n.Task, "comment", n.Comment, "message", n.Message)
	var th *store.Thread
	var done bool
	if err := t.st.View(func(tx *bolt.Tx) (err error) {
		done = store.WasSeen(tx, n.handled())
		th, err = store.ThreadByTask(tx, n.Task)
		return err
	}); err != nil {
		return err
	}
	if done {
		log.Debug("comment already handled")
		return nil
	}
	if th == nil {
		log.Info("comment on a task that is no thread of ours; ignored")
		return nil
	}
	rm, err := t.fetchRemark(ctx, c, th, n)
	if errors.Is(err, errGone) {
		log.Info("comment no longer exists; not mailed")
		return nil
	}
	if err != nil {
		return err
	}
	skip := func(why string) error {
		log.Info("comment not mailed", "why", why, "author", rm.AuthorID)
		return queue.Then(func(tx *bolt.Tx) error { _, err := store.Seen(tx, n.handled()); return err })
	}
	me, err := c.CurrentUser(ctx)
	if err != nil {
		return remoteErr("user.current", err)
	}
	cfg := t.cfg.Get()
	switch {
	case rm.AuthorID == 0:
		return skip("system message")
	case rm.AuthorID == me.ID:
		return skip("our own comment")
	case cfg.Bitrix.InternalPrefix != "" && strings.HasPrefix(strings.TrimSpace(rm.Text), cfg.Bitrix.InternalPrefix):
		return skip("internal (bitrix.internal_prefix)")
	case strings.TrimSpace(rm.Text) == "" && len(rm.Files) == 0:
		return skip("empty")
	}

	body := rm.Text
	lang := threadLang(cfg, th)
	var files []compose.File
	total := 0
	for _, f := range rm.Files {
		if f.Size > 0 && total+int(f.Size) > maxMailFiles {
			body += "\n\n[i]" + fmt.Sprintf(word(lang, "file_big"), f.Name) + "[/i]"
			continue
		}
		data, err := c.Download(ctx, f.DownloadURL)
		if err != nil {
			if bitrix.IsRetryable(err) {
				return remoteErr("download "+f.Name, err)
			}
			log.Warn("comment file not attached", "file", f.Name, "err", err)
			body += "\n\n[i]" + fmt.Sprintf(word(lang, "file_failed"), f.Name) + "[/i]"
			continue
		}
		if total+len(data) > maxMailFiles {
			body += "\n\n[i]" + fmt.Sprintf(word(lang, "file_big"), f.Name) + "[/i]"
			continue
		}
		total += len(data)
		files = append(files, compose.File{Name: f.Name, Data: data})
	}

	mbox := th.Mailbox
	if mbox == "" && len(cfg.Mailbox) > 0 {
		mbox = cfg.Mailbox[0].Address
	}
	to, toName := th.AnswerTo()
	if to == "" || mbox == "" {
		return queue.Permanent(fmt.Errorf("thread %s has no requester (or, unverified, no envelope sender) or mailbox", th.ID))
	}
	letter, err := notifyLetter(cfg, mbox)
	if err != nil {
		return err
	}
	msg, msgID, err := compose.Notification(compose.NotifyParams{
		Hostname:    cfg.SMTP.Hostname,
		Specialist:  rm.AuthorName,
		Team:        letter.S.Name,
		Language:    letter.S.Language,
		Templates:   letter.Notify,
		Mailbox:     mbox,
		To:          mail.Address{Name: toName, Address: to},
		Subject:     th.Subject,
		TaskID:      strconv.FormatInt(n.Task, 10),
		Body:        body,
		Files:       files,
		InReplyToID: th.LastID,
		References:  th.References,
	})
	if err != nil {
		return queue.Permanent(fmt.Errorf("compose notification: %w", err))
	}
	return queue.Then(func(tx *bolt.Tx) error {
		fresh, err := store.Seen(tx, n.handled())
		if err != nil || !fresh {
			return err // mailed by a concurrent job meanwhile
		}
		cur, err := store.GetThread(tx, th.ID)
		if err != nil {
			return err
		}
		if cur == nil {
			cur = th
		}
		id, err := relay.QueueOutbound(t.st, tx, msg, mbox, []string{to})
		if err != nil {
			return err
		}
		if err := store.AddID(tx, cur, msgID, store.IDNotification); err != nil {
			return err
		}
		log.Info("specialist comment mailed", "thread", th.ID, "to", to, "unverified", th.Unverified, "out_id", id, "files", len(files))
		return store.PutThread(tx, cur)
	})
}

// fetchRemark reads the comment (old card: task.commentitem.get) or the
// chat message (new card: im.dialog.messages.get on the task's chat).
// errGone: it does not exist (any more).
func (t *Tracker) fetchRemark(ctx context.Context, c *bitrix.Client, th *store.Thread, n notifyData) (*remark, error) {
	if n.Comment > 0 {
		cm, err := c.GetComment(ctx, n.Task, n.Comment)
		if err != nil {
			if bitrix.IsNotFound(err) {
				return nil, errGone
			}
			return nil, remoteErr("task.commentitem.get", err)
		}
		return &remark{ID: cm.ID, AuthorID: cm.AuthorID, AuthorName: cm.AuthorName, Text: cm.Message, Files: cm.Files}, nil
	}
	chat := th.ChatID
	if chat == 0 || th.TaskID != n.Task {
		task, err := c.GetTask(ctx, n.Task)
		if err != nil {
			return nil, remoteErr("tasks.task.get", err)
		}
		if task == nil || task.ChatID == 0 {
			return nil, errGone
		}
		chat = task.ChatID
	}
	msgs, err := c.ChatMessages(ctx, chat, n.Message-1)
	if err != nil {
		if bitrix.IsNotFound(err) {
			return nil, errGone
		}
		return nil, remoteErr("im.dialog.messages.get", err)
	}
	for _, m := range msgs {
		if m.ID == n.Message {
			return &remark{ID: m.ID, AuthorID: m.AuthorID, AuthorName: m.AuthorName, Text: m.Text, Files: m.Files}, nil
		}
	}
	return nil, errGone
}
