package webform

import (
	"sync"
	"time"
)

// window counts accepted submissions per client IP over a sliding window,
// in memory: a restart forgets them, which only errs towards letting a
// person in. (The acknowledgement's own per-IP cap, [webform]
// max_replies_per_ip, is durable in the store.)
type window struct {
	mu   sync.Mutex
	hits map[string][]time.Time
	seen int
}

func newWindow() *window { return &window{hits: map[string][]time.Time{}} }

// full reports whether ip has max submissions within win, and if so how
// long until the oldest of them leaves the window.
func (w *window) full(ip string, max int, win time.Duration, now time.Time) (bool, time.Duration) {
	if max <= 0 {
		return false, 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.prune(ip, win, now)
	if len(l) < max {
		return false, 0
	}
	return true, l[0].Add(win).Sub(now)
}

// reserve takes one of ip's max slots at once, under the same lock as
// the count, so parallel posts cannot all see "not full" and all pass.
// When full it reports how long until the oldest slot frees. release
// gives the slot back (a post refused for any reason: the cap counts
// accepted submissions); calling it more than once is harmless.
func (w *window) reserve(ip string, max int, win time.Duration, now time.Time) (ok bool, wait time.Duration, release func()) {
	if max <= 0 {
		return true, 0, func() {}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.prune(ip, win, now)
	if len(l) >= max {
		return false, l[0].Add(win).Sub(now), func() {}
	}
	w.hits[ip] = append(l, now)
	w.sweep(win, now)
	var once sync.Once
	return true, 0, func() { once.Do(func() { w.drop(ip, now) }) }
}

// drop removes one slot of ip stamped at.
func (w *window) drop(ip string, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.hits[ip]
	for i := len(l) - 1; i >= 0; i-- {
		if l[i].Equal(at) {
			w.hits[ip] = append(l[:i:i], l[i+1:]...)
			return
		}
	}
}

// add records a submission from ip.
func (w *window) add(ip string, win time.Duration, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hits[ip] = append(w.prune(ip, win, now), now)
	w.sweep(win, now)
}

// sweep now and then forgets idle IPs (w.mu held).
func (w *window) sweep(win time.Duration, now time.Time) {
	if w.seen++; w.seen%1024 == 0 {
		for k := range w.hits {
			if len(w.prune(k, win, now)) == 0 {
				delete(w.hits, k)
			}
		}
	}
}

func (w *window) prune(ip string, win time.Duration, now time.Time) []time.Time {
	l := w.hits[ip]
	i := 0
	for i < len(l) && now.Sub(l[i]) >= win {
		i++
	}
	l = l[i:]
	w.hits[ip] = l
	return l
}
