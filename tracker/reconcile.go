package tracker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"supportgate/bitrix"
	"supportgate/rules"
	"supportgate/store"

	bolt "go.etcd.io/bbolt"
)

// RunReconciler polls until ctx ends: once at start (events sent while
// we were down are lost for good), then every bitrix.poll_interval.
func (t *Tracker) RunReconciler(ctx context.Context) {
	wait := time.Duration(0)
	for {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if t.Enabled() {
			start := time.Now()
			n, err := t.Reconcile(ctx)
			if err != nil && ctx.Err() == nil {
				t.log.Error("reconcile", "err", err, "queued", n)
			} else if n > 0 {
				t.log.Info("reconcile found comments whose event was lost", "queued", n, "took", time.Since(start))
			}
		}
		wait = t.cfg.Get().Bitrix.PollInterval.D()
		if wait <= 0 {
			wait = 5 * time.Minute
		}
	}
}

// Reconcile looks once at every thread active within bitrix.active_days
// and queues a notify job for each specialist comment that was neither
// mailed nor queued (its event was lost). It returns how many it queued.
// An error for one thread is logged and the others still run; auth
// errors stop the pass.
func (t *Tracker) Reconcile(ctx context.Context) (int, error) {
	t.reconcileMu.Lock()
	defer t.reconcileMu.Unlock()
	// Its calls ride in the jobs' batches, after everything a person waits for.
	ctx = bitrix.WithPriority(ctx, bitrix.PriorityBackground)
	c, err := t.bx()
	if err != nil {
		return 0, err
	}
	cfg := t.cfg.Get()
	days := cfg.Bitrix.ActiveDays
	if days <= 0 {
		days = 14
	}
	threads, err := t.st.ActiveThreads(time.Now().AddDate(0, 0, -days))
	if err != nil {
		return 0, err
	}
	me, err := c.CurrentUser(ctx)
	if err != nil {
		return 0, remoteErr("user.current", err)
	}
	total := 0
	for _, th := range threads {
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
		// Jobs first: a sweep of many threads must not take the portal's
		// request budget from a new customer's task (and its number in
		// the auto-reply).
		t.giveWay(ctx, time.Minute)
		n, err := t.reconcileThread(ctx, c, cfg, me.ID, th)
		total += n
		if err != nil {
			if bitrix.IsAuth(err) {
				return total, err
			}
			t.log.Warn("reconcile thread", "thread", th.ID, "task", th.TaskID, "err", err)
		}
	}
	return total, nil
}

