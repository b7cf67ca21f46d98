package tracker

import (
	"encoding/json"
	"fmt"

	"supportgate/store"

	bolt "go.etcd.io/bbolt"
)

// bucket is the tracker's own state: thread id → cursor.
var bucket = []byte("tracker")

// cursor is how far the reconciler has looked in a thread's task. It is
// kept here rather than only in store.Thread because the thread record is
// also rewritten by the pipeline; Thread.LastComment mirrors Comment.
//
// Init false means "never looked": the first reconcile then takes the
// task's newest ids without mailing anything (a thread from before the
// tracker, or whose task was set by someone else, must not get its whole
// history mailed). A task the tracker creates starts at Init true with
// zero ids: everything that appears in it later is new.
type cursor struct {
	Task    int64 `json:"task"`    // the task the ids belong to
	Init    bool  `json:"init"`    //
	Comment int64 `json:"comment"` // newest old-card comment id looked at
	Chat    int64 `json:"chat"`    // newest new-card chat message id looked at
}

func getCursor(tx *bolt.Tx, threadID string) (cursor, error) {
	var c cursor
	b := tx.Bucket(bucket)
	if b == nil {
		return c, nil
	}
	v := b.Get([]byte(threadID))
	if v == nil {
		return c, nil
	}
	return c, json.Unmarshal(v, &c)
}

func putCursor(tx *bolt.Tx, threadID string, c cursor) error {
	b, err := tx.CreateBucketIfNotExists(bucket)
	if err != nil {
		return err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return b.Put([]byte(threadID), data)
}

// threadTask is the thread's task id. The tracker's own record wins when
// the thread record lost it (a concurrent rewrite of the thread from a
// stale copy); the thread is repaired by the caller's next PutThread.
func threadTask(tx *bolt.Tx, t *store.Thread) (int64, error) {
	if t.TaskID != 0 {
		return t.TaskID, nil
	}
	c, err := getCursor(tx, t.ID)
	return c.Task, err
}

// setTask moves thread id to task (and chat), starting the reconciler's
// cursor at zero: every comment in a task we just made or moved to is
// new. It re-reads the thread inside tx so nothing else is lost.
func setTask(tx *bolt.Tx, threadID string, task, chat int64) error {
	th, err := store.GetThread(tx, threadID)
	if err != nil {
		return err
	}
	if th == nil {
		return fmt.Errorf("thread %s vanished", threadID)
	}
	cur, err := getCursor(tx, threadID)
	if err != nil {
		return err
	}
	moved := cur.Task != task
	if moved {
		cur = cursor{Task: task, Init: true}
		th.LastComment = 0
	}
	th.TaskID = task
	if chat != 0 {
		th.ChatID = chat
	} else if moved {
		th.ChatID = 0
	}
	if err := putCursor(tx, threadID, cur); err != nil {
		return err
	}
	return store.PutThread(tx, th)
}

// Dedup keys (see the package doc).
func handledKey(task int64, kind byte, id int64) string {
	return fmt.Sprintf("bx:n:%d:%c%d", task, kind, id)
}

func queuedKey(task int64, kind byte, id int64) string {
	return fmt.Sprintf("bx:q:%d:%c%d", task, kind, id)
}
