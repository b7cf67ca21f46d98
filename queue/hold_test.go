package queue

import (
	"context"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"

	"supportgate/store"
)

// A held job is not run again by the backoff loop, its follow-up is
// queued with the hold, and ReleaseHeld runs it once more.
func TestHoldUntilReleased(t *testing.T) {
	st, r, _ := setup(t)
	var runs, fixed atomic.Int32
	r.Handle("h", func(ctx context.Context, j *store.Job) error {
		runs.Add(1)
		if fixed.Load() == 0 {
			return Hold("config error", func(tx *bolt.Tx) error {
				return store.AddJobs(tx, "", &store.Job{Kind: "notice"})
			})
		}
		return nil
	}, nil)
	var notices atomic.Int32
	r.Handle("notice", func(ctx context.Context, j *store.Job) error { notices.Add(1); return nil }, nil)
	addJob(t, st, "h")
	held := func() int {
		jobs, _, _ := st.HeldJobs()
		return len(jobs)
	}
	// The barrier: held, the notice sent and its job finished (the
	// handler counts before the runner removes the job).
	eventually(t, func() bool {
		jobs, _ := st.Jobs()
		return held() == 1 && notices.Load() == 1 && len(jobs) == 1
	})
	// The dispatcher has nothing due: the held job is not claimed, however
	// long we look (the due index has no entry for it).
	if next := st.NextDue(); !next.IsZero() {
		t.Errorf("a held job is due at %v", next)
	}
	jobs, _ := st.Jobs()
	if len(jobs) != 1 || jobs[0].State != store.Held || jobs[0].LastError != "config error" {
		t.Fatalf("jobs: %+v", jobs)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("held job ran %d times", n)
	}
	fixed.Store(1)
	if n, err := r.ReleaseHeld(); n != 1 || err != nil {
		t.Fatalf("ReleaseHeld = %d, %v", n, err)
	}
	eventually(t, func() bool { jobs, _ := st.Jobs(); return len(jobs) == 0 })
	if n := runs.Load(); n != 2 {
		t.Errorf("ran %d times in all, want 2", n)
	}
	if n := notices.Load(); n != 1 {
		t.Errorf("%d notices", n)
	}
}
