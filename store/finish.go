package store

import (
	"encoding/json"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Finish removes a done job and, when it was the last of its message, the
// message record and its spool file. more runs in the same transaction, so
// a job can hand over to the next ones atomically (a process job queueing
// the auto-reply and the task).
func (s *Store) Finish(j *Job, more func(tx *bolt.Tx) error) error {
	return s.finish(j, more, Outcome{State: Done})
}

// finish is Finish recording outcome o in the message's history.
func (s *Store) finish(j *Job, more func(tx *bolt.Tx) error, o Outcome) error {
	var removeFile string
	err := s.Update(func(tx *bolt.Tx) error {
		if more != nil {
			if err := more(tx); err != nil {
				return err
			}
		}
		cur, err := GetJob(tx, j.ID)
		if err != nil || cur == nil {
			return err
		}
		if err := tx.Bucket(bucketJobs).Delete(jobKey(j.ID)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketDue).Delete(dueKey(cur.NextRun, j.ID)); err != nil {
			return err
		}
		if j.MsgID == "" {
			return nil
		}
		m, err := GetMessage(tx, j.MsgID)
		if err != nil || m == nil {
			return err
		}
		o.At, o.Attempts, o.Created = time.Now(), cur.Attempts, cur.Created
		if err := historyFinish(tx, cur, m, o); err != nil {
			return err
		}
		m.Pending--
		if m.Pending > 0 {
			return putJSON(tx.Bucket(bucketMsgs), []byte(m.ID), m)
		}
		if m.Inline {
			if err := tx.Bucket(bucketBodies).Delete([]byte(m.ID)); err != nil {
				return err
			}
		} else {
			removeFile = s.SpoolPath(m.ID)
		}
		return tx.Bucket(bucketMsgs).Delete([]byte(m.ID))
	})
	if err == nil && removeFile != "" {
		os.Remove(removeFile)
	}
	return err
}

// Reschedule puts a running job back in the queue, due at next, keeping
// errText for operators. When attempt is false the try does not count (a
// job that only waited for another).
func (s *Store) Reschedule(j *Job, next time.Time, errText string, attempt bool) error {
	return s.Update(func(tx *bolt.Tx) error {
		cur, err := GetJob(tx, j.ID)
		if err != nil || cur == nil {
			return err
		}
		if err := tx.Bucket(bucketDue).Delete(dueKey(cur.NextRun, j.ID)); err != nil {
			return err
		}
		cur.State, cur.NextRun, cur.LastError = Queued, next, errText
		if !attempt && cur.Attempts > 0 {
			cur.Attempts--
		}
		cur.Data = j.Data
		if err := putJSON(tx.Bucket(bucketJobs), jobKey(j.ID), cur); err != nil {
			return err
		}
		return tx.Bucket(bucketDue).Put(dueKey(next, j.ID), []byte(cur.Kind))
	})
}

// SaveProgress stores a running job's Data: the results of the steps done
// so far (a task id, uploaded file ids), so that a retry after a crash
// resumes instead of repeating them.
func (s *Store) SaveProgress(j *Job) error {
	return s.Update(func(tx *bolt.Tx) error {
		cur, err := GetJob(tx, j.ID)
		if err != nil || cur == nil {
			return err
		}
		cur.Data = j.Data
		return putJSON(tx.Bucket(bucketJobs), jobKey(j.ID), cur)
	})
}

// Recover makes jobs left running by a crash due now. Their attempt was
// already counted, so give-up still happens in time. Returns how many.
func (s *Store) Recover() (int, error) {
	n := 0
	now := time.Now()
	err := s.Update(func(tx *bolt.Tx) error {
		jb, db := tx.Bucket(bucketJobs), tx.Bucket(bucketDue)
		running, err := jobsIn(jb, Running)
		if err != nil {
			return err
		}
		for _, j := range running {
			if err := db.Delete(dueKey(j.NextRun, j.ID)); err != nil {
				return err
			}
			j.State, j.NextRun = Queued, now
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

// SweepSpool deletes spool files no message record refers to: bodies
// written by sessions that died before their commit. Call it before the
// listener starts, when no session can be writing.
func (s *Store) SweepSpool() (int, error) {
	entries, err := os.ReadDir(s.SpoolDir())
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.db.View(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMsgs)
		for _, e := range entries {
			if mb.Get([]byte(e.Name())) == nil {
				if os.Remove(s.SpoolPath(e.Name())) == nil {
					n++
				}
			}
		}
		return nil
	})
	return n, err
}

// Stats summarises the queue for metrics and health.
type Stats struct {
	Jobs          map[[2]string]int // (kind, state) → count
	Messages      int
	SpoolBytes    int64
	OldestCreated time.Time
}

// Stats reads the whole queue; fine at a scrape every few seconds for the
// queue sizes a support gateway sees.
func (s *Store) Stats() (Stats, error) {
	st := Stats{Jobs: map[[2]string]int{}}
	err := s.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketJobs).ForEach(func(k, v []byte) error {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return err
			}
			st.Jobs[[2]string{j.Kind, j.State}]++
			if st.OldestCreated.IsZero() || j.Created.Before(st.OldestCreated) {
				st.OldestCreated = j.Created
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketMsgs).ForEach(func(k, v []byte) error {
			var m Message
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			st.Messages++
			st.SpoolBytes += m.Size
			return nil
		})
	})
	return st, err
}

// Jobs lists every job (tests and the operator's view).
func (s *Store) Jobs() ([]*Job, error) {
	var out []*Job
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJobs).ForEach(func(k, v []byte) error {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return err
			}
			out = append(out, &j)
			return nil
		})
	})
	return out, err
}

// jobsIn reads every job in state from the jobs bucket.
func jobsIn(jb *bolt.Bucket, state string) ([]*Job, error) {
	var out []*Job
	err := jb.ForEach(func(k, v []byte) error {
		var j Job
		if err := json.Unmarshal(v, &j); err != nil {
			return err
		}
		if j.State == state {
			out = append(out, &j)
		}
		return nil
	})
	return out, err
}
