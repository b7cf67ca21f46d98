package gateway

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"supportgate/console"
	"supportgate/mailtest"
	"supportgate/rules"
	"supportgate/senderauth/authtest"
	"supportgate/store"
)

func heldJobs(t *testing.T, e *env) []*store.Job {
	t.Helper()
	jobs, _, err := e.g.Store.HeldJobs()
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

func dsnsTo(e *env, rcpt string) int {
	n := 0
	for _, m := range e.smarthost.Messages() {
		if bytes.Contains(m.Data, []byte("multipart/report")) && len(m.Rcpts) == 1 && m.Rcpts[0] == rcpt {
			n++
		}
	}
	return n
}

func noticesTo(e *env, admin string) []mailtest.Msg {
	var out []mailtest.Msg
	for _, m := range e.smarthost.Messages() {
		if len(m.Rcpts) == 1 && m.Rcpts[0] == admin {
			out = append(out, m)
		}
	}
	return out
}

// The mailbox server refuses a forward_to (550 at RCPT): our config's
// error. No DSN to the customer, one notice to the admin however many
// messages wait, the messages held (not retried), and delivered to the
// fixed forward_to once the config is reloaded.
func TestRefusedForwardToIsHeldAndNotBounced(t *testing.T) {
	e := &env{t: t, dir: t.TempDir(), upstream: mailtest.Start(t, false), smarthost: mailtest.Start(t, false)}
	e.upstream.FailRcpt("support@mail.internal.example.com", mailtest.Perm)
	cfg := baseConfig(e.dir, e.upstream.Addr(), e.smarthost.Addr(), "[auth]\nautoreply = \"off\"\n[autoreply]\nenabled = false\n")
	cfg = strings.Replace(cfg, "[outbound]\n", "notify = \"admin@company.test\"\n\n[outbound]\n", 1)
	e.startText(cfg)

	for i, from := range []string{"clara@customer.test", "dan@customer.test"} {
		if err := send(t, e.g.SMTPAddr(), from, []string{"support@example.com"}, plainMsg(from, "support@example.com", "help", "x")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return len(heldJobs(t, e)) == i+1 }, "message held")
	}
	waitFor(t, func() bool { return len(noticesTo(e, "admin@company.test")) >= 1 }, "admin notice sent")
	// Everything but the held forwards is done: no job is left to send
	// a second notice or a DSN.
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 2 }, "only the held jobs left")
	notices := noticesTo(e, "admin@company.test")
	if len(notices) != 1 {
		t.Fatalf("%d admin notices for one problem, want 1", len(notices))
	}
	n := notices[0]
	if n.From != "" {
		t.Errorf("notice MAIL FROM %q, want <>", n.From)
	}
	for _, want := range []string{"support@mail.internal.example.com", "forward_to of support@example.com", "550 5.1.1", "held", "reload"} {
		if !bytes.Contains(n.Data, []byte(want)) {
			t.Errorf("notice lacks %q:\n%s", want, n.Data)
		}
	}
	for _, c := range []string{"clara@customer.test", "dan@customer.test"} {
		if d := dsnsTo(e, c); d != 0 {
			t.Errorf("%s got %d DSNs for our own config error", c, d)
		}
	}
	if got := len(e.upstream.Messages()); got != 0 {
		t.Fatalf("upstream got %d", got)
	}
	for _, j := range heldJobs(t, e) {
		if j.State != store.Held || !strings.Contains(j.LastError, "550 5.1.1") {
			t.Errorf("held job: state %q, last error %q", j.State, j.LastError)
		}
	}

	// The admin fixes forward_to and reloads: both go out, once.
	fixed := strings.Replace(cfg, `forward_to = ["support@mail.internal.example.com"]`, `forward_to = ["helpdesk@mail.internal.example.com"]`, 1)
	path := filepath.Join(e.dir, "config.toml")
	os.WriteFile(path, []byte(fixed), 0o600)
	c, err := rules.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.g.Reload(c); err != nil {
		t.Fatal(err)
	}
	got := e.upstream.Wait(2, 10*time.Second)
	if len(got) != 2 {
		t.Fatalf("after the reload the upstream got %d, want 2", len(got))
	}
	for _, m := range got {
		if len(m.Rcpts) != 1 || m.Rcpts[0] != "helpdesk@mail.internal.example.com" {
			t.Errorf("delivered to %v, want the fixed forward_to", m.Rcpts)
		}
	}
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
	if n := len(noticesTo(e, "admin@company.test")); n != 1 {
		t.Errorf("%d notices in all, want 1", n)
	}
}

