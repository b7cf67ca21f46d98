package store

import (
	"encoding/binary"
	"encoding/json"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// LaneClaim describes which jobs one lane of the queue may take (see
// ClaimLane). Rank orders the kinds of the lane (0 first; < 0: not this
// lane's kind); Take is asked, in rank-then-due order, whether the lane
// can run one more job of a kind now (a free worker, the kind's cap), and
// counts it when it says yes.
type LaneClaim struct {
	Rank func(kind string) int
	Take func(kind string) bool
}

// ClaimLane claims the due jobs of one lane that it can run now, as Claim
// does (running, attempt counted, lease set), and reports when the lane's
// next job not yet due is due (zero: none). A lane never claims a job it
// would have to hold while it waits for a worker, so lanes never block
// each other; and a higher-ranked kind (a specialist's comment to mail)
// is claimed ahead of a backlog of lower-ranked ones (new tasks).
//
// The due index keeps the job's kind as its value, so the scan reads no
// job record it does not claim. The look is a read transaction; the
// write happens only when there is something to claim.
//
// waiting is how many due jobs of the lane were left for lack of a worker
// (a backlog: the auto-reply then does not wait for a task).
func (s *Store) ClaimLane(now time.Time, lc LaneClaim, lease func(attempts int) time.Duration) (claimed []*Job, next time.Time, waiting int, err error) {
	type cand struct {
		key  []byte
		id   uint64
		kind string
		rank int
	}
	var cands []cand
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDue).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			id := binary.BigEndian.Uint64(k[8:])
			kind := string(v)
			if kind == "" { // written before kinds were kept in the index
				j, err := GetJob(tx, id)
				if err != nil {
					return err
				}
				if j == nil {
					continue
				}
				kind = j.Kind
			}
			r := lc.Rank(kind)
			if r < 0 {
				continue
			}
			at := int64(binary.BigEndian.Uint64(k))
			if at > now.UnixNano() {
				next = time.Unix(0, at)
				break
			}
			cands = append(cands, cand{append([]byte(nil), k...), id, kind, r})
		}
		return nil
	})
	if err != nil || len(cands) == 0 {
		return nil, next, 0, err
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].rank < cands[j].rank })
	var pick []cand
	for _, c := range cands {
		if lc.Take(c.kind) {
			pick = append(pick, c)
		}
	}
	waiting = len(cands) - len(pick)
	if len(pick) == 0 {
		return nil, next, waiting, nil
	}
	var out []*Job
	err = s.Update(func(tx *bolt.Tx) error {
		out = out[:0]
		jb, db := tx.Bucket(bucketJobs), tx.Bucket(bucketDue)
		for _, c := range pick {
			if db.Get(c.key) == nil {
				continue // finished or moved since the look
			}
			j, err := GetJob(tx, c.id)
			if err != nil {
				return err
			}
			if err := db.Delete(c.key); err != nil {
				return err
			}
			if j == nil || j.State != Queued {
				continue
			}
			j.State = Running
			j.Attempts++
			j.NextRun = now.Add(lease(j.Attempts))
			if err := putJSON(jb, jobKey(j.ID), j); err != nil {
				return err
			}
			if err := db.Put(dueKey(j.NextRun, j.ID), []byte(j.Kind)); err != nil {
				return err
			}
			out = append(out, j)
		}
		return nil
	})
	return out, next, waiting, err
}

// KindStat is the backlog of one job kind.
type KindStat struct {
	Queued, Running int
	// Oldest is when the oldest queued job of the kind was created.
	Oldest time.Time
}

// KindStats reads the queue by kind (per-lane metrics, the backlog
// warning). It reads every job record; fine at a scrape every few
// seconds.
func (s *Store) KindStats() (map[string]KindStat, error) {
	out := map[string]KindStat{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJobs).ForEach(func(k, v []byte) error {
			var j struct {
				Kind    string    `json:"kind"`
				State   string    `json:"state"`
				Created time.Time `json:"created"`
			}
			if err := json.Unmarshal(v, &j); err != nil {
				return err
			}
			ks := out[j.Kind]
			if j.State == Running {
				ks.Running++
			} else {
				ks.Queued++
				if ks.Oldest.IsZero() || j.Created.Before(ks.Oldest) {
					ks.Oldest = j.Created
				}
			}
			out[j.Kind] = ks
			return nil
		})
	})
	return out, err
}

// Wake makes the queued job id due now (a job waiting for another whose
// wait is over). A running, finished or already due job is left alone.
func (s *Store) Wake(id uint64) error {
	return s.Update(func(tx *bolt.Tx) error {
		j, err := GetJob(tx, id)
		if err != nil || j == nil || j.State != Queued {
			return err
		}
		now := time.Now()
		if !j.NextRun.After(now) {
			return nil
		}
		db := tx.Bucket(bucketDue)
		if err := db.Delete(dueKey(j.NextRun, id)); err != nil {
			return err
		}
		j.NextRun = now
		if err := putJSON(tx.Bucket(bucketJobs), jobKey(id), j); err != nil {
			return err
		}
		return db.Put(dueKey(now, id), []byte(j.Kind))
	})
}
