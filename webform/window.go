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

// add records a submission from ip.
func (w *window) add(ip string, win time.Duration, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hits[ip] = append(w.prune(ip, win, now), now)
	if w.seen++; w.seen%1024 == 0 { // now and then, forget idle IPs
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