// The same refusal with the mailbox server fixed instead (same
// forward_to): a reload retries, and the message goes to it.
func TestHeldReleasedByReloadSameTarget(t *testing.T) {
	e := newEnv(t, "[autoreply]\nenabled = false\n")
	e.upstream.FailRcpt("support@mail.internal.example.com", mailtest.Perm)
	if err := send(t, e.g.SMTPAddr(), "c@customer.test", []string{"support@example.com"}, plainMsg("c@customer.test", "support@example.com", "s", "x")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(heldJobs(t, e)) == 1 }, "message held")
	// `supportgate held` lists it through the console while we run.
	pass, _ := console.ReadPassword(filepath.Join(e.dir, "state", console.PasswordName))
	if code, out := get(t, "http://"+e.g.ConsoleAddr()+"/held", console.DefaultUser, pass); code != 200 || !strings.Contains(out, heldJobs(t, e)[0].MsgID) || !strings.Contains(out, "from <c@customer.test>") {
		t.Errorf("GET /held: %d %q", code, out)
	}
	e.upstream.FailRcpt("support@mail.internal.example.com", nil)
	if err := e.g.Reload(e.g.Cfg.Get()); err != nil {
		t.Fatal(err)
	}
	if got := e.upstream.Wait(1, 10*time.Second); len(got) != 1 {
		t.Fatalf("upstream got %d after the reload", len(got))
	}
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
	if dsnsTo(e, "c@customer.test") != 0 {
		t.Error("DSN sent")
	}
}

// No DSN to an envelope sender whose SPF failed, or to a message that
// failed DMARC: it would go to whoever the forger named (backscatter).
// A sender that passed still gets one for the same refusal.
func TestNoDSNToForgedSender(t *testing.T) {
	dns := authtest.NewDNS(t)
	dns.TXT("good.test", "v=spf1 ip4:127.0.0.1 -all")
	dns.TXT("spfonly.test", "v=spf1 ip4:192.0.2.1 -all")
	dns.TXT("dmarcd.test", "v=spf1 ?all")
	dns.TXT("_dmarc.dmarcd.test", "v=DMARC1; p=reject")
	e := newEnv(t, "[autoreply]\nenabled = false\n[auth]\nautoreply = \"not-fail\"\ntimeout = \"1s\"\nresolver = \""+dns.Addr()+"\"\n")
	// The message itself is refused (a sender-side failure: a DSN case).
	e.upstream.FailData(3, &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "content refused"})
	for _, s := range []struct{ from, hdrFrom string }{
		{"v@spfonly.test", "v@spfonly.test"}, // SPF -all: fail
		{"w@dmarcd.test", "w@dmarcd.test"},   // SPF neutral, no DKIM: DMARC fail
		{"g@good.test", "g@good.test"},       // passes: gets its DSN
	} {
		if err := send(t, e.g.SMTPAddr(), s.from, []string{"support@example.com"}, plainMsg(s.hdrFrom, "support@example.com", "Subject from "+s.from, "x")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return dsnsTo(e, "g@good.test") == 1 }, "the authenticated sender's DSN")
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
	for _, f := range []string{"v@spfonly.test", "w@dmarcd.test"} {
		if n := dsnsTo(e, f); n != 0 {
			t.Errorf("%d DSNs to the forged sender %s", n, f)
		}
	}
	if n := len(e.smarthost.Messages()); n != 1 {
		t.Errorf("smarthost got %d messages, want only the one DSN", n)
	}
}

// An LMTP mailbox server that takes the message for one target and
// answers "mailbox full" for the other after DATA: a mailbox status of
// ours, so held (no DSN), and after a reload only that target gets it.
func TestLMTPMailboxFullIsHeld(t *testing.T) {
	up := mailtest.Start(t, true)
	full := &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 2, 2}, Message: "Mailbox is full"}
	up.FailDataRcpt("b@mail.internal.example.com", full)
	e := &env{t: t, dir: t.TempDir(), upstream: up, smarthost: mailtest.Start(t, false)}
	cfg := baseConfig(e.dir, up.Addr(), e.smarthost.Addr(), "\n[auth]\nautoreply = \"off\"\n[autoreply]\nenabled = false\n")
	cfg = strings.Replace(cfg, "[upstream]\n", "[upstream]\nprotocol = \"lmtp\"\n", 1)
	cfg = strings.Replace(cfg, `forward_to = ["support@mail.internal.example.com"]`, `forward_to = ["a@mail.internal.example.com", "b@mail.internal.example.com"]`, 1)
	e.startText(cfg)
	if err := send(t, e.g.SMTPAddr(), "c@customer.test", []string{"support@example.com"}, plainMsg("c@customer.test", "support@example.com", "s", "x")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(heldJobs(t, e)) == 1 }, "held for the full mailbox")
	if got := up.Messages(); len(got) != 1 || strings.Join(got[0].Rcpts, ",") != "a@mail.internal.example.com" {
		t.Fatalf("first delivery: %+v", got)
	}
	up.FailDataRcpt("b@mail.internal.example.com", nil)
	if err := e.g.Reload(e.g.Cfg.Get()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
	got := up.Messages()
	if len(got) != 2 || strings.Join(got[1].Rcpts, ",") != "b@mail.internal.example.com" {
		t.Fatalf("after the reload: %d deliveries, last to %v; want only b@ again", len(got), got[len(got)-1].Rcpts)
	}
	if dsnsTo(e, "c@customer.test") != 0 {
		t.Error("DSN for a full mailbox of ours")
	}
}
