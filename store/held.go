package store

import (
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Held is the state of a job parked until an admin acts: it has no due
// key, so Claim never takes it and no backoff or give-up applies. Only
// ReleaseHeld (a config reload) or DropHeld (the admin) moves it on. It
// is for failures that are ours (a forward_to the mailbox server
// refuses): retrying cannot help, and bouncing would blame the customer.
const Held = "held"

// Hold parks a running job, keeping its Data and why, and runs more (a
// notice to the admin) in the same transaction.
func (s *Store) Hold(j *Job, why string, more func(tx *bolt.Tx) error) error {
	return s.Update(func(tx *bolt.Tx) error {
		cur, err := GetJob(tx, j.ID)
		if err != nil || cur == nil {
			return err
		}
		if more != nil {
			if err := more(tx); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketDue).Delete(dueKey(cur.NextRun, j.ID)); err != nil {
			return err
		}
		cur.State, cur.LastError, cur.Data = Held, why, j.Data
		return putJSON(tx.Bucket(bucketJobs), jobKey(j.ID), cur)
	})
}

// ReleaseHeld makes every held job due now, with its give-up clock
// restarted (the wait was ours, not the delivery's). Returns how many.
func (s *Store) ReleaseHeld() (int, error) {
	n := 0
	now := time.Now()
	err := s.Update(func(tx *bolt.Tx) error {
		jb, db := tx.Bucket(bucketJobs), tx.Bucket(bucketDue)
		held, err := jobsIn(jb, Held)
		if err != nil {
			return err
		}
		for _, j := range held {
			j.State, j.NextRun, j.Created, j.Attempts = Queued, now, now, 0
			if err := putJSON(jb, jobKey(j.ID), j); err != nil {
				return err
			}
			if err := db.Put(dueKey(now, j.ID), []byte(j.Kind)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// HeldJobs lists the held jobs with their messages (the admin's view).
func (s *Store) HeldJobs() ([]*Job, []*Message, error) {
	var jobs []*Job
	var msgs []*Message
	err := s.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJobs).ForEach(func(k, v []byte) error {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return err
			}
			if j.State != Held {
				return nil
			}
			m, err := GetMessage(tx, j.MsgID)
			if err != nil {
				return err
			}
			jobs, msgs = append(jobs, &j), append(msgs, m)
			return nil
		})
	})
	return jobs, msgs, err
}

// DropHeld removes the held jobs of message msgID (the admin gave up on
// them) and, with its last job, the message. Returns how many.
func (s *Store) DropHeld(msgID string) (int, error) {
	jobs, _, err := s.HeldJobs()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range jobs {
		if j.MsgID != msgID {
			continue
		}
		if err := s.finish(j, nil, Outcome{State: Dropped, By: "supportgate held -drop", Error: j.LastError}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
