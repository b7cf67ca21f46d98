package gateway

import (
	"os"
	"testing"
	"time"
)

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for: %s", what)
}

func spoolCount(t *testing.T, e *env) int {
	t.Helper()
	ents, err := os.ReadDir(e.g.Store.SpoolDir())
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func jobAttempts(t *testing.T, e *env, kind string) int {
	jobs, err := e.g.Store.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range jobs {
		if j.Kind == kind {
			n += j.Attempts
		}
	}
	return n
}

func filepathJoin(a, b string) string { return a + "/" + b }
