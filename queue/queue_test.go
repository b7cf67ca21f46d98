package queue

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/store"
)

func TestBackoff(t *testing.T) {
	p := Policy{Initial: time.Second, Max: 10 * time.Second}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, w := range want {
		got := p.Backoff(i + 1)
		lo, hi := time.Duration(float64(w*time.Second)*0.9), time.Duration(float64(w*time.Second)*1.1)
		if got < lo || got > hi {
			t.Errorf("Backoff(%d) = %v, want %v ±10%%", i+1, got, w*time.Second)
		}
	}
	// Jitter: not all the same.
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[p.Backoff(3)] = true
	}
	if len(seen) < 5 {
		t.Errorf("no jitter: %v", seen)
	}
}

func setup(t *testing.T) (*store.Store, *Runner, context.CancelFunc) {
	return setupLanes(t, nil)
}

// setupLanes is setup with lanes (or limits) made by conf before Run.
func setupLanes(t *testing.T, conf func(r *Runner)) (*store.Store, *Runner, context.CancelFunc) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), 2, Policy{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond, GiveUp: time.Hour})
	if conf != nil {
		conf(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	return st, r, cancel
}

func addJob(t *testing.T, st *store.Store, kind string) {
	m := &store.Message{ID: store.NewID()}
	os.WriteFile(st.SpoolPath(m.ID), nil, 0o600)
	if err := st.Commit(func(tx *bolt.Tx) error { return store.PutMessage(tx, m, &store.Job{Kind: kind}) }); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met")
}

func TestRetryThenSuccess(t *testing.T) {
	st, r, _ := setup(t)
	var calls atomic.Int32
	r.Handle("flaky", func(ctx context.Context, j *store.Job) error {
		if calls.Add(1) < 3 {
			return errors.New("temporary")
		}
		return nil
	}, nil)
	addJob(t, st, "flaky")
	eventually(t, func() bool { jobs, _ := st.Jobs(); return calls.Load() == 3 && len(jobs) == 0 })
}

func TestPermanentCallsFailHookOnce(t *testing.T) {
	st, r, _ := setup(t)
	var fails, followUps atomic.Int32
	r.Handle("doomed", func(ctx context.Context, j *store.Job) error {
		return Permanent(errors.New("550 no"))
	}, func(ctx context.Context, j *store.Job, err error) func(tx *bolt.Tx) error {
		fails.Add(1)
		return func(tx *bolt.Tx) error { followUps.Add(1); return nil }
	})
	addJob(t, st, "doomed")
	eventually(t, func() bool { jobs, _ := st.Jobs(); return len(jobs) == 0 })
	time.Sleep(50 * time.Millisecond)
	if fails.Load() != 1 || followUps.Load() != 1 {
		t.Errorf("fail hook %d, follow-ups %d; want 1, 1", fails.Load(), followUps.Load())
	}
}

func TestGiveUp(t *testing.T) {
	st, r, _ := setup(t)
	r.SetPolicy(Policy{Initial: 10 * time.Millisecond, Max: 10 * time.Millisecond, GiveUp: 100 * time.Millisecond})
	var failed atomic.Bool
	r.Handle("never", func(ctx context.Context, j *store.Job) error { return errors.New("down") },
		func(ctx context.Context, j *store.Job, err error) func(tx *bolt.Tx) error {
			failed.Store(true)
			return nil
		})
	addJob(t, st, "never")
	eventually(t, failed.Load)
}

func TestLaterDoesNotCountAttempt(t *testing.T) {
	st, r, _ := setup(t)
	var calls atomic.Int32
	var attempts atomic.Int32
	r.Handle("waits", func(ctx context.Context, j *store.Job) error {
		attempts.Store(int32(j.Attempts))
		if calls.Add(1) < 4 {
			return Later(5*time.Millisecond, "waiting for the task")
		}
		return nil
	}, nil)
	addJob(t, st, "waits")
	eventually(t, func() bool { return calls.Load() == 4 })
	if attempts.Load() != 1 {
		t.Errorf("attempts after three Laters = %d, want 1", attempts.Load())
	}
}

func TestPanicIsAnError(t *testing.T) {
	st, r, _ := setup(t)
	var calls atomic.Int32
	r.Handle("panics", func(ctx context.Context, j *store.Job) error {
		if calls.Add(1) == 1 {
			panic("bad message")
		}
		return nil
	}, nil)
	addJob(t, st, "panics")
	eventually(t, func() bool { jobs, _ := st.Jobs(); return len(jobs) == 0 })
}

func TestThenQueuesFollowUpsAtomically(t *testing.T) {
	st, r, _ := setup(t)
	var second atomic.Int32
	r.Handle("second", func(ctx context.Context, j *store.Job) error { second.Add(1); return nil }, nil)
	r.Handle("first", func(ctx context.Context, j *store.Job) error {
		return Then(func(tx *bolt.Tx) error { return store.AddJobs(tx, j.MsgID, &store.Job{Kind: "second"}) })
	}, nil)
	addJob(t, st, "first")
	eventually(t, func() bool { jobs, _ := st.Jobs(); return second.Load() == 1 && len(jobs) == 0 })
}
