package queue

import (
	"context"
	"sync"
	"testing"

	"supportgate/store"
)

// A lane whose jobs hang (the portal holds every call) takes no worker
// from another lane: the main lane's jobs still finish.
func TestLanesDoNotBlockEachOther(t *testing.T) {
	st, r, _ := setupLanes(t, func(r *Runner) { r.Lane("portal", 2, "task") })
	hold := make(chan struct{})
	defer close(hold)
	r.Handle("task", func(ctx context.Context, j *store.Job) error { <-hold; return nil }, nil)
	var mu sync.Mutex
	forwarded := 0
	r.Handle("forward", func(ctx context.Context, j *store.Job) error { mu.Lock(); forwarded++; mu.Unlock(); return nil }, nil)
	for range 20 {
		addJob(t, st, "task")
	}
	for range 20 {
		addJob(t, st, "forward")
	}
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return forwarded == 20 })
	eventually(t, func() bool { return r.Running("portal") == 2 }) // both held, none more
	if n := r.Waiting("portal"); n == 0 {
		t.Error("portal lane reports no backlog")
	}
}

// Inside a lane an earlier kind goes first: a notify job queued behind
// 100 task jobs runs before the tasks that were waiting.
func TestNotifyOvertakesTaskBacklog(t *testing.T) {
	st, r, _ := setupLanes(t, func(r *Runner) { r.Lane("portal", 2, "notify", "comment", "task") })
	hold := make(chan struct{})
	var mu sync.Mutex
	var order []string
	record := func(kind string) Handler {
		return func(ctx context.Context, j *store.Job) error {
			mu.Lock()
			order = append(order, kind)
			mu.Unlock()
			<-hold
			return nil
		}
	}
	r.Handle("task", record("task"), nil)
	r.Handle("notify", record("notify"), nil)
	for range 100 {
		addJob(t, st, "task")
	}
	// Both workers hold a task job (the portal is stalled).
	eventually(t, func() bool { return r.Running("portal") == 2 })
	addJob(t, st, "notify")
	close(hold)
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 101 })
	pos := -1
	for i, k := range order {
		if k == "notify" {
			pos = i
		}
	}
	if pos < 0 || pos > 3 {
		t.Errorf("notify started at position %d of %d; want right after the two running tasks", pos, len(order))
	}
}

// Limit keeps a kind under its cap without holding workers: the other
// kinds of the lane still run.
func TestLimitDoesNotHoldWorkers(t *testing.T) {
	st, r, _ := setupLanes(t, func(r *Runner) { r.Limit("big", 1) })
	hold := make(chan struct{})
	defer close(hold)
	var mu sync.Mutex
	big, small := 0, 0
	r.Handle("big", func(ctx context.Context, j *store.Job) error { mu.Lock(); big++; mu.Unlock(); <-hold; return nil }, nil)
	r.Handle("small", func(ctx context.Context, j *store.Job) error { mu.Lock(); small++; mu.Unlock(); return nil }, nil)
	for range 5 {
		addJob(t, st, "big")
	}
	for range 10 {
		addJob(t, st, "small")
	}
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return small == 10 })
	eventually(t, func() bool { return r.Running(MainLane) == 1 })
	mu.Lock()
	defer mu.Unlock()
	if big != 1 {
		t.Errorf("%d big jobs started, want 1 (the limit)", big)
	}
}
