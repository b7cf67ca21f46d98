package gateway

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"supportgate/mailtest"
	"supportgate/rules"
)

// replies returns the auto-replies the smarthost got (not DSNs).
func replies(e *env) []mailtest.Msg {
	var out []mailtest.Msg
	for _, m := range e.smarthost.Messages() {
		if bytes.Contains(m.Data, []byte("Auto-Submitted: auto-replied")) && !bytes.Contains(m.Data, []byte("multipart/report")) {
			out = append(out, m)
		}
	}
	return out
}

func header(t *testing.T, m mailtest.Msg) mail.Header {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	return r.Header
}

func TestAutoReplyToSenderOnly(t *testing.T) {
	e := newEnv(t, "")
	msg := "From: \"Иван Петров\" <ivan@customer.test>\r\nTo: support@example.com\r\nCc: boss@customer.test, colleague@other.test\r\n" +
		"Subject: =?utf-8?B?0J3QtSDQv9C10YfQsNGC0LDQtdGCINC/0YDQuNC90YLQtdGA?=\r\nMessage-ID: <q1@customer.test>\r\n\r\nHelp\r\n"
	start := time.Now()
	if err := send(t, e.g.SMTPAddr(), "ivan@customer.test", []string{"support@example.com"}, msg); err != nil {
		t.Fatal(err)
	}
	e.smarthost.Wait(1, 5*time.Second)
	took := time.Since(start)
	rs := replies(e)
	if len(rs) != 1 {
		t.Fatalf("%d replies, want 1", len(rs))
	}
	if took > time.Second {
		t.Errorf("reply took %v, want under a second", took)
	}
	r := rs[0]
	if r.From != "" || len(r.Rcpts) != 1 || r.Rcpts[0] != "ivan@customer.test" {
		t.Errorf("envelope %q → %v; want <> → the sender only", r.From, r.Rcpts)
	}
	h := header(t, r)
	if irt, _ := h.MsgIDList("In-Reply-To"); len(irt) != 1 || irt[0] != "q1@customer.test" {
		t.Errorf("In-Reply-To = %v", irt)
	}
	if subj, _ := h.Subject(); subj != "Re: Не печатает принтер" {
		t.Errorf("Subject = %q", subj)
	}
	to, _ := h.AddressList("To")
	if len(to) != 1 || to[0].Address != "ivan@customer.test" {
		t.Errorf("To = %v; the Cc must not be in it", to)
	}
	if cc := h.Get("Cc"); cc != "" {
		t.Errorf("reply has Cc %q", cc)
	}
	id, _ := h.MessageID()
	if !strings.HasSuffix(id, "@mx.test.example") {
		t.Errorf("Message-ID %q not on our hostname", id)
	}
	if !bytes.Contains(r.Data, []byte("multipart/related")) || !bytes.Contains(r.Data, []byte("cid:")) {
		t.Errorf("reply is not related(alternative, logo)")
	}
	// Neither the contacts file nor the CRM knows him: the greeting
	// uses his From name, a person's (issue 10), not his address.
	if !bytes.Contains(decodedHTML(t, r), []byte("Здравствуйте, Иван Петров!")) {
		t.Errorf("greeting without the From name:\n%s", decodedHTML(t, r))
	}

	// The customer answers our reply: known thread, no second reply.
	reply := "From: ivan@customer.test\r\nTo: support@example.com\r\nSubject: Re: x\r\nMessage-ID: <q2@customer.test>\r\nIn-Reply-To: <" + id + ">\r\nReferences: <q1@customer.test> <" + id + ">\r\n\r\nthanks\r\n"
	if err := send(t, e.g.SMTPAddr(), "ivan@customer.test", []string{"support@example.com"}, reply); err != nil {
		t.Fatal(err)
	}
	e.upstream.Wait(2, 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	if n := len(replies(e)); n != 1 {
		t.Errorf("%d replies after the customer answered ours, want still 1", n)
	}
}

func decodedHTML(t *testing.T, m mailtest.Msg) []byte {
	r, err := mail.CreateReader(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for {
		p, err := r.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p.Body)
		all = append(all, b...)
	}
	return all
}

// Each kind of message that must get no auto-reply, end to end. Every one
// is still forwarded.
func TestNoAutoReply(t *testing.T) {
	e := newEnv(t, "[rules]\nexclude_domains = [\"partner.test\"]\nexclude_addresses = [\"ceo@customer.test\"]\n")
	cases := []struct{ name, from, msg string }{
		{"null sender", "", "From: MAILER-DAEMON@x.test\r\nTo: support@example.com\r\nSubject: Undelivered\r\nMessage-ID: <n1@x.test>\r\n\r\nbounce\r\n"},
		{"auto-submitted", "ooo@customer.test", "From: ooo@customer.test\r\nTo: support@example.com\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <n2@customer.test>\r\n\r\naway\r\n"},
		{"list", "news@list.test", "From: news@list.test\r\nTo: support@example.com\r\nSubject: News\r\nList-Id: <news.list.test>\r\nMessage-ID: <n3@list.test>\r\n\r\nnews\r\n"},
		{"precedence bulk", "promo@shop.test", "From: promo@shop.test\r\nTo: support@example.com\r\nSubject: Sale\r\nPrecedence: bulk\r\nMessage-ID: <n4@shop.test>\r\n\r\nsale\r\n"},
		{"excluded subdomain", "a@mail.partner.test", "From: a@mail.partner.test\r\nTo: support@example.com\r\nSubject: Hi\r\nMessage-ID: <n5@partner.test>\r\n\r\nhi\r\n"},
		{"excluded address", "ceo@customer.test", "From: ceo@customer.test\r\nTo: support@example.com\r\nSubject: Hi\r\nMessage-ID: <n6@customer.test>\r\n\r\nhi\r\n"},
		{"noreply", "noreply@service.test", "From: noreply@service.test\r\nTo: support@example.com\r\nSubject: Your order\r\nMessage-ID: <n7@service.test>\r\n\r\norder\r\n"},
		{"bcc only", "b@customer.test", "From: b@customer.test\r\nTo: someone@customer.test\r\nSubject: fyi\r\nMessage-ID: <n8@customer.test>\r\n\r\nfyi\r\n"},
		{"x-auto-response-suppress", "c@customer.test", "From: c@customer.test\r\nTo: support@example.com\r\nSubject: q\r\nX-Auto-Response-Suppress: All\r\nMessage-ID: <n9@customer.test>\r\n\r\nq\r\n"},
		{"read receipt", "d@customer.test", "From: d@customer.test\r\nTo: support@example.com\r\nSubject: Read: q\r\nMessage-ID: <n10@customer.test>\r\nContent-Type: multipart/report; report-type=disposition-notification; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nread\r\n--b--\r\n"},
	}
	for _, tc := range cases {
		if err := send(t, e.g.SMTPAddr(), tc.from, []string{"support@example.com"}, tc.msg); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	if got := e.upstream.Wait(len(cases), 5*time.Second); len(got) != len(cases) {
		t.Fatalf("forwarded %d of %d", len(got), len(cases))
	}
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
	if rs := replies(e); len(rs) != 0 {
		for _, r := range rs {
			t.Errorf("unexpected reply to %v", r.Rcpts)
		}
	}
}

func TestSenderRateLimit(t *testing.T) {
	e := newEnv(t, "[autoreply]\nmax_per_sender = 2\n")
	for i := range 4 {
		msg := "From: loop@customer.test\r\nTo: support@example.com\r\nSubject: again " + string(rune('a'+i)) + "\r\nMessage-ID: <r" + string(rune('a'+i)) + "@customer.test>\r\n\r\nx\r\n"
		if err := send(t, e.g.SMTPAddr(), "loop@customer.test", []string{"support@example.com"}, msg); err != nil {
			t.Fatal(err)
		}
	}
	e.upstream.Wait(4, 5*time.Second)
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
	if n := len(replies(e)); n != 2 {
		t.Errorf("%d replies to one sender, want max_per_sender = 2", n)
	}
}

func TestDuplicateMessageOneReply(t *testing.T) {
	e := newEnv(t, "")
	msg := plainMsg("dup@customer.test", "support@example.com", "twice", "x")
	for range 2 { // a client that lost our 250 sends again
		if err := send(t, e.g.SMTPAddr(), "dup@customer.test", []string{"support@example.com"}, msg); err != nil {
			t.Fatal(err)
		}
	}
	e.upstream.Wait(2, 5*time.Second)
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
	if n := len(replies(e)); n != 1 {
		t.Errorf("%d replies to a message delivered twice, want 1", n)
	}
}

// A specialist wrote to the customer from their own mail client; the MTA
// copied it to the journal address. The customer's answer gets no reply.
func TestReplyToJournaledSpecialistGetsNone(t *testing.T) {
	e := newEnv(t, "[rules]\njournal_address = \"journal@example.com\"\nteam_domains = [\"example.com\"]\n")
	spec := "From: Olga <olga@example.com>\r\nTo: kate@customer.test\r\nSubject: Your printer\r\nMessage-ID: <spec1@mx.other-team.test>\r\n\r\nTry again\r\n"
	if err := send(t, e.g.SMTPAddr(), "olga@example.com", []string{"journal@example.com"}, spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "journal processed")
	ans := "From: kate@customer.test\r\nTo: support@example.com\r\nSubject: Re: Your printer\r\nMessage-ID: <k1@customer.test>\r\nIn-Reply-To: <spec1@mx.other-team.test>\r\n\r\nworks now\r\n"
	if err := send(t, e.g.SMTPAddr(), "kate@customer.test", []string{"support@example.com"}, ans); err != nil {
		t.Fatal(err)
	}
	e.upstream.Wait(1, 5*time.Second)
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
	if n := len(replies(e)); n != 0 {
		t.Errorf("%d replies to an answer to a specialist", n)
	}
	// The journal copy itself is not forwarded.
	for _, m := range e.upstream.Messages() {
		if bytes.Contains(m.Data, []byte("spec1@")) && !bytes.Contains(m.Data, []byte("In-Reply-To")) {
			t.Errorf("journal copy forwarded upstream")
		}
	}
}

func TestReloadTakesEffect(t *testing.T) {
	e := newEnv(t, "")
	path := e.g.Cfg.Get().Path
	text, _ := os.ReadFile(path)
	text = append(text, []byte("\n[rules]\nexclude_domains = [\"later.test\"]\n")...)
	os.WriteFile(path, text, 0o600)
	c, err := rules.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.g.Reload(c); err != nil {
		t.Fatal(err)
	}
	if err := send(t, e.g.SMTPAddr(), "x@later.test", []string{"support@example.com"}, plainMsg("x@later.test", "support@example.com", "hi", "b")); err != nil {
		t.Fatal(err)
	}
	e.upstream.Wait(1, 5*time.Second)
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
	if n := len(replies(e)); n != 0 {
		t.Errorf("excluded after reload, still %d replies", n)
	}
	// A template that does not parse is refused and the old one stays.
	bad := filepathJoin(t.TempDir(), "bad.html")
	os.WriteFile(bad, []byte("<p>{{.Nope</p>"), 0o600)
	c2 := *c
	c2.Autoreply.Template = bad
	if err := e.g.Reload(&c2); err == nil || !strings.Contains(err.Error(), "autoreply.template") {
		t.Errorf("broken template reload: %v", err)
	}
	if err := send(t, e.g.SMTPAddr(), "y@fine.test", []string{"support@example.com"}, plainMsg("y@fine.test", "support@example.com", "hi", "b")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(replies(e)) == 1 }, "reply with the old template")
}

// A bare message from a script or test tool (no From, To or Message-ID)
// from a real envelope sender is a person's request: forwarded, answered.
func TestMinimalMessageGetsReply(t *testing.T) {
	e := newEnv(t, "")
	if err := send(t, e.g.SMTPAddr(), "script@customer.test", []string{"support@example.com"}, "Subject: hi\r\n\r\nbody\r\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(replies(e)) == 1 }, "auto-reply")
	if r := replies(e)[0]; r.Rcpts[0] != "script@customer.test" || bytes.Contains(r.Data, []byte("In-Reply-To")) {
		t.Errorf("reply to %v, or with an In-Reply-To it cannot have", r.Rcpts)
	}
}

func TestRestartKeys(t *testing.T) {
	a := rules.Defaults()
	b := a
	b.SMTP.MaxMessageBytes = 1
	b.Rules.ExcludeDomains = []string{"x.test"}
	b.SMTP.Listen = "127.0.0.1:2526"
	b.Queue.Workers = 3
	got := strings.Join(restartKeys(&a, &b), ",")
	if got != "smtp.listen,queue.workers" {
		t.Errorf("restartKeys = %q", got)
	}
}
