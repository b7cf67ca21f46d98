package webform

import (
	"sync"
	"time"
)

// once makes a form post count once: a double click (or a reload of the
// post) sends the same signed token again, and the second post gets the
// first one's request number instead of a second task. It is in memory,
// for as long as a form lives (maxFormAge): a restart between the two
// posts is the one gap.
type once struct {
	mu sync.Mutex
	m  map[string]*onceEntry
	n  int
}

type onceEntry struct {
	done chan struct{} // closed when the first post finished
	id   string        // its request number; "" if it was not accepted
	at   time.Time
}

func newOnce() *once { return &once{m: map[string]*onceEntry{}} }

// claim returns (nil, true) when the caller is the first post of token
// and must call finish; otherwise it waits for the first and returns its
// entry (id "" when that one failed: the caller then goes on itself).
func (o *once) claim(token string, now time.Time) (*onceEntry, bool) {
	o.mu.Lock()
	e, ok := o.m[token]
	if !ok || (e.id == "" && isClosed(e.done)) {
		o.m[token] = &onceEntry{done: make(chan struct{}), at: now}
		o.prune(now)
		o.mu.Unlock()
		return nil, true
	}
	o.mu.Unlock()
	<-e.done
	return e, false
}

// finish records the outcome of the first post of token.
func (o *once) finish(token, id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e, ok := o.m[token]; ok && !isClosed(e.done) {
		e.id = id
		close(e.done)
	}
}

func (o *once) prune(now time.Time) {
	if o.n++; o.n%256 != 0 {
		return
	}
	for k, e := range o.m {
		if now.Sub(e.at) > maxFormAge && isClosed(e.done) {
			delete(o.m, k)
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
