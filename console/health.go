package console

import (
	"sort"
	"sync"
	"time"
)

// Health follows the peers the gateway depends on, fed by job outcomes:
// a peer fails from its first failed attempt until a job of its kind
// succeeds. The banner shows the peers failing for longer than After.
type Health struct {
	// After is how long a peer must fail before the banner names it
	// (tests set it to 0).
	After time.Duration

	mu     sync.Mutex
	peers  map[string]*peerState
	failed map[string][]time.Time // kind → when its jobs failed for good
}

// failedFor is how far back the queue page counts jobs failed for good
// (they leave the queue, so only their outcomes can be counted).
const failedFor = 24 * time.Hour

type peerState struct {
	since   time.Time
	lastErr string
}

// Failing is one peer in trouble.
type Failing struct {
	Peer      string // upstream, smarthost, portal
	Since     time.Time
	LastError string
}

// PeerOf maps a job kind to the peer it talks to ("" for none).
func PeerOf(kind string) string {
	switch kind {
	case "forward":
		return "upstream"
	case "send":
		return "smarthost"
	case "task", "comment", "notify":
		return "portal"
	}
	return ""
}

// Observe records one job outcome ("done", "retry", "failed", ...).
func (h *Health) Observe(kind, outcome, errText string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if outcome == "failed" {
		if h.failed == nil {
			h.failed = map[string][]time.Time{}
		}
		h.failed[kind] = append(pruneTimes(h.failed[kind], time.Now().Add(-failedFor)), time.Now())
	}
	peer := PeerOf(kind)
	if peer == "" {
		return
	}
	if h.peers == nil {
		h.peers = map[string]*peerState{}
	}
	switch outcome {
	case "done":
		delete(h.peers, peer)
	case "retry", "failed":
		p := h.peers[peer]
		if p == nil {
			p = &peerState{since: time.Now()}
			h.peers[peer] = p
		}
		if errText != "" {
			p.lastErr = errText
		}
	}
}

// Failing lists the peers failing for longer than After.
func (h *Health) Failing() []Failing {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Failing
	for name, p := range h.peers {
		if time.Since(p.since) >= h.After {
			out = append(out, Failing{Peer: name, Since: p.since, LastError: p.lastErr})
		}
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Peer < out[k].Peer })
	return out
}

// FailedRecently counts, per kind, the jobs failed for good in the last
// 24 hours (since the start, if that is later).
func (h *Health) FailedRecently() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for k, ts := range h.failed {
		h.failed[k] = pruneTimes(ts, time.Now().Add(-failedFor))
		if n := len(h.failed[k]); n > 0 {
			out[k] = n
		}
	}
	return out
}

func pruneTimes(ts []time.Time, cut time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(cut) {
		i++
	}
	return ts[i:]
}
