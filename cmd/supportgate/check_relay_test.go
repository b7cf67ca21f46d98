package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/mailtest"
	"supportgate/senderauth/authtest"
	"supportgate/store"
)

// check -online tries each forward_to at the upstream: a refused one is
// named by its key; nothing is delivered.
func TestCheckOnlineProbesForwardTo(t *testing.T) {
	up := mailtest.Start(t, false)
	up.FailRcpt("gone@mail.internal.test", mailtest.Perm)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:2525", up.Addr())
	text, _ := os.ReadFile(cfg)
	withFwd := strings.Replace(string(text), "address = \"support@example.com\"\n",
		"address = \"support@example.com\"\nforward_to = [\"ok@mail.internal.test\", \"gone@mail.internal.test\"]\n", 1)
	os.WriteFile(cfg, []byte(withFwd), 0o600)
	code, out, errs := cli("check", "-online", "-config", cfg)
	if code != 1 || !strings.Contains(errs, "mailbox[0].forward_to: gone@mail.internal.test refused") || !strings.Contains(errs, "550 5.1.1") {
		t.Fatalf("refused forward_to: %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "takes ok@mail.internal.test") {
		t.Errorf("the accepted target is not reported: %s", out)
	}
	if n := len(up.Messages()); n != 0 {
		t.Errorf("the probe delivered %d messages", n)
	}
	up.FailRcpt("gone@mail.internal.test", nil)
	if code, out, errs := cli("check", "-online", "-config", cfg); code != 0 {
		t.Errorf("all targets taken: %d\n%s\n%s", code, out, errs)
	}
}

// A smarthost password with tls = "none" to a non-loopback address is
// refused by check, naming the key; serve loads the same way.
func TestCheckRefusesPasswordInClear(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:2525", "127.0.0.1:2526")
	os.WriteFile(filepath.Join(dir, "pw"), []byte("s3cret\n"), 0o600)
	text, _ := os.ReadFile(cfg)
	bad := strings.Replace(string(text), "[outbound]\naddress = ", "[outbound]\nusername = \"gw\"\npassword_file = \"pw\"\naddress = ", 1)
	bad = strings.Replace(bad, "password_file = \"pw\"\naddress = \"127.0.0.1:", "password_file = \"pw\"\naddress = \"smtp.example.net:", 1)
	if !strings.Contains(bad, "smtp.example.net") {
		t.Fatal("test config not rewritten")
	}
	os.WriteFile(cfg, []byte(bad), 0o600)
	code, _, errs := cli("check", "-config", cfg)
	if code != 1 || !strings.Contains(errs, "outbound.tls") || !strings.Contains(errs, "in clear") || strings.Contains(errs, "s3cret") {
		t.Fatalf("password in clear: %d %s", code, errs)
	}
	if code := cmdServe([]string{"-config", cfg}, &strings.Builder{}, &strings.Builder{}); code != 1 {
		t.Errorf("serve started with a password in clear (exit %d)", code)
	}
}

// Five problems, type errors among them: check reports all five.
func TestCheckReportsFiveMixedErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(`
[smtp]
listen = "127.0.0.1:2525"
hostname = "mx.example.com"
max_message_bytes = "25MB"
[http]
listen = "127.0.0.1:2525"
[upstream]
address = "mail.internal:25"
protocol = "imap"
[outbound]
address = "smtp.example.com:587"
[queue]
workers = "8"
[[mailbox]]
address = "support@example.com"
forward_to = ["not an address"]
`), 0o600)
	code, _, errs := cli("check", "-config", cfg)
	if code != 1 || !strings.Contains(errs, "5 problem(s)") {
		t.Fatalf("want 5 problems: %d\n%s", code, errs)
	}
	for _, k := range []string{"smtp.max_message_bytes (line 5)", "queue.workers (line 14)", "http.listen", "upstream.protocol", "mailbox[0].forward_to[0]"} {
		if !strings.Contains(errs, k) {
			t.Errorf("%s not reported:\n%s", k, errs)
		}
	}
}

