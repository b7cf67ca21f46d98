package main

import (
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"supportgate/bitrix/bitrixtest"
	"supportgate/mailtest"
)

// TestKillNineClosedTasks: SIGKILL while follow-ups on closed tasks are
// being worked through (the portal's budget is small). After the restart
// each task closed recently has exactly one comment and is renewed; each
// closed long ago has exactly one new task with exactly one new
// acknowledgement.
func TestKillNineClosedTasks(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	portal := bitrixtest.NewWithOptions(t, bitrixtest.Options{UserID: 1, FolderID: 11, RateBurst: 2, RatePerSec: 4})
	portal.AddUser(7, "Ольга Смирнова", "olga@example.com")
	up := mailtest.Start(t, false)
	out := mailtest.Start(t, false)
	smtpAddr, httpAddr := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`
[smtp]
listen = %q
hostname = "mx.crash.test"
max_messages_per_sender = 0
max_connections_per_minute = 0
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
portal_workers = 2
[[mailbox]]
address = "support@example.com"
[autoreply]
max_per_sender = 0
wait_for_task = "1s"
[auth]
autoreply = "off"
[bitrix]
webhook_url = %q
responsible_id = 7
application_token = "tok"
poll_interval = "1h"
rate_per_second = 4
burst = 2
`, smtpAddr, httpAddr, freePort(t), up.Addr(), out.Addr(), portal.WebhookURL())
	config := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	send := func(from, msg string) {
		t.Helper()
		c, err := smtp.Dial(smtpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.SendMail(from, []string{"support@example.com"}, strings.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
	}
	const n = 10
	cmd := startServe(t, bin, config, smtpAddr)
	for i := range n {
		from := fmt.Sprintf("k%d@customer.test", i)
		send(from, fmt.Sprintf("From: %s\r\nTo: support@example.com\r\nSubject: closed %d\r\nMessage-ID: <k%d@customer.test>\r\n\r\nhelp\r\n", from, i, i))
	}
	waitUntil(t, func() bool { return len(portal.Tasks()) == n && len(out.Messages()) == n }, "tasks and acknowledgements")
	// Even: closed yesterday (renew); odd: a month ago (a new task).
	byTitle := map[string]int64{}
	for _, tk := range portal.Tasks() {
		byTitle[tk.Title] = tk.ID
	}
	for i := range n {
		age := 24 * time.Hour
		if i%2 == 1 {
			age = 30 * 24 * time.Hour
		}
		portal.CloseTask(byTitle[fmt.Sprintf("closed %d", i)], 5, time.Now().Add(-age))
	}
	for i := range n {
		from := fmt.Sprintf("k%d@customer.test", i)
		send(from, fmt.Sprintf("From: %s\r\nTo: support@example.com\r\nSubject: Re: closed %d\r\nMessage-ID: <k%d-2@customer.test>\r\nIn-Reply-To: <k%d@customer.test>\r\n\r\nstill broken\r\n", from, i, i, i))
	}
	done := func() int {
		d := len(portal.Tasks()) - n
		for i := 0; i < n; i += 2 {
			d += len(portal.Comments(byTitle[fmt.Sprintf("closed %d", i)]))
		}
		return d
	}
	waitUntil(t, func() bool { return done() >= 2 }, "some follow-ups before the kill")
	if done() >= n {
		t.Skip("the follow-ups were done before the kill; nothing to test on this machine")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	t.Logf("killed with %d of %d follow-ups done", done(), n)

	startServe(t, bin, config, smtpAddr)
	for deadline := time.Now().Add(60 * time.Second); done() < n || len(out.Messages()) < n+n/2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			for _, tk := range portal.Tasks() {
				t.Logf("task %d %q status %d comments %d", tk.ID, tk.Title, tk.Status, len(portal.Comments(tk.ID)))
			}
			logs, _ := filepath.Glob(filepath.Join(dir, "log-*.txt"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				for _, line := range strings.Split(string(b), "\n") {
					if strings.Contains(line, "follow-up") || strings.Contains(line, "retry") || strings.Contains(line, "WARN") || strings.Contains(line, "ERROR") || strings.Contains(line, "warn") {
						t.Log(line)
					}
				}
			}
			t.Fatalf("after the restart: %d of %d follow-ups done, %d acknowledgements", done(), n, len(out.Messages()))
		}
	}
	// The barrier: the restarted gateway's queue is empty, so nothing is
	// left that could still send or file a second copy.
	waitUntil(t, func() bool { return queueEmpty(httpAddr) }, "the queue drained")
	if got := len(portal.Tasks()); got != n+n/2 {
		t.Errorf("%d tasks, want %d", got, n+n/2)
	}
	for i := 0; i < n; i += 2 {
		id := byTitle[fmt.Sprintf("closed %d", i)]
		tk, _ := portal.Task(id)
		if c := portal.Comments(id); len(c) != 1 || tk.Status != 2 {
			t.Errorf("task %d: %d comments, status %d; want 1 and renewed", id, len(c), tk.Status)
		}
	}
	acks := map[string]int{}
	for _, g := range out.Messages() {
		msg, err := mail.ReadMessage(strings.NewReader(string(g.Data)))
		if err != nil {
			t.Fatal(err)
		}
		acks[msg.Header.Get("In-Reply-To")]++
	}
	for i := 1; i < n; i += 2 {
		if k := acks[fmt.Sprintf("<k%d-2@customer.test>", i)]; k != 1 {
			t.Errorf("follow-up %d acknowledged %d times, want once", i, k)
		}
	}
	if len(out.Messages()) != n+n/2 {
		t.Errorf("%d acknowledgements, want %d", len(out.Messages()), n+n/2)
	}
}
