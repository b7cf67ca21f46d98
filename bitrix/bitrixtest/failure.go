package bitrixtest

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

type failure struct {
	status     int
	code, desc string
}

type stallMode int

const (
	stallNone    stallMode = iota
	stallTimeout           // do the work, then answer nothing until the client gives up
	stallDrop              // do the work, then drop the connection
)

// Throttle makes the next n REST calls answer 503 QUERY_LIMIT_EXCEEDED
// without running, as the portal's leaky bucket does (§1.6).
func (p *Portal) Throttle(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttle = n
}

// FailNext makes the next call of method (e.g. "tasks.task.add") answer
// status with error code, without running. Calls queue up. A code of
// "QUERY_LIMIT_EXCEEDED" or "OPERATION_TIME_LIMIT" gets the portal's text.
func (p *Portal) FailNext(method string, status int, code string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	method = strings.ToLower(method)
	desc := "Fake failure injected by test"
	switch strings.ToUpper(code) {
	case "QUERY_LIMIT_EXCEEDED":
		desc = "Too many requests"
	case "OPERATION_TIME_LIMIT":
		desc = "Method is blocked due to operation time limit."
	case "INTERNAL_SERVER_ERROR":
		desc = "Internal server error"
	}
	p.fails[method] = append(p.fails[method], failure{status, code, desc})
}

// CreateThenTimeout makes the next call of method do its work (the task
// or comment exists afterwards) and then answer nothing until the client
// gives up: the "did it happen?" case behind ErrAmbiguous.
func (p *Portal) CreateThenTimeout(method string) {
	p.addStall(method, stallTimeout)
}

// CreateThenDrop is like CreateThenTimeout but closes the connection
// right away, which is quicker in tests.
func (p *Portal) CreateThenDrop(method string) {
	p.addStall(method, stallDrop)
}

func (p *Portal) addStall(method string, m stallMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	method = strings.ToLower(method)
	p.stalls[method] = append(p.stalls[method], m)
}

// Redirect makes every REST call answer 302 to location+path, as an old
// portal address does after a rename (§1.8). "" turns it off.
func (p *Portal) Redirect(location string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redirect = strings.TrimRight(location, "/")
}

func (p *Portal) doStall(w http.ResponseWriter, r *http.Request, m stallMode) {
	if m == stallDrop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
	}
	// Stall well past any sane client timeout; the portal's own hard
	// limit is 60s.
	select {
	case <-r.Context().Done():
	case <-p.stop:
	case <-time.After(70 * time.Second):
	}
}

// Calls returns the call log, oldest first.
func (p *Portal) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// CallsTo returns the logged calls of one method.
func (p *Portal) CallsTo(method string) []Call {
	method = strings.ToLower(method)
	var out []Call
	for _, c := range p.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// ResetCalls empties the call log.
func (p *Portal) ResetCalls() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = nil
}

// leakyBucket is the portal's rate limit (§1.6): each request adds 1,
// the level drains at rate/s, a request that would push it over max is
// refused. Off while max is 0.
type leakyBucket struct {
	max, rate float64
	level     float64
	at        time.Time
}

func (b *leakyBucket) admit(now time.Time) bool {
	if b.max <= 0 {
		return true
	}
	if !b.at.IsZero() {
		b.level = max(0, b.level-now.Sub(b.at).Seconds()*b.rate)
	}
	b.at = now
	if b.level+1 > b.max {
		return false
	}
	b.level++
	return true
}

// RateLimit turns on a real leaky bucket: at most burst requests at once,
// draining at perSec (a real portal: 50 and 2, enterprise 250 and 5).
// Zero burst turns it off.
func (p *Portal) RateLimit(burst int, perSec float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bucket = leakyBucket{max: float64(burst), rate: perSec}
}