// explain -ip with a trusted relay's address checks the client named in
// the relay's Received: line, and says so.
func TestExplainBehindTrustedRelay(t *testing.T) {
	dns := authtest.NewDNS(t)
	dns.TXT("customer.test", "v=spf1 ip4:192.0.2.10 -all")
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:2525", "127.0.0.1:2526")
	text, _ := os.ReadFile(cfg)
	s := strings.Replace(string(text), `hostname = "mx.crash.test"`, "hostname = \"mx.crash.test\"\ntrusted_relays = [\"10.1.2.0/24\"]", 1)
	s += "[auth]\nresolver = \"" + dns.Addr() + "\"\ntimeout = \"1s\"\n"
	os.WriteFile(cfg, []byte(s), 0o600)
	msg := filepath.Join(dir, "m.eml")
	os.WriteFile(msg, []byte("Received: from mail.customer.test (mail.customer.test [192.0.2.10])\r\n\tby mx.company.test (Postfix) with ESMTPS id 4X; Tue, 1 Dec 2026 10:00:00 +0000\r\n"+
		"From: c@customer.test\r\nTo: support@example.com\r\nSubject: hi\r\nMessage-ID: <e1@customer.test>\r\n\r\nhello\r\n"), 0o600)
	code, out, errs := cli("explain", "-config", cfg, "-ip", "10.1.2.3", "-helo", "mx.company.test", "-from", "c@customer.test", msg)
	if code != 0 || !strings.Contains(out, "client:      192.0.2.10 (HELO mail.customer.test), from the Received: line of trusted relay 10.1.2.3") ||
		!strings.Contains(out, "spf=pass") || !strings.Contains(out, "for 192.0.2.10") {
		t.Fatalf("explain behind a relay: %d\n%s\n%s", code, out, errs)
	}
	// The same message from an untrusted address: that address is checked.
	code, out, _ = cli("explain", "-config", cfg, "-ip", "198.51.100.1", "-from", "c@customer.test", msg)
	if code != 0 || strings.Contains(out, "client:") || !strings.Contains(out, "spf=fail") {
		t.Fatalf("untrusted -ip: %d\n%s", code, out)
	}
}

// supportgate held lists a held message and drops it.
func TestHeldCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:2525", "127.0.0.1:2526")
	st, err := store.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	m := &store.Message{ID: store.NewID(), From: "c@customer.test", Rcpts: []string{"support@example.com"}, Received: time.Now(), Inline: true}
	if err := st.Update(func(tx *bolt.Tx) error {
		if err := store.PutBody(tx, m.ID, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
			return err
		}
		return store.PutMessage(tx, m, &store.Job{Kind: "forward"})
	}); err != nil {
		t.Fatal(err)
	}
	jobs, err := st.Claim(time.Now(), 1, func(int) time.Duration { return time.Minute })
	if err != nil || len(jobs) != 1 {
		t.Fatal(err, len(jobs))
	}
	if err := st.Hold(jobs[0], "upstream refuses support@mail.internal: 550 5.1.1 no such user", nil); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errs := cli("held", "-config", cfg)
	if code != 0 || !strings.Contains(out, m.ID) || !strings.Contains(out, "550 5.1.1") {
		t.Fatalf("held list: %d %s %s", code, out, errs)
	}
	if code, out, errs := cli("held", "-config", cfg, "-drop", m.ID); code != 0 || !strings.Contains(out, "dropped") {
		t.Fatalf("drop: %d %s %s", code, out, errs)
	}
	if code, out, _ := cli("held", "-config", cfg); code != 0 || !strings.Contains(out, "no held messages") {
		t.Fatalf("after drop: %d %s", code, out)
	}
	st, _ = store.Open(filepath.Join(dir, "state"))
	defer st.Close()
	if all, _ := st.Jobs(); len(all) != 0 {
		t.Errorf("%d jobs left", len(all))
	}
}

// While the gateway runs (and holds the database), held lists through
// its console instead of failing on the lock; -drop still wants it
// stopped.
func TestHeldWhileRunning(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, freePort(t), freePort(t))
	runGateway(t, cfg)
	code, out, errs := cli("held", "-config", cfg)
	if code != 0 || !strings.Contains(out, "no held messages") {
		t.Fatalf("held with the gateway running: %d %q %q", code, out, errs)
	}
	if code, _, errs := cli("held", "-config", cfg, "-drop", "nope"); code == 0 || !strings.Contains(errs, "stop the gateway") {
		t.Errorf("held -drop with the gateway running: %d %q", code, errs)
	}
}
