package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"supportgate/mailtest"
	"supportgate/store"
)

// buildBinary compiles supportgate once for the subprocess tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "supportgate")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func writeConfig(t *testing.T, dir, smtpAddr, upstream string) string {
	t.Helper()
	cfg := fmt.Sprintf(`
[smtp]
listen = %q
hostname = "mx.crash.test"
[http]
listen = %q
[console]
listen = %q
[storage]
dir = "state"
[upstream]
address = %q
[outbound]
address = %q
tls = "none"
[queue]
retry_initial = "200ms"
retry_max = "500ms"
[[mailbox]]
address = "support@example.com"
[autoreply]
enabled = false
`, smtpAddr, freePort(t), freePort(t), upstream, freePort(t))
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startServe runs "supportgate serve" and waits for its SMTP port.
func startServe(t *testing.T, bin, config, smtpAddr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", config)
	logf, _ := os.Create(filepath.Join(filepath.Dir(config), fmt.Sprintf("log-%d.txt", time.Now().UnixNano())))
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", smtpAddr); err == nil {
			r := bufio.NewReader(c)
			line, _ := r.ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "220") {
				return cmd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("supportgate did not start on %s", smtpAddr)
	return nil
}

// TestKillNineAfter250: a message answered 250 survives SIGKILL and is
// delivered, once, after the restart.
func TestKillNineAfter250(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	upstream := freePort(t) // nothing listens: the upstream is down
	smtpAddr := freePort(t)
	config := writeConfig(t, dir, smtpAddr, upstream)

	cmd := startServe(t, bin, config, smtpAddr)
	msg := "From: a@customer.test\r\nTo: support@example.com\r\nSubject: survive\r\nMessage-ID: <k9@customer.test>\r\n\r\nplease\r\n"
	c, err := smtp.Dial(smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("a@customer.test", []string{"support@example.com"}, strings.NewReader(msg)); err != nil {
		t.Fatalf("send: %v", err)
	}
	c.Close()
	time.Sleep(300 * time.Millisecond) // at least one failed attempt, job left mid-flight
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	// On disk: the message record, its body and its forward job survived.
	st, err := store.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatalf("open store after kill: %v", err)
	}
	stats, _ := st.Stats()
	jobs, _ := st.Jobs()
	var body []byte
	for _, j := range jobs {
		if j.Kind == "forward" {
			body, _ = st.ReadBody(j.MsgID)
		}
	}
	st.Close()
	if stats.Messages != 1 || !strings.HasSuffix(string(body), msg) {
		t.Fatalf("after kill: %d messages, jobs %d, body %q", stats.Messages, len(jobs), body)
	}

	ln, err := net.Listen("tcp", upstream)
	if err != nil {
		t.Skipf("upstream port taken meanwhile: %v", err)
	}
	up := mailtest.StartOn(t, ln, false)
	startServe(t, bin, config, smtpAddr)
	got := up.Wait(1, 10*time.Second)
	time.Sleep(time.Second)
	got = up.Messages()
	if len(got) != 1 {
		t.Fatalf("upstream got %d copies after restart, want 1", len(got))
	}
	if !strings.HasSuffix(string(got[0].Data), msg) {
		t.Errorf("delivered bytes differ")
	}
}

// TestGracefulStop: SIGTERM lets the process exit 0 with the store closed,
// and a restart opens it again at once (no stale lock).
func TestGracefulStop(t *testing.T) {
	bin, _, config, smtpAddr, _ := liveSetup(t)
	cmd := startServe(t, bin, config, smtpAddr)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit 10s after SIGTERM")
	}
	startServe(t, bin, config, smtpAddr)
}

