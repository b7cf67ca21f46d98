package store

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func laneOf(kinds ...string) func(string) int {
	return func(k string) int {
		for i, x := range kinds {
			if x == k {
				return i
			}
		}
		return -1
	}
}

// ClaimLane takes only its lane's kinds, the higher-ranked first however
// late they came, no more than Take allows, and counts the rest as
// waiting. Due entries written before kinds were kept (nil values) are
// still found.
func TestClaimLane(t *testing.T) {
	s := open(t)
	putMsg(t, s, &Job{Kind: "task"}, &Job{Kind: "task"}, &Job{Kind: "forward"}, &Job{Kind: "task"})
	putMsg(t, s, &Job{Kind: "notify"})
	// An old-format due entry: no kind in the value.
	if err := s.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDue).Cursor()
		k, _ := c.First()
		return tx.Bucket(bucketDue).Put(append([]byte(nil), k...), nil)
	}); err != nil {
		t.Fatal(err)
	}
	free := 2
	lc := LaneClaim{Rank: laneOf("notify", "task"), Take: func(string) bool { free--; return free >= 0 }}
	jobs, _, waiting, err := s.ClaimLane(time.Now(), lc, func(int) time.Duration { return time.Minute })
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].Kind != "notify" || jobs[1].Kind != "task" {
		t.Fatalf("claimed %v, want notify then a task", jobs)
	}
	if waiting != 2 {
		t.Errorf("waiting %d, want the 2 other tasks", waiting)
	}
	// The forward lane sees only its job.
	jobs, _, _, _ = s.ClaimLane(time.Now(), LaneClaim{Rank: laneOf("forward"), Take: func(string) bool { return true }},
		func(int) time.Duration { return time.Minute })
	if len(jobs) != 1 || jobs[0].Kind != "forward" {
		t.Errorf("forward lane claimed %v", jobs)
	}
	// Nothing due for a lane: next is when its next job is due.
	_, next, _, _ := s.ClaimLane(time.Now(), LaneClaim{Rank: laneOf("notify"), Take: func(string) bool { return true }},
		func(int) time.Duration { return time.Minute })
	if next.IsZero() || time.Until(next) < 30*time.Second {
		t.Errorf("next = %v, want the running notify's lease", next)
	}
}
