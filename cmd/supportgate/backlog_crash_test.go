package main

import (
	"fmt"
	"io"
	"net/http"
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

// TestKillNineMidBacklog: SIGKILL while the portal lane works through a
// backlog of new tasks (the portal's budget is small) loses nothing and
// makes nothing twice: after the restart every message has exactly one
// task, one forward and one auto-reply.
func TestKillNineMidBacklog(t *testing.T) {
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
	const n = 20
	cmd := startServe(t, bin, config, smtpAddr)
	for i := range n {
		from := fmt.Sprintf("c%d@customer.test", i)
		msg := fmt.Sprintf("From: %s\r\nTo: support@example.com\r\nSubject: crash %d\r\nMessage-ID: <crash%d@customer.test>\r\n\r\nhelp\r\n", from, i, i)
		c, err := smtp.Dial(smtpAddr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SendMail(from, []string{"support@example.com"}, strings.NewReader(msg)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		c.Close()
	}
	// The mail lanes finish at once; the tasks trickle in at the
	// portal's pace. Kill in the middle of them.
	up.Wait(n, 20*time.Second)
	waitUntil(t, func() bool { return len(out.Messages()) >= n }, "auto-replies before the kill")
	// Every reply recorded as sent: a kill between the smarthost's 250
	// and our commit would send that one again (SMTP's own at-least-once
	// window, which no sender can close); this test is about the backlog.
	waitUntil(t, func() bool { return jobsOf(httpAddr, "send") == 0 }, "the send jobs recorded done")
	waitUntil(t, func() bool { return len(portal.Tasks()) >= 3 }, "some tasks before the kill")
	if len(portal.Tasks()) >= n {
		t.Skip("the backlog was gone before the kill; nothing to test on this machine")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	killedAt := len(portal.Tasks())

	startServe(t, bin, config, smtpAddr)
	waitUntil(t, func() bool { return len(portal.Tasks()) >= n }, "every task after the restart")
	// The barrier: the restarted gateway's queue is empty, so nothing is
	// left that could still send or file a second copy.
	waitUntil(t, func() bool { return queueEmpty(httpAddr) }, "the queue drained")
	t.Logf("killed with %d of %d tasks filed", killedAt, n)
	byMarker := map[string]int{}
	byTitle := map[string]int{}
	for _, tk := range portal.Tasks() {
		byMarker[tk.XMLID]++
		byTitle[tk.Title]++
	}
	if len(portal.Tasks()) != n || len(byMarker) != n || len(byTitle) != n {
		t.Errorf("%d tasks, %d markers, %d titles; want %d of each", len(portal.Tasks()), len(byMarker), len(byTitle), n)
	}
	count := func(s *mailtest.Server, header string) map[string]int {
		m := map[string]int{}
		for _, g := range s.Messages() {
			msg, err := mail.ReadMessage(strings.NewReader(string(g.Data)))
			if err != nil {
				t.Fatal(err)
			}
			m[msg.Header.Get(header)]++
		}
		return m
	}
	if fw := count(up, "Message-ID"); len(fw) != n || len(up.Messages()) != n {
		t.Errorf("%d forwards of %d messages; want %d, once each", len(up.Messages()), len(fw), n)
	}
	if ar := count(out, "In-Reply-To"); len(ar) != n || len(out.Messages()) != n {
		t.Errorf("%d auto-replies to %d messages; want %d, once each", len(out.Messages()), len(ar), n)
	}
}

// jobsOf sums supportgate_queue_jobs of a kind from /metrics (-1 when
// the gateway does not answer).
func jobsOf(httpAddr, kind string) int {
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	n := 0
	for _, l := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(l, "supportgate_queue_jobs{"); ok && strings.Contains(rest, `kind="`+kind+`"`) {
			var v float64
			fmt.Sscan(l[strings.LastIndexByte(l, ' ')+1:], &v)
			n += int(v)
		}
	}
	return n
}

// queueEmpty reports whether /metrics shows no message left in the queue.
func queueEmpty(httpAddr string) bool {
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, "supportgate_queue_messages "); ok {
			return strings.TrimSpace(v) == "0"
		}
	}
	return false
}

func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