// TestSIGHUPAndFileEditReload: SIGHUP reloads; an edit of the file
// reloads by itself; a broken edit is refused and the process keeps
// serving on the old config.
func TestSIGHUPAndFileEditReload(t *testing.T) {
	bin, dir, config, smtpAddr, _ := liveSetup(t)
	cmd := startServe(t, bin, config, smtpAddr)
	logs := func() string {
		var all []byte
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "log-") {
				b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
				all = append(all, b...)
			}
		}
		return string(all)
	}
	waitLog := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if strings.Count(logs(), what) > 0 {
				return
			}
		}
		t.Fatalf("no %q in the log:\n%s", what, logs())
	}
	waitReloads := func(n int, what string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); strings.Count(logs(), `"msg":"config reloaded"`) < n; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s:\n%s", what, logs())
			}
		}
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitReloads(1, "SIGHUP did not reload")

	text, _ := os.ReadFile(config)
	os.WriteFile(config, append(text, []byte("[rules]\nexclude_domains = [\"x.test\"]\n")...), 0o600)
	waitReloads(2, "file edit did not reload")
	// Editing the template the config names reloads too.
	tmpl := filepath.Join(dir, "reply.html")
	os.WriteFile(tmpl, []byte("<p>Hello {{.Greeting}}</p>"), 0o600)
	withTmpl := strings.Replace(string(text), "[autoreply]\nenabled = false", "[autoreply]\nenabled = false\ntemplate = \"reply.html\"", 1)
	os.WriteFile(config, []byte(withTmpl), 0o600)
	waitReloads(3, "config naming a template did not reload")
	time.Sleep(400 * time.Millisecond)
	os.WriteFile(tmpl, []byte("<p>Здравствуйте, {{.Greeting}}</p>"), 0o600)
	waitReloads(4, "template edit did not reload")
	os.WriteFile(config, append(text, []byte("[smtp2]\n")...), 0o600)
	waitLog("config reload refused")
	if !strings.Contains(logs(), "smtp2") {
		t.Errorf("the refusal does not name the key")
	}
	// Still serving.
	c, err := smtp.Dial(smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("a@customer.test", []string{"support@example.com"}, strings.NewReader("Subject: x\r\n\r\ny\r\n")); err != nil {
		t.Fatalf("after a refused reload: %v", err)
	}
	c.Close()
}

// TestExplainAsksTheRunningGateway: while serve holds the database,
// explain still sees the live threads (through the loopback endpoint).
func TestExplainAsksTheRunningGateway(t *testing.T) {
	bin, dir, config, smtpAddr, up := liveSetup(t)
	startServe(t, bin, config, smtpAddr)
	c, err := smtp.Dial(smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	first := "From: ann@customer.test\r\nTo: support@example.com\r\nSubject: first\r\nMessage-ID: <first@customer.test>\r\n\r\nhelp\r\n"
	if err := c.SendMail("ann@customer.test", []string{"support@example.com"}, strings.NewReader(first)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	up.Wait(1, 5*time.Second)
	time.Sleep(300 * time.Millisecond) // processed
	follow := filepath.Join(dir, "follow.eml")
	os.WriteFile(follow, []byte("From: ann@customer.test\r\nTo: support@example.com\r\nSubject: Re: first\r\nMessage-ID: <second@customer.test>\r\nIn-Reply-To: <first@customer.test>\r\n\r\nmore\r\n"), 0o600)
	out, err := exec.Command(bin, "explain", "-config", config, follow, "-render").CombinedOutput()
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, out)
	}
	for _, want := range []string{"source:      the running gateway (its config, the live threads)", "message-id <first@customer.test>", "task:        comment", "auto-reply:  no (known-thread)"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
	// A copy of the config with a new exclusion: its rules, the live threads.
	text, _ := os.ReadFile(config)
	trial := filepath.Join(dir, "trial.toml")
	os.WriteFile(trial, []byte(strings.Replace(string(text), "[autoreply]\nenabled = false", "[autoreply]\nenabled = true", 1)+"[rules]\nexclude_addresses = [\"newbie@customer.test\"]\n"), 0o600)
	nb := filepath.Join(dir, "nb.eml")
	os.WriteFile(nb, []byte("From: newbie@customer.test\r\nTo: support@example.com\r\nSubject: hi\r\nMessage-ID: <nb@customer.test>\r\n\r\nx\r\n"), 0o600)
	out, err = exec.Command(bin, "explain", "-config", trial, nb).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "excluded-address") || !strings.Contains(string(out), "trial.toml") {
		t.Errorf("explain with a trial config: %v\n%s", err, out)
	}
}

// liveSetup builds the binary and writes a config whose upstream is a
// real SMTP server, for the tests that run "supportgate serve".
func liveSetup(t *testing.T) (bin, dir, config, smtpAddr string, up *mailtest.Server) {
	bin = buildBinary(t)
	dir = t.TempDir()
	up = mailtest.Start(t, false)
	smtpAddr = freePort(t)
	config = writeConfig(t, dir, smtpAddr, up.Addr())
	return
}
