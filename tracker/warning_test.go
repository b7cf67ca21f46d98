package tracker

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// 6,006 wrong-token events in a loop: one line a minute, with the count.
func TestBadTokenLoggedOnceAMinute(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var b badTokenLog
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range 6006 {
		b.note(log, "192.0.2.7:1234", "ONTASKCOMMENTADD", start.Add(time.Duration(i)*20*time.Millisecond)) // 2 min
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines for 6006 events over 2 minutes, want 3:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[1], "count=3000") {
		t.Errorf("second line %q lacks the count of the minute", lines[1])
	}
}
