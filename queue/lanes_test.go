package queue

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

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

// A lane whose oldest queued job is older than its WarnLag says so in the
// log, naming the lane.
func TestWarnLag(t *testing.T) {
	var buf syncBuffer
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := New(st, slog.New(slog.NewTextHandler(&buf, nil)), 2, Policy{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond, GiveUp: time.Hour})
	r.Lane("portal", 1, "task")
	r.WarnLag("portal", 100*time.Millisecond)
	hold := make(chan struct{})
	r.Handle("task", func(ctx context.Context, j *store.Job) error { <-hold; return nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { close(hold); cancel(); <-done; st.Close() }()
	addJob(t, st, "task")
	addJob(t, st, "task") // queued behind the held one
	eventually(t, func() bool { return strings.Contains(buf.String(), "queue lane is behind") })
	if !strings.Contains(buf.String(), "lane=portal") {
		t.Errorf("warning does not name the lane: %s", buf.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
