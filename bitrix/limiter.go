package bitrix

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// limiter is a client-side leaky bucket mirroring the portal's own
// (docs/bitrix24.md §1.6: each request adds 1, the counter drains at
// rate/s, more than burst is refused). Staying under it ourselves means we
// almost never see QUERY_LIMIT_EXCEEDED. All calls of one Client share one
// limiter, so parallel goroutines cannot outrun the portal together.
//
// When the bucket is empty, callers wait in priority order (priorityOf
// their context: a specialist's answer before a greeting lookup before a
// follow-up before new tasks and their files before the reconciler), and
// in arrival order within a priority. A token is handed to the most
// urgent waiter only when it exists, never promised ahead: 64 uploads
// waiting must not push the next batch carrying a specialist's answer
// 32 seconds into the future.
type limiter struct {
	mu     sync.Mutex
	rate   float64 // tokens per second; <= 0 means unlimited
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time

	q     waitQueue
	seq   uint64
	timer *time.Timer // set while waiters wait for the next token
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{
		rate:   rate,
		burst:  float64(burst),
		tokens: float64(burst),
		now:    time.Now,
	}
}

// refill adds what drained since the last look; l.mu is held.
func (l *limiter) refill() {
	now := l.now()
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
}

// wait blocks until the caller may send one request, or ctx ends.
func (l *limiter) wait(ctx context.Context) error {
	return l.await(ctx, &waiter{prio: priorityOf(ctx)})
}

// await is wait for a waiter the caller made, so that it can raise its
// priority while it waits (raise).
func (l *limiter) await(ctx context.Context, w *waiter) error {
	if l == nil || l.rate <= 0 {
		return ctx.Err()
	}
	l.mu.Lock()
	l.refill()
	if len(l.q) == 0 && l.tokens >= 1 {
		l.tokens--
		l.mu.Unlock()
		return ctx.Err()
	}
	w.seq, w.ready = l.seq, make(chan struct{})
	l.seq++
	heap.Push(&l.q, w)
	l.grant()
	l.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		select {
		case <-w.ready: // granted as we gave up: the token goes back
			l.tokens = min(l.burst, l.tokens+1)
			l.grant()
		default:
			heap.Remove(&l.q, w.idx)
			w.idx = -1
		}
		return ctx.Err()
	}
}

// raise moves a waiting w up to priority p (a more urgent call joined the
// batch that waits).
func (l *limiter) raise(w *waiter, p int) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if p >= w.prio {
		return
	}
	w.prio = p
	// Queued and not yet granted: move it up.
	if w.idx >= 0 && w.idx < len(l.q) && l.q[w.idx] == w {
		heap.Fix(&l.q, w.idx)
	}
}

// grant hands the tokens there are to the most urgent waiters and, if
// some still wait, sets a timer for the next token; l.mu is held.
func (l *limiter) grant() {
	l.refill()
	for len(l.q) > 0 && l.tokens >= 1 {
		w := heap.Pop(&l.q).(*waiter)
		l.tokens--
		close(w.ready)
	}
	if len(l.q) == 0 || l.timer != nil {
		return
	}
	d := time.Duration((1 - l.tokens) / l.rate * float64(time.Second))
	l.timer = time.AfterFunc(max(d, time.Millisecond), func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.timer = nil
		l.grant()
	})
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain empties the bucket. Called when the portal says we are over its
// limit anyway (another process on our IP shares the portal's bucket): the
// following calls then pace at the steady rate instead of bursting again.
func (l *limiter) drain() {
	if l == nil || l.rate <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill()
	if l.tokens > 0 {
		l.tokens = 0
	}
}

// delay is how long n more requests of a new task's priority would wait
// for their turn now, without taking anything (an estimate for callers
// deciding whether to wait for the portal at all). Only waiters that go
// first count: uploads of files (PriorityFiles) and the reconciler wait
// behind a new task, so a backlog of files does not make a task late.
func (l *limiter) delay(n int) time.Duration {
	if l == nil || l.rate <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill()
	ahead := 0
	for _, w := range l.q {
		if w.prio <= PriorityNew {
			ahead++
		}
	}
	need := float64(n+ahead) - l.tokens
	if need <= 0 {
		return 0
	}
	return time.Duration(need / l.rate * float64(time.Second))
}

// waiting is how many callers wait for a token now.
func (l *limiter) waiting() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.q)
}

type waiter struct {
	prio  int
	seq   uint64
	idx   int
	ready chan struct{}
}

// waitQueue is a heap of waiters: lowest priority value first, then the
// earliest.
type waitQueue []*waiter

func (q waitQueue) Len() int { return len(q) }
func (q waitQueue) Less(i, j int) bool {
	if q[i].prio != q[j].prio {
		return q[i].prio < q[j].prio
	}
	return q[i].seq < q[j].seq
}
func (q waitQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i]; q[i].idx = i; q[j].idx = j }
func (q *waitQueue) Push(x any)   { w := x.(*waiter); w.idx = len(*q); *q = append(*q, w) }
func (q *waitQueue) Pop() any {
	old := *q
	w := old[len(old)-1]
	w.idx = -1
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return w
}
