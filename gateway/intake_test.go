package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"supportgate/mailtest"
)

func TestForwardBytesEqual(t *testing.T) {
	e := newEnv(t, "")
	// Odd but legal content: 8-bit UTF-8, a dot-leading line, long line.
	body := "Привет!\r\n.leading dot\r\n" + strings.Repeat("x", 990) + "\r\nend"
	msg := plainMsg("Alice <alice@customer.test>", "support@example.com", "Printer", body)
	if err := send(t, e.g.SMTPAddr(), "alice@customer.test", []string{"Support@Example.com"}, msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := e.upstream.Wait(1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("upstream got %d messages, want 1", len(got))
	}
	m := got[0]
	if m.From != "alice@customer.test" || len(m.Rcpts) != 1 || m.Rcpts[0] != "support@mail.internal.example.com" {
		t.Errorf("envelope = %q → %q", m.From, m.Rcpts)
	}
	if !bytes.HasPrefix(m.Data, []byte("Received: from client.test ([127.0.0.1])\r\n\tby mx.test.example (supportgate) with ESMTP id ")) {
		t.Errorf("no Received: first:\n%.200s", m.Data)
	}
	i := bytes.Index(m.Data, []byte("From: Alice"))
	if i < 0 || string(m.Data[i:]) != msg {
		t.Errorf("forwarded body differs from what was sent:\n%q\nwant\n%q", m.Data[max(i, 0):], msg)
	}
	// The spool is emptied once the last job is done.
	waitFor(t, func() bool { return spoolCount(t, e) == 0 }, "spool emptied")
}

func TestQueueIDInReply(t *testing.T) {
	e := newEnv(t, "")
	c, err := smtp.Dial(e.g.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Mail("a@customer.test", nil)
	c.Rcpt("support@example.com", nil)
	w, _ := c.Data()
	w.Write([]byte(plainMsg("a@customer.test", "support@example.com", "x", "y")))
	resp, err := w.CloseWithResponse()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^(2\.0\.0 )?OK: queued as [0-9a-z]{16,}$`).MatchString(resp.StatusText) {
		t.Errorf("250 text = %q, want the queue id", resp.StatusText)
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t, "")
	cases := []struct {
		name  string
		rcpt  string
		size  int
		param int64
		code  int
		enh   smtp.EnhancedCode
	}{
		{"foreign recipient", "someone@elsewhere.test", 10, 0, 550, smtp.EnhancedCode{5, 1, 1}},
		{"our domain, no mailbox", "ceo@example.com", 10, 0, 550, smtp.EnhancedCode{5, 1, 1}},
		{"no domain", "support", 10, 0, 501, smtp.EnhancedCode{}},
		{"too big while streaming", "support@example.com", 1100000, 0, 552, smtp.EnhancedCode{5, 3, 4}},
		{"too big by SIZE=", "support@example.com", 10, 2000000, 552, smtp.EnhancedCode{5, 3, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := smtp.Dial(e.g.SMTPAddr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var opts *smtp.MailOptions
			if tc.param > 0 {
				opts = &smtp.MailOptions{Size: tc.param}
			}
			err = c.Mail("a@customer.test", opts)
			if err == nil {
				err = c.Rcpt(tc.rcpt, nil)
			}
			if err == nil {
				var w interface {
					Write([]byte) (int, error)
					Close() error
				}
				w, err = c.Data()
				if err == nil {
					w.Write([]byte("Subject: big\r\n\r\n"))
					line := strings.Repeat("a", 998) + "\r\n"
					for n := 0; n < tc.size; n += len(line) {
						w.Write([]byte(line))
					}
					err = w.Close()
				}
			}
			var se *smtp.SMTPError
			if !errors.As(err, &se) || se.Code != tc.code || (tc.enh != smtp.EnhancedCode{} && se.EnhancedCode != tc.enh) {
				t.Fatalf("got %v, want %d %v", err, tc.code, tc.enh)
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(e.upstream.Messages()); n != 0 {
		t.Errorf("upstream got %d messages from refused transactions", n)
	}
	if n := spoolCount(t, e); n != 0 {
		t.Errorf("%d spool files left by refused messages", n)
	}
}

func TestUpstreamDownThenUpDeliversOnce(t *testing.T) {
	// Reserve a port, close it: the upstream is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e := &env{t: t, dir: t.TempDir(), smarthost: mailtest.Start(t, false)}
	e.start("", addr)
	if err := send(t, e.g.SMTPAddr(), "bob@customer.test", []string{"sales@example.com"}, plainMsg("bob@customer.test", "sales@example.com", "hi", "x")); err != nil {
		t.Fatal(err)
	}
	// A few failed attempts happen while it is down.
	waitFor(t, func() bool { return jobAttempts(t, e, "forward") >= 2 }, "two failed attempts")
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	up := mailtest.StartOn(t, ln, false)
	got := up.Wait(1, 5*time.Second)
	time.Sleep(1200 * time.Millisecond) // room for a wrong second copy
	got = up.Messages()
	if len(got) != 1 {
		t.Fatalf("upstream got %d copies, want exactly 1", len(got))
	}
	if got[0].Rcpts[0] != "sales@example.com" {
		t.Errorf("forward_to default: got %v, want the mailbox itself", got[0].Rcpts)
	}
}

func TestUpstreamTempFailRetries(t *testing.T) {
	e := newEnv(t, "")
	e.upstream.FailData(2, mailtest.Temp)
	if err := send(t, e.g.SMTPAddr(), "c@customer.test", []string{"support@example.com"}, plainMsg("c@customer.test", "support@example.com", "s", "b")); err != nil {
		t.Fatal(err)
	}
	if got := e.upstream.Wait(1, 5*time.Second); len(got) != 1 {
		t.Fatalf("got %d after two 451s, want 1", len(got))
	}
	for _, m := range e.smarthost.Messages() {
		if bytes.Contains(m.Data, []byte("multipart/report")) {
			t.Errorf("a temporary failure sent a DSN")
		}
	}
}

// A refusal of the message itself (here at MAIL: the sender) is the
// sender's to know: a DSN. (A refused forward_to is ours: held_test.go.)
func TestUpstream5xxSendsDSN(t *testing.T) {
	e := newEnv(t, "[autoreply]\nenabled = false\n")
	e.upstream.FailMail(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "no such user policy at mail.internal.example.com"})
	if err := send(t, e.g.SMTPAddr(), "dora@customer.test", []string{"support@example.com"}, plainMsg("dora@customer.test", "support@example.com", "lost", "b")); err != nil {
		t.Fatal(err)
	}
	got := e.smarthost.Wait(1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("smarthost got %d messages, want the DSN", len(got))
	}
	d := got[0]
	if d.From != "" || len(d.Rcpts) != 1 || d.Rcpts[0] != "dora@customer.test" {
		t.Errorf("DSN envelope %q → %v, want <> → the sender", d.From, d.Rcpts)
	}
	for _, want := range []string{"multipart/report", "report-type=delivery-status", "Final-Recipient: rfc822; support@example.com",
		"Action: failed", "Status: 5.7.1", "550 5.7.1", "Subject: lost"} {
		if !bytes.Contains(d.Data, []byte(want)) {
			t.Errorf("DSN lacks %q:\n%s", want, d.Data)
		}
	}
	// The internal mailbox and its server's words stay inside.
	for _, leak := range []string{"mail.internal.example.com", "no such user"} {
		if bytes.Contains(d.Data, []byte(leak)) {
			t.Errorf("DSN shows %q", leak)
		}
	}
	// A null sender gets none (never bounce a bounce).
	if err := send(t, e.g.SMTPAddr(), "", []string{"support@example.com"}, plainMsg("MAILER-DAEMON@x.test", "support@example.com", "bounce", "b")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(e.smarthost.Messages()); n != 1 {
		t.Errorf("smarthost got %d messages; a bounce was bounced", n)
	}
}

// A message over store.InlineMax streams to a spool file; it is forwarded
// intact and the file goes once delivered.
func TestLargeMessageSpooledToFile(t *testing.T) {
	e := newEnv(t, "[autoreply]\nenabled = false\n")
	var b strings.Builder
	for i := 0; b.Len() < 600<<10; i++ {
		fmt.Fprintf(&b, "line %06d %s\r\n", i, strings.Repeat("z", 60))
	}
	msg := plainMsg("big@customer.test", "support@example.com", "big", b.String())
	if err := send(t, e.g.SMTPAddr(), "big@customer.test", []string{"support@example.com"}, msg); err != nil {
		t.Fatal(err)
	}
	got := e.upstream.Wait(1, 5*time.Second)
	if len(got) != 1 || !bytes.HasSuffix(got[0].Data, []byte(msg)) {
		t.Fatalf("large message not forwarded intact (%d msgs)", len(got))
	}
	waitFor(t, func() bool { return spoolCount(t, e) == 0 }, "spool file removed")
}

// The upstream drops idle sessions we keep pooled: the next forward
// still goes through at once on a fresh connection.
func TestPooledConnectionDropped(t *testing.T) {
	e := &env{t: t, dir: t.TempDir(), upstream: mailtest.Start(t, false), smarthost: mailtest.Start(t, false)}
	// Retries far apart: only a redial can make the 2 s bound below.
	e.startText(strings.Replace(baseConfig(e.dir, e.upstream.Addr(), e.smarthost.Addr(), "[auth]\nautoreply = \"off\"\n[autoreply]\nenabled = false\n"),
		`retry_initial = "100ms"
retry_max = "400ms"`, `retry_initial = "20s"
retry_max = "40s"`, 1))
	if err := send(t, e.g.SMTPAddr(), "a@customer.test", []string{"support@example.com"}, plainMsg("a@customer.test", "support@example.com", "one", "x")); err != nil {
		t.Fatal(err)
	}
	e.upstream.Wait(1, 5*time.Second)
	time.Sleep(200 * time.Millisecond) // the session goes back to the pool
	// Restart the upstream on the same port: pooled sessions die.
	addr := e.upstream.Addr()
	e.upstream.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port taken: %v", err)
	}
	up := mailtest.StartOn(t, ln, false)
	start := time.Now()
	if err := send(t, e.g.SMTPAddr(), "b@customer.test", []string{"support@example.com"}, plainMsg("b@customer.test", "support@example.com", "two", "x")); err != nil {
		t.Fatal(err)
	}
	if got := up.Wait(1, 5*time.Second); len(got) != 1 {
		t.Fatal("second message not forwarded")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("forward took %v: it waited for a retry instead of redialling", took)
	}
}

// The smarthost wants AUTH: replies go out with the username and the
// password from password_file.
func TestSmarthostAuth(t *testing.T) {
	e := &env{t: t, dir: t.TempDir(), upstream: mailtest.Start(t, false), smarthost: mailtest.Start(t, false)}
	e.smarthost.RequireAuth("supportgate", "s3cret")
	pass := filepath.Join(e.dir, "smarthost.pass")
	os.WriteFile(pass, []byte("s3cret\n"), 0o600)
	e.startText(strings.Replace(baseConfig(e.dir, e.upstream.Addr(), e.smarthost.Addr(), "[auth]\nautoreply = \"off\"\n"),
		"tls = \"none\"", "tls = \"none\"\nusername = \"supportgate\"\npassword_file = \""+pass+"\"", 1))
	if err := send(t, e.g.SMTPAddr(), "au@customer.test", []string{"support@example.com"}, plainMsg("au@customer.test", "support@example.com", "auth", "x")); err != nil {
		t.Fatal(err)
	}
	if got := e.smarthost.Wait(1, 5*time.Second); len(got) != 1 || got[0].Rcpts[0] != "au@customer.test" {
		t.Fatalf("reply through the authenticating smarthost: %d", len(got))
	}
}

// An internationalised sender (RFC 6531) is accepted and forwarded with
// SMTPUTF8.
func TestSMTPUTF8Sender(t *testing.T) {
	e := newEnv(t, "[autoreply]\nenabled = false\n")
	c, err := smtp.Dial(e.g.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("иван@пример.рф", &smtp.MailOptions{UTF8: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("support@example.com", nil); err != nil {
		t.Fatal(err)
	}
	w, _ := c.Data()
	w.Write([]byte("From: иван@пример.рф\r\nTo: support@example.com\r\nSubject: utf8\r\n\r\nПривет\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := e.upstream.Wait(1, 5*time.Second)
	if len(got) != 1 || got[0].From != "иван@пример.рф" {
		t.Fatalf("forwarded: %+v", got)
	}
}
