package tracker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"supportgate/bitrix"
	"supportgate/mailparse"
	"supportgate/rules"

	bolt "go.etcd.io/bbolt"
)

// What a follow-up does to its task (issue 11): each is logged and kept
// in the comment job's progress.
const (
	PolicyComment       = "comment"                // an open task: a comment
	PolicyRenewed       = "comment-renewed"        // closed within reopen_within: a comment, the task renewed
	PolicyThanks        = "comment-thanks"         // closed, the reply only thanks: a comment, nothing renewed
	PolicyAfterClosed   = "new-task-after-closed"  // closed longer ago: a new task linked to the old one
	PolicyAfterDeleted  = "new-task-after-deleted" // the task is gone: a new task, the thread moved
	maxThanksExtraWords = 3
)

// Ack queues the acknowledgement of message msgID of thread in tx (the
// pipeline's auto-reply); the tracker calls it when a follow-up starts a
// new task after a closed one, in the transaction that moves the thread,
// so the reply names the new number.
type Ack func(tx *bolt.Tx, threadID, msgID string, pm *mailparse.Message) error

// SetAck sets the acknowledgement hook (nil: none).
func (t *Tracker) SetAck(a Ack) {
	if t != nil {
		t.ack = a
	}
}

// decidePolicy reads the task's status (tasks.task.get, batched with the
// other reads) and picks what this follow-up does with it.
func (t *Tracker) decidePolicy(ctx context.Context, c *bitrix.Client, cfg *rules.Config, m *inMail, d *commentData) error {
	task, err := c.GetTask(ctx, d.Task)
	if err != nil {
		if bitrix.IsRetryable(err) {
			return remoteErr("tasks.task.get", err)
		}
		// Cannot read the task (rights): comment as before.
		t.log.Warn("task status unknown; commenting", "task", d.Task, "err", err)
		d.Policy = PolicyComment
		return nil
	}
	switch {
	case task == nil:
		d.Policy, d.NewTask, d.OldTask = PolicyAfterDeleted, &creation{}, d.Task
	case !task.Closed():
		d.Policy = PolicyComment
	case isThanks(m, cfg.Bitrix.ThanksWords):
		d.Policy = PolicyThanks
	case withinWindow(task, cfg.Bitrix.ReopenWithin.D(), time.Now()):
		d.Policy, d.Status = PolicyRenewed, task.Status
	default:
		d.Policy, d.NewTask, d.OldTask, d.Closed = PolicyAfterClosed, &creation{Exclude: d.Task}, d.Task, true
	}
	if task != nil {
		d.Chat = task.ChatID
	}
	t.log.Info("follow-up", "reason", d.Policy, "task", d.Task, "status", statusOf(task))
	return nil
}

func statusOf(t *bitrix.Task) int {
	if t == nil {
		return 0
	}
	return t.Status
}

// withinWindow: closed less than window ago. A closed task without a
// date (a deferred one on some portals) counts as recent: renewing is the
// smaller surprise.
func withinWindow(t *bitrix.Task, window time.Duration, now time.Time) bool {
	if window <= 0 {
		return false
	}
	at := t.ClosedAt()
	return at.IsZero() || now.Sub(at) < window
}

// isThanks: no files, and the new text is thanks with at most a few other
// words (a name, "большое", "вам") — "Спасибо, но не работает" is not.
func isThanks(m *inMail, words []string) bool {
	return IsThanks(m.msg, len(m.attachmentNames()) > 0, words)
}

// IsThanks says whether a follow-up only thanks (comment-thanks): no
// files, and its new text is one of words with at most a few others.
func IsThanks(pm *mailparse.Message, hasFiles bool, words []string) bool {
	if hasFiles || len(words) == 0 {
		return false
	}
	text := strings.ToLower(mailparse.TrimQuoted(pm.Text))
	if strings.TrimSpace(text) == "" && pm.HTML != "" {
		text = strings.ToLower(mailparse.TrimQuoted(mailparse.HTMLToText(pm.HTML)))
	}
	if i := strings.Index(text, "\n-- "); i >= 0 { // the signature
		text = text[:i]
	}
	if len([]rune(text)) > 200 {
		return false
	}
	found := false
	for _, w := range words {
		w = strings.ToLower(strings.TrimSpace(w))
		if w != "" && strings.Contains(text, w) {
			found = true
			text = strings.ReplaceAll(text, w, " ")
		}
	}
	if !found {
		return false
	}
	filler := map[string]bool{"большое": true, "огромное": true, "вам": true, "тебе": true, "за": true, "помощь": true,
		"всё": true, "все": true, "so": true, "much": true, "very": true, "for": true, "your": true, "help": true,
		"the": true, "and": true, "и": true, "с": true, "уважением": true, "regards": true, "best": true, "!": true}
	extra := 0
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if !filler[f] {
			extra++
		}
	}
	return extra <= maxThanksExtraWords
}

// renew brings the task back after the comment is in: asked again first,
// so a retry (or a kill -9 after renew) never renews twice.
func (t *Tracker) renew(ctx context.Context, c *bitrix.Client, d *commentData, save func() error) error {
	if d.Policy != PolicyRenewed || d.Renewed {
		return nil
	}
	task, err := c.GetTask(ctx, d.Task)
	switch {
	case err != nil && bitrix.IsRetryable(err):
		return remoteErr("tasks.task.get", err)
	case err == nil && task != nil && task.Closed():
		if err := c.RenewTask(ctx, d.Task, task.Status); err != nil {
			if bitrix.IsRetryable(err) {
				return remoteErr("tasks.task.renew", err)
			}
			t.log.Warn("task not renewed; the comment is in", "task", d.Task, "err", err)
		} else {
			t.log.Info("task renewed", "task", d.Task, "reason", d.Policy)
		}
	}
	d.Renewed = true
	return save()
}

// closedNote is the first line of the task made after a closed one; the
// link line stands in for PARENT_ID when the portal refused it.
func closedNote(c *bitrix.Client, d *commentData) string {
	note := fmt.Sprintf("Задача #%d по этой переписке закрыта; клиент написал снова, переписка продолжается здесь.", d.OldTask)
	if d.NoParent {
		note += fmt.Sprintf("\nПредыдущая задача: %s/company/personal/user/0/tasks/task/view/%d/", c.Origin(), d.OldTask)
	}
	return note
}

// isParentRefused: tasks.task.add said no to the task as sent; with a
// PARENT_ID that is the likely reason (the old task out of reach).
func isParentRefused(err error) bool {
	var e *bitrix.Error
	// Inside a batch the sub-call's HTTP status is the batch's 200, so
	// any definite refusal counts.
	return errors.As(err, &e) && !errors.Is(err, bitrix.ErrAmbiguous) && !bitrix.IsRetryable(err) && !bitrix.IsAuth(err)
}