func (t *Tracker) reconcileThread(ctx context.Context, c *bitrix.Client, cfg *rules.Config, me int64, th *store.Thread) (int, error) {
	var cur cursor
	if err := t.st.View(func(tx *bolt.Tx) (err error) {
		if cur, err = getCursor(tx, th.ID); err != nil {
			return err
		}
		th.TaskID, err = threadTask(tx, th)
		return err
	}); err != nil {
		return 0, err
	}
	if th.TaskID == 0 {
		return 0, nil
	}
	if cur.Task != th.TaskID {
		// A task we did not set (an older gateway, a manual move): start
		// from its present state.
		cur = cursor{Task: th.TaskID}
	}
	if !cur.Init && th.ChatID == 0 {
		// The chat id may have been missed when the task was recorded
		// (or set by an older gateway): a new-card task must be polled
		// in its chat.
		if task, err := c.GetTask(ctx, th.TaskID); err == nil && task != nil && task.ChatID > 0 {
			th.ChatID = task.ChatID
			if err := t.st.Update(func(tx *bolt.Tx) error {
				fresh, err := store.GetThread(tx, th.ID)
				if err != nil || fresh == nil || fresh.ChatID != 0 {
					return err
				}
				fresh.ChatID = task.ChatID
				return store.PutThread(tx, fresh)
			}); err != nil {
				return 0, err
			}
		}
	}
	newCard := th.ChatID > 0
	if !cur.Init {
		// First look at this task: remember where it stands, mail nothing.
		// Mailing the history would send the customer every comment ever
		// made, the team's internal talk included.
		list, err := c.ListComments(ctx, th.TaskID, max(cur.Comment, th.LastComment))
		if err != nil && (!newCard || bitrix.IsRetryable(err)) {
			return 0, remoteErr("task.commentitem.getlist", err)
		}
		for _, cm := range list {
			cur.Comment = max(cur.Comment, cm.ID)
		}
		if newCard {
			msgs, err := c.ChatMessages(ctx, th.ChatID, 0)
			if err != nil {
				return 0, remoteErr("im.dialog.messages.get", err)
			}
			for _, m := range msgs {
				cur.Chat = max(cur.Chat, m.ID)
			}
		}
		cur.Init = true
		return 0, t.st.Update(func(tx *bolt.Tx) error {
			now, err := getCursor(tx, th.ID)
			if err != nil || now.Task == cur.Task && now.Init {
				return err // the task job got there first; its cursor is right
			}
			return putCursor(tx, th.ID, cur)
		})
	}

	var found []remark
	var kinds []byte
	after := cur.Comment
	if th.TaskID == cur.Task && th.LastComment > after {
		after = th.LastComment
	}
	list, err := c.ListComments(ctx, th.TaskID, after)
	switch {
	case err == nil:
	case bitrix.IsNotFound(err):
		return 0, nil // task gone: the next customer message makes a new one
	case !newCard || bitrix.IsRetryable(err):
		return 0, remoteErr("task.commentitem.getlist", err)
	}
	newComment := after
	for _, cm := range list {
		found = append(found, remark{ID: cm.ID, AuthorID: cm.AuthorID, Text: cm.Message})
		kinds = append(kinds, 'c')
		newComment = max(newComment, cm.ID)
	}
	newChat := cur.Chat
	if newCard {
		msgs, err := c.ChatMessages(ctx, th.ChatID, cur.Chat)
		if err != nil {
			return 0, remoteErr("im.dialog.messages.get", err)
		}
		for _, m := range msgs {
			found = append(found, remark{ID: m.ID, AuthorID: m.AuthorID, Text: m.Text})
			kinds = append(kinds, 'm')
			newChat = max(newChat, m.ID)
		}
	}
	if newComment == cur.Comment && newChat == cur.Chat {
		return 0, nil
	}
	prefix := cfg.Bitrix.InternalPrefix
	queued := 0
	err = t.st.Update(func(tx *bolt.Tx) error {
		queued = 0
		now, err := getCursor(tx, th.ID)
		if err != nil {
			return err
		}
		if now.Task != cur.Task && now.Task != 0 {
			return nil // moved to another task meanwhile; next pass
		}
		for i, rm := range found {
			n := notifyData{Task: th.TaskID}
			if kinds[i] == 'c' {
				n.Comment = rm.ID
			} else {
				n.Message = rm.ID
			}
			if store.WasSeen(tx, n.handled()) || store.WasSeen(tx, n.queued()) {
				continue
			}
			if rm.AuthorID == 0 || rm.AuthorID == me ||
				prefix != "" && strings.HasPrefix(strings.TrimSpace(rm.Text), prefix) {
				if _, err := store.Seen(tx, n.handled()); err != nil {
					return err
				}
				continue
			}
			ok, err := queueNotify(tx, n)
			if err != nil {
				return err
			}
			if ok {
				queued++
			}
		}
		cur.Comment = max(now.Comment, newComment)
		cur.Chat = max(now.Chat, newChat)
		if err := putCursor(tx, th.ID, cur); err != nil {
			return err
		}
		fresh, err := store.GetThread(tx, th.ID)
		if err != nil || fresh == nil || fresh.LastComment >= cur.Comment {
			return err
		}
		fresh.LastComment = cur.Comment
		return store.PutThread(tx, fresh)
	})
	if err != nil {
		return 0, fmt.Errorf("reconcile: %w", err)
	}
	return queued, nil
}
