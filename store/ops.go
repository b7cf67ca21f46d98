package store

import (
	"encoding/json"
	"errors"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The operator's actions on the queue (the console's Retry now and Drop).

// ErrJobRunning refuses an action on a job that a worker holds right now.
var ErrJobRunning = errors.New("the job is running; try again when this attempt ends")

// ErrNoJob: the job finished (or was dropped) meanwhile.
var ErrNoJob = errors.New("no such job (finished meanwhile?)")

// RetryNow makes a queued or held job due now. A held job's give-up clock
// restarts (its wait was ours, as in ReleaseHeld).
func (s *Store) RetryNow(id uint64) (*Job, error) {
	var out *Job
	err := s.Update(func(tx *bolt.Tx) error {
		j, err := GetJob(tx, id)
		if err != nil {
			return err
		}
		if j == nil {
			return ErrNoJob
		}
		if j.State == Running {
			return ErrJobRunning
		}
		db := tx.Bucket(bucketDue)
		if err := db.Delete(dueKey(j.NextRun, j.ID)); err != nil {
			return err
		}
		now := time.Now()
		if j.State == Held {
			j.Created, j.Attempts = now, 0
		}
		j.State, j.NextRun = Queued, now
		if err := putJSON(tx.Bucket(bucketJobs), jobKey(j.ID), j); err != nil {
			return err
		}
		out = j
		return db.Put(dueKey(now, j.ID), nil)
	})
	return out, err
}

// DropJob removes a queued or held job for good (the operator gave up on
// it), recording who did it; the message goes with its last job.
func (s *Store) DropJob(id uint64, by string) (*Job, error) {
	var j *Job
	if err := s.View(func(tx *bolt.Tx) (err error) { j, err = GetJob(tx, id); return }); err != nil {
		return nil, err
	}
	if j == nil {
		return nil, ErrNoJob
	}
	if j.State == Running {
		return nil, ErrJobRunning
	}
	err := s.finish(j, func(tx *bolt.Tx) error {
		cur, err := GetJob(tx, id)
		if err != nil {
			return err
		}
		if cur == nil {
			return ErrNoJob
		}
		if cur.State == Running { // claimed meanwhile
			return ErrJobRunning
		}
		return nil
	}, Outcome{State: Dropped, By: by, Error: j.LastError})
	return j, err
}

// KindStats is the queue of one kind (or lane) as the console shows it.
type KindStats struct {
	Kind     string
	Depth    int // queued (due or waiting for a retry)
	Running  int
	Held     int
	Retrying int // queued after a failed attempt
	Oldest   time.Time
}

// QueueStats reads the queue per kind, and the jobs an operator should
// look at: held ones and those that failed at least minAttempts times
// (newest first, at most limit).
func (s *Store) QueueStats(minAttempts, limit int) ([]KindStats, []*Job, error) {
	by := map[string]*KindStats{}
	var trouble []*Job
	err := s.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJobs).ForEach(func(k, v []byte) error {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return nil
			}
			ks := by[j.Kind]
			if ks == nil {
				ks = &KindStats{Kind: j.Kind}
				by[j.Kind] = ks
			}
			switch j.State {
			case Running:
				ks.Running++
			case Held:
				ks.Held++
			default:
				ks.Depth++
				if j.LastError != "" && j.Attempts > 0 {
					ks.Retrying++
				}
			}
			if ks.Oldest.IsZero() || j.Created.Before(ks.Oldest) {
				ks.Oldest = j.Created
			}
			if j.State == Held || (j.LastError != "" && j.Attempts >= minAttempts) {
				trouble = append(trouble, &j)
			}
			return nil
		})
	})
	var out []KindStats
	for _, ks := range by {
		out = append(out, *ks)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Kind < out[k].Kind })
	sort.Slice(trouble, func(i, k int) bool { return trouble[i].ID > trouble[k].ID })
	if len(trouble) > limit {
		trouble = trouble[:limit]
	}
	return out, trouble, err
}

// HistoryOf finds the record a job's message belongs to (the auto-reply's
// send job belongs to the message it answers): "" when none.
func (s *Store) HistoryOf(msgID string) string {
	id := ""
	s.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketHistory).Get([]byte(msgID)) != nil {
			id = msgID
		} else if v := tx.Bucket(bucketHistOut).Get([]byte(msgID)); v != nil {
			id = string(v)
		}
		return nil
	})
	return id
}
