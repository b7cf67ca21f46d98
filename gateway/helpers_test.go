package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"supportgate/mailtest"
	"supportgate/rules"
)

// env is a gateway on random ports with a real upstream and smarthost.
type env struct {
	t         testing.TB
	quiet     bool // benchmarks: no logs
	g         *Gateway
	dir       string
	upstream  *mailtest.Server
	smarthost *mailtest.Server
	clock     func() time.Time // set before start: the pipeline's "now"
}

// baseConfig is the TOML every test starts from; extra is appended.
func baseConfig(dir, upstream, smarthost, extra string) string {
	return fmt.Sprintf(`
[smtp]
listen = "127.0.0.1:0"
hostname = "mx.test.example"
max_message_bytes = 1048576
max_messages_per_sender = 0

[http]
listen = "127.0.0.1:0"
%s
[storage]
dir = %q

[upstream]
address = %q

[outbound]
address = %q
tls = "none"

[queue]
retry_initial = "100ms"
retry_max = "400ms"
give_up_after = "1h"
workers = 4

[[mailbox]]
address = "support@example.com"
forward_to = ["support@mail.internal.example.com"]

[[mailbox]]
address = "sales@example.com"

[log]
level = "debug"
%s
`, consoleSection(extra), filepath.Join(dir, "state"), upstream, smarthost, extra)
}

// consoleSection puts the console on a free port unless extra has its
// own [console] table (which must then say listen).
func consoleSection(extra string) string {
	if strings.Contains(extra, "[console]") {
		return ""
	}
	return "\n[console]\nlisten = \"127.0.0.1:0\"\n"
}

// newEnv starts a gateway; extra is TOML added to the base. Sender
// authentication is off unless extra has an [auth] table (no DNS here).
func newEnv(t *testing.T, extra string) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), upstream: mailtest.Start(t, false), smarthost: mailtest.Start(t, false)}
	e.start(extra, e.upstream.Addr())
	return e
}

func (e *env) start(extra, upstream string) {
	e.t.Helper()
	if !strings.Contains(extra, "[auth]") {
		extra += "\n[auth]\nautoreply = \"off\"\n"
	}
	path := filepath.Join(e.dir, "config.toml")
	if err := os.WriteFile(path, []byte(baseConfig(e.dir, upstream, e.smarthost.Addr(), extra)), 0o600); err != nil {
		e.t.Fatal(err)
	}
	e.startPath(path)
}

func (e *env) startPath(path string) {
	e.t.Helper()
	cfg, err := rules.Load(path)
	if err != nil {
		e.t.Fatal(err)
	}
	var w io.Writer = testWriter{e.t}
	if e.quiet {
		w = io.Discard
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := New(cfg, log)
	if err != nil {
		e.t.Fatal(err)
	}
	g.Pipeline.Clock = e.clock
	if err := g.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.g = g
	e.t.Cleanup(func() { e.stop() })
}

func (e *env) stop() {
	if e.g == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.g.Stop(ctx)
	e.g = nil
}

// testWriter sends logs to t.Log, so they show only for failing tests.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// send delivers one message over SMTP with go-smtp's client and returns
// the server's final answer (nil on 250).
func send(t *testing.T, addr, from string, rcpts []string, msg string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func plainMsg(from, to, subject, body string) string {
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + fmt.Sprint(time.Now().UnixNano()) + "@client.test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n" + body + "\r\n"
}
