package bitrix

import (
	"context"
	"sync"
	"time"
)

// limiter is a client-side leaky bucket mirroring the portal's own (§1.6:
// each request adds 1, the counter drains at rate/s, more than burst is
// refused). Staying under it ourselves means we almost never see
// QUERY_LIMIT_EXCEEDED. All calls of one Client share one limiter, so
// parallel goroutines cannot outrun the portal together.
type limiter struct {
	mu     sync.Mutex
	rate   float64 // tokens per second; <= 0 means unlimited
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{
		rate:   rate,
		burst:  float64(burst),
		tokens: float64(burst),
		now:    time.Now,
	}
}

// reserve takes one token and returns how long the caller must wait before
// using it. The balance may go negative: that queues callers fairly.
func (l *limiter) reserve() time.Duration {
	if l == nil || l.rate <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() {
		l.tokens += now.Sub(l.last).Seconds() * l.rate
		if l.tokens > l.burst {
			l.tokens = l.burst
		}
	}
	l.last = now
	l.tokens--
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}

// wait blocks until the caller may send one request, or ctx ends.
func (l *limiter) wait(ctx context.Context) error {
	d := l.reserve()
	if d <= 0 {
		return ctx.Err()
	}
	return sleep(ctx, d)
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
	if l.tokens > 0 {
		l.tokens = 0
	}
	l.last = l.now()
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

// delay is how long n more requests would wait for their turn now,
// without taking anything (an estimate for callers deciding whether to
// wait for the portal at all).
func (l *limiter) delay(n int) time.Duration {
	if l == nil || l.rate <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tokens := l.tokens
	if !l.last.IsZero() {
		tokens = min(l.burst, tokens+l.now().Sub(l.last).Seconds()*l.rate)
	}
	if tokens >= float64(n) {
		return 0
	}
	return time.Duration((float64(n) - tokens) / l.rate * float64(time.Second))
}
