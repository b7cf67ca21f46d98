package pipeline

import (
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/mailparse"
	"supportgate/rules"
	"supportgate/store"
	"supportgate/tracker"
)

// ackNewTask queues the acknowledgement of a follow-up that started a new
// task because the thread's task was closed long ago (tracker, issue 11).
// The pipeline could not know it when it processed the message (the
// task's status is the portal's); the tracker calls this in the
// transaction that moves the thread, so the reply names the new number
// and a retry never queues it twice. The auto-reply caps still apply.
func (p *Pipeline) ackNewTask(tx *bolt.Tx, threadID, msgID string, pm *mailparse.Message) error {
	c := p.Cfg.Get()
	if !c.Autoreply.Enabled {
		return nil
	}
	m, err := store.GetMessage(tx, msgID)
	if err != nil || m == nil || m.From == "" {
		return err
	}
	t, err := store.GetThread(tx, threadID)
	if err != nil || t == nil || t.Unverified {
		return err // an unverified thread is answered by its own rules, not here
	}
	reason, err := replyCaps(tx, c, m, time.Now())
	if err != nil {
		return err
	}
	if reason != "" {
		p.Log.Info("no auto-reply", "queue_id", m.ID, "reason", reason, "for", tracker.PolicyAfterClosed)
		return nil
	}
	p.Log.Info("auto-reply for the new task after a closed one", "queue_id", m.ID, "thread", threadID, "reason", tracker.PolicyAfterClosed)
	return store.AddJobs(tx, msgID, autoReplyJob(threadID, m, pm))
}

// explainFollowUp says, for a follow-up, what the task's state will make
// of it: the status is the portal's, read when the comment is written, so
// explain lists the cases (issue 11).
func explainFollowUp(c *rules.Config, pm *mailparse.Message, d rules.Decision, w io.Writer) {
	if d.Task != rules.TaskComment {
		return
	}
	if tracker.IsThanks(pm, len(pm.Attachments) > 0, c.Bitrix.ThanksWords) {
		fmt.Fprintf(w, "follow-up:   only thanks: on an open task %s, on a closed one %s (not renewed)\n",
			tracker.PolicyComment, tracker.PolicyThanks)
		return
	}
	fmt.Fprintf(w, "follow-up:   by the task's status when written: open → %s; closed less than %s ago → %s; "+
		"closed longer → %s (acknowledged again with the new number); deleted → %s\n",
		tracker.PolicyComment, c.Bitrix.ReopenWithin.D(), tracker.PolicyRenewed, tracker.PolicyAfterClosed, tracker.PolicyAfterDeleted)
}

// acker is what a Tasks implementation offers to take ackNewTask.
type acker interface{ SetAck(tracker.Ack) }
