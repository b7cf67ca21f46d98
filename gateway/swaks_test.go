package gateway

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSwaksInterop drives the gateway with Debian's swaks, a client we did
// not write: plain, pipelined, and a refused recipient.
func TestSwaksInterop(t *testing.T) {
	swaks, err := exec.LookPath("swaks")
	if err != nil {
		t.Skip("swaks not installed (.ci/run installs it)")
	}
	e := newEnv(t, "")
	run := func(args ...string) (string, error) {
		base := []string{"--server", e.g.SMTPAddr(), "--from", "swaks@customer.test", "--helo", "swaks.test", "--timeout", "10"}
		out, err := exec.Command(swaks, append(base, args...)...).CombinedOutput()
		return string(out), err
	}
	out, err := run("--to", "support@example.com", "--header", "Subject: swaks says hi", "--body", "Привет из swaks")
	if err != nil || !strings.Contains(out, "250 2.0.0 OK: queued as") {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	out, err = run("--to", "sales@example.com", "--pipeline", "--header", "Subject: pipelined")
	if err != nil || !strings.Contains(out, "PIPELINING") {
		t.Fatalf("swaks --pipeline: %v\n%s", err, out)
	}
	out, err = run("--to", "stranger@elsewhere.test")
	if err == nil || !strings.Contains(out, "550 5.1.1") {
		t.Fatalf("foreign rcpt via swaks: err=%v\n%s", err, out)
	}
	got := e.upstream.Wait(2, 5*time.Second)
	if len(got) != 2 {
		t.Fatalf("upstream got %d, want 2", len(got))
	}
	if !strings.Contains(string(got[0].Data)+string(got[1].Data), "Subject: swaks says hi") {
		t.Errorf("swaks message not forwarded intact")
	}
}
