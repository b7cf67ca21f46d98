package gateway

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"supportgate/mailtest"
)

// An LMTP upstream with two targets: one refuses for good (our config's
// error: held, the admin told, no DSN), the other fails for a while; once
// it recovers it gets the message once, and the target that already had
// it does not get it again.
func TestLMTPPartialDelivery(t *testing.T) {
	up := mailtest.Start(t, true)
	up.FailRcpt("a@mail.internal.example.com", mailtest.Temp)
	up.FailRcpt("gone@mail.internal.example.com", mailtest.Perm)
	e := &env{t: t, dir: t.TempDir(), upstream: up, smarthost: mailtest.Start(t, false)}
	cfg := baseConfig(e.dir, up.Addr(), e.smarthost.Addr(), "\n[auth]\nautoreply = \"off\"\n[autoreply]\nenabled = false\n")
	cfg = strings.Replace(cfg, "[upstream]\n", "[upstream]\nprotocol = \"lmtp\"\nnotify = \"admin@company.test\"\n", 1)
	cfg = strings.Replace(cfg, `forward_to = ["support@mail.internal.example.com"]`,
		`forward_to = ["support@mail.internal.example.com", "a@mail.internal.example.com", "gone@mail.internal.example.com"]`, 1)
	e.startText(cfg)

	if err := send(t, e.g.SMTPAddr(), "p@customer.test", []string{"support@example.com"}, plainMsg("p@customer.test", "support@example.com", "partial", "x")); err != nil {
		t.Fatal(err)
	}
	got := up.Wait(1, 5*time.Second)
	if len(got) != 1 || strings.Join(got[0].Rcpts, ",") != "support@mail.internal.example.com" {
		t.Fatalf("first delivery: %+v", got)
	}
	waitFor(t, func() bool { return jobAttempts(t, e, "forward") >= 3 }, "retries for the temporary failure")
	up.FailRcpt("a@mail.internal.example.com", nil)
	got = up.Wait(2, 5*time.Second)
	if len(got) != 2 || strings.Join(got[1].Rcpts, ",") != "a@mail.internal.example.com" {
		t.Fatalf("after recovery: %d deliveries, second to %v; want only the recovered target", len(got), got[len(got)-1].Rcpts)
	}
	waitFor(t, func() bool { return len(heldJobs(t, e)) == 1 }, "the job held for gone@")
	notice := e.smarthost.Wait(1, 5*time.Second)
	if len(notice) != 1 || notice[0].Rcpts[0] != "admin@company.test" || !bytes.Contains(notice[0].Data, []byte("gone@mail.internal.example.com")) {
		t.Fatalf("want one admin notice naming gone@: %d messages", len(notice))
	}
	for _, m := range e.smarthost.Messages() {
		if bytes.Contains(m.Data, []byte("multipart/report")) {
			t.Errorf("a DSN for our own config error")
		}
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(up.Messages()); n != 2 {
		t.Errorf("%d deliveries in all, want 2", n)
	}
}
