package tracker

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"supportgate/store"
)

// WarnedCommentJob is a comment job whose comment opens with a warning
// line: the pipeline uses it for a message that joined a thread by a
// Message-ID while failing sender authentication, so the specialist sees
// at once that it may be forged.
func (t *Tracker) WarnedCommentJob(threadID, warning string) *store.Job {
	data, _ := json.Marshal(struct {
		Thread  string `json:"thread"`
		Warning string `json:"warning"`
	}{threadID, warning})
	return &store.Job{Kind: KindComment, Data: data}
}

// warningLine is the bold first line of a warned comment ("" without).
func warningLine(w string) string {
	if w == "" {
		return ""
	}
	return "[B]⚠ " + escapeBBCode(w) + "[/B]\n"
}

// badTokenLog turns a flood of events with a wrong application token
// into one WARN line a minute with a count (each still gets 401): one
// loop wrote 6,006 lines (issue 14).
type badTokenLog struct {
	mu     sync.Mutex
	last   time.Time // when the last line was written
	first  time.Time // the first event counted in the next line
	count  int       // events since
	remote string    // the latest one's address
}

const badTokenEvery = time.Minute

// note counts one event; now is the zero time except in tests.
func (b *badTokenLog) note(log *slog.Logger, remote, event string, now time.Time) {
	if now.IsZero() {
		now = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.count == 0 {
		b.first = now
	}
	b.count++
	b.remote = remote
	if !b.last.IsZero() && now.Sub(b.last) < badTokenEvery {
		return
	}
	log.Warn("bitrix24 events with a wrong application token", "count", b.count, "since", b.first, "remote", remote, "event", event)
	b.last, b.count = now, 0
}

// badTokenNow is the zero time: note reads the clock.
var badTokenNow time.Time
