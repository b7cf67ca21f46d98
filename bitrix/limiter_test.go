package bitrix

import (
	"context"
	"sync"
	"testing"
	"time"
)

// waitQueued waits until n callers wait for a token.
func waitQueued(t *testing.T, l *limiter, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); l.waiting() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters, want %d", l.waiting(), n)
		}
	}
}

// An urgent caller that arrives behind a queue of new-task uploads gets
// the next token, not the 21st.
func TestLimiterServesUrgentFirst(t *testing.T) {
	l := newLimiter(100, 1)
	if err := l.wait(context.Background()); err != nil { // the one free token
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	run := func(name string, prio int) {
		defer wg.Done()
		if err := l.wait(WithPriority(context.Background(), prio)); err != nil {
			t.Error(err)
		}
		mu.Lock()
		order = append(order, name)
		mu.Unlock()
	}
	for range 20 {
		wg.Add(1)
		go run("new", PriorityNew)
	}
	waitQueued(t, l, 15)
	mu.Lock()
	before := len(order)
	mu.Unlock()
	wg.Add(1)
	go run("urgent", PriorityUrgent)
	wg.Wait()
	at := -1
	for i, n := range order {
		if n == "urgent" {
			at = i
		}
	}
	// It may lose to the grants already under way when it queued (the
	// timer fires every 10 ms), never to the queue behind them.
	if at < 0 || at > before+2 {
		t.Fatalf("urgent served %dth, with %d served before it queued: %v", at+1, before, order)
	}
	if len(order) != 21 {
		t.Fatalf("%d served, want 21", len(order))
	}
}

// A waiter raised while it waits moves ahead; one that gives up leaves
// the queue.
func TestLimiterRaiseAndCancel(t *testing.T) {
	l := newLimiter(4, 1) // a token every 250 ms: the set-up below fits in one
	_ = l.wait(context.Background())
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	serve := func(name string, f func() error) {
		defer wg.Done()
		if err := f(); err != nil {
			t.Error(err)
		}
		mu.Lock()
		order = append(order, name)
		mu.Unlock()
	}
	for range 4 {
		wg.Add(1)
		go serve("new", func() error { return l.wait(WithPriority(context.Background(), PriorityNew)) })
	}
	waitQueued(t, l, 4)
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() { gone <- l.wait(WithPriority(ctx, PriorityBackground)) }()
	waitQueued(t, l, 5)
	cancel()
	if err := <-gone; err == nil {
		t.Fatal("a cancelled wait returned nil")
	}
	w := &waiter{prio: PriorityBackground}
	wg.Add(1)
	go serve("raised", func() error { return l.await(context.Background(), w) })
	waitQueued(t, l, 5)
	l.raise(w, PriorityUrgent)
	wg.Wait()
	at := -1
	for i, n := range order {
		if n == "raised" {
			at = i
		}
	}
	if len(order) != 5 || at < 0 || at > 1 {
		t.Fatalf("the raised waiter was served %dth of %d: %v", at+1, len(order), order)
	}
}
