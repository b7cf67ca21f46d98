package rules

import (
	"mime"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Compile-time: net/textproto headers fit; net/mail headers via MapHeader.
var (
	_ Header = textproto.MIMEHeader{}
	_ Header = MapHeader(mail.Header{})
)

// loadEML parses a testdata message into an Input the way the SMTP side
// will: envelope from Return-Path, one RCPT to support@example.com.
func loadEML(t testing.TB, name string) Input {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	dec := mime.WordDecoder{}
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("%s: subject: %v", name, err)
	}
	in := Input{
		EnvelopeFrom:  strings.Trim(msg.Header.Get("Return-Path"), "<> "),
		EnvelopeRcpts: []string{"support@example.com"},
		Header:        MapHeader(msg.Header),
		Subject:       subject,
	}
	if from, err := msg.Header.AddressList("From"); err == nil && len(from) > 0 {
		in.FromAddr = from[0].Address
	}
	if rt, err := msg.Header.AddressList("Reply-To"); err == nil && len(rt) > 0 {
		in.ReplyTo = rt[0].Address
	}
	addrs := func(k string) []string {
		l, _ := msg.Header.AddressList(k)
		out := []string{} // non-nil: "parsed, maybe empty"
		for _, a := range l {
			out = append(out, a.Address)
		}
		return out
	}
	in.To, in.Cc = addrs("To"), addrs("Cc")
	if mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type")); err == nil {
		in.ContentType, in.ReportType = mt, params["report-type"]
	}
	return in
}

func testPolicy() Policy {
	return Policy{
		OwnAddresses:     []string{"support@example.com", "help@example.com", "robot@mx.example.com"},
		ExcludeDomains:   []string{"partner.example.com"},
		ExcludeAddresses: []string{"ceo@client.example"},
		TeamDomains:      []string{"example.com"},
		LoopID:           "supportgate@mx.example.com",
		TrustSpamHeaders: true,
		AuthPolicy:       AuthPolicyNotFail,
	}
}

func TestDecideTable(t *testing.T) {
	type mod func(*Input, *Policy)
	known := func(in *Input, _ *Policy) { in.ThreadKnown = true }
	from := func(a string) mod {
		return func(in *Input, _ *Policy) { in.EnvelopeFrom, in.FromAddr = a, a }
	}
	tests := []struct {
		name, file string
		mod        mod
		want       Decision
	}{
		{"person", "person.eml", nil, Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"outlook oof", "outlook-oof.eml", nil, Decision{Reason: ReasonAutoSubmitted, Task: TaskNone, Robot: true}},
		{"outlook oof in thread", "outlook-oof.eml", known, Decision{Reason: ReasonAutoSubmitted, Task: TaskComment, Robot: true}},
		{"gmail vacation", "gmail-vacation.eml", nil, Decision{Reason: ReasonAutoSubmitted, Task: TaskNone, Robot: true}},
		{"mailman", "mailman-list.eml", nil, Decision{Reason: ReasonPrecedence, Task: TaskNone, Robot: true}},
		{"google groups", "google-groups.eml", nil, Decision{Reason: ReasonList, Task: TaskNone, Robot: true}},
		{"postfix bounce", "postfix-bounce.eml", nil, Decision{Reason: ReasonNullSender, Task: TaskNone, Robot: true}},
		{"postfix bounce in thread", "postfix-bounce.eml", known, Decision{Reason: ReasonNullSender, Task: TaskComment, Robot: true}},
		{"exchange ndr", "exchange-ndr.eml", nil, Decision{Reason: ReasonNullSender, Task: TaskNone, Robot: true}},
		// A DSN from a real sender address is still a report (case 15).
		{"ndr with sender", "exchange-ndr.eml", func(in *Input, _ *Policy) { in.EnvelopeFrom = "bounce@corp.example" },
			Decision{Reason: ReasonReport, Task: TaskNone, Robot: true}},
		// Content type from the header when the caller leaves it empty.
		{"ndr header only", "exchange-ndr.eml", func(in *Input, _ *Policy) {
			in.EnvelopeFrom, in.ContentType, in.ReportType = "bounce@corp.example", "", ""
		}, Decision{Reason: ReasonReport, Task: TaskNone, Robot: true}},
		{"read receipt", "mdn.eml", nil, Decision{Reason: ReasonReport, Task: TaskNone, Robot: true}},
		{"dmarc aggregate", "dmarc-report.eml", nil, Decision{Reason: ReasonReport, Task: TaskNone, Robot: true}},
		{"yandex autoreply", "yandex-autoreply.eml", nil, Decision{Reason: ReasonAutoSubmitted, Task: TaskNone, Robot: true}},
		{"mail.ru autoreply", "mailru-autoreply.eml", known, Decision{Reason: ReasonAutoSubmitted, Task: TaskComment, Robot: true}},
		{"x-autoreply", "x-autoreply.eml", nil, Decision{Reason: ReasonVendorAutoreply, Task: TaskNone, Robot: true}},
		{"noreply", "noreply.eml", nil, Decision{Reason: ReasonNoreply, Task: TaskCreate}},
		{"newsletter", "newsletter.eml", nil, Decision{Reason: ReasonList, Task: TaskNone, Robot: true}},
		{"xars all", "xars-all.eml", nil, Decision{Reason: ReasonXARS, Task: TaskCreate}},
		{"xars all in thread", "xars-all.eml", known, Decision{Reason: ReasonXARS, Task: TaskComment}},
		{"xars oof", "xars-oof.eml", nil, Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"xars dr rn", "xars-dr-rn.eml", nil, Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"xars none", "xars-none.eml", nil, Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"auto-submitted no", "auto-submitted-no.eml", nil, Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"excluded domain", "person.eml", from("boss@partner.example.com"), Decision{Reason: ReasonExcludedDomain, Task: TaskCreate}},
		{"excluded subdomain", "person.eml", from("a@eu.Partner.Example.com"), Decision{Reason: ReasonExcludedDomain, Task: TaskCreate}},
		{"look-alike domain", "person.eml", func(in *Input, p *Policy) {
			from("a@notpartner.example.com")(in, p)
			p.TeamDomains = nil // example.com would match first
		}, Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"excluded address", "person.eml", from("CEO@client.example"), Decision{Reason: ReasonExcludedAddress, Task: TaskCreate}},
		{"team", "person.eml", from("anna@example.com"), Decision{Reason: ReasonTeam, Task: TaskCreate}},
		{"bcc copy", "bcc.eml", nil, Decision{Reason: ReasonNotAddressed, Task: TaskCreate}},
		{"alias in cc", "bcc.eml", func(in *Input, _ *Policy) { in.Cc = []string{"Help@Example.com"} },
			Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"own address", "person.eml", from("support@example.com"), Decision{Reason: ReasonOwnAddress, Task: TaskCreate}},
		{"own tagged address", "person.eml", from("support+t12@example.com"), Decision{Reason: ReasonOwnAddress, Task: TaskCreate}},
		{"x-loop", "x-loop.eml", known, Decision{Reason: ReasonLoop, Task: TaskNone, Robot: true}},
		{"spam trusted", "spam.eml", nil, Decision{Reason: ReasonSpam, Task: TaskCreate}},
		{"spam untrusted", "spam.eml", func(_ *Input, p *Policy) { p.TrustSpamHeaders = false },
			Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"rate limit", "person.eml", func(in *Input, _ *Policy) { in.SenderRecentReplies = 3 },
			Decision{Reason: ReasonRateLimit, Task: TaskCreate}},
		{"under rate limit", "person.eml", func(in *Input, _ *Policy) { in.SenderRecentReplies = 2 },
			Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"custom rate limit", "person.eml", func(in *Input, p *Policy) { in.SenderRecentReplies, p.MaxPerSender = 9, 10 },
			Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"no rate limit", "person.eml", func(in *Input, p *Policy) { in.SenderRecentReplies, p.MaxPerSender = 1000, -1 },
			Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"known thread", "person.eml", known, Decision{Reason: ReasonKnownThread, Task: TaskComment}},
		{"answers specialist", "person.eml", func(in *Input, _ *Policy) { in.AnswersSpecialist = true },
			Decision{Reason: ReasonAnswersSpecialist, Task: TaskCreate}},
		// postmaster is a robot for us (docs/CONTRACT.md §5), although RFC 5230 calls it human.
		{"postmaster", "postmaster.eml", nil, Decision{Reason: ReasonRobotSender, Task: TaskNone, Robot: true}},
		{"m365 forward", "m365-forward.eml", nil, Decision{Reason: ReasonForwardedByRule, Task: TaskCreate}},
		{"m365 forward replied", "m365-forward.eml", func(_ *Input, p *Policy) { p.ReplyToForwardedRules = true },
			Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"no message-id", "person.eml", func(in *Input, _ *Policy) {
			h := MapHeader{}
			for k, v := range in.Header.(MapHeader) {
				h[k] = v
			}
			delete(h, "Message-Id")
			in.Header = h
		}, Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"no from", "person.eml", func(in *Input, _ *Policy) { in.FromAddr = "" }, Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"no destination fields at all", "person.eml", func(in *Input, _ *Policy) {
			h := MapHeader{}
			for k, v := range in.Header.(MapHeader) {
				if k != "To" && k != "Cc" {
					h[k] = v
				}
			}
			in.Header, in.To, in.Cc = h, nil, nil
		}, Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"auth fail", "person.eml", func(in *Input, _ *Policy) { in.Auth = AuthVerdict{Result: AuthFail, Reason: "dmarc=fail"} },
			Decision{Reason: ReasonAuthFail, Task: TaskCreate}},
		{"auth temperror", "person.eml", func(in *Input, _ *Policy) { in.Auth.Result = AuthTempError },
			Decision{Reason: ReasonAuthTempError, Task: TaskCreate}},
		{"auth pass policy unknown", "person.eml", func(_ *Input, p *Policy) { p.AuthPolicy = AuthPolicyPass },
			Decision{Reason: ReasonAuthNone, Task: TaskCreate}},
		{"auth pass policy pass", "person.eml", func(in *Input, p *Policy) { p.AuthPolicy, in.Auth.Result = "PASS", AuthPass },
			Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"auth off", "person.eml", func(in *Input, p *Policy) { p.AuthPolicy, in.Auth.Result = AuthPolicyOff, AuthFail },
			Decision{AutoReply: true, Reason: ReasonReply, Task: TaskCreate}},
		{"auth typo is strict", "person.eml", func(_ *Input, p *Policy) { p.AuthPolicy = "notfail" },
			Decision{Reason: ReasonAuthNone, Task: TaskCreate}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, p := loadEML(t, tc.file), testPolicy()
			if tc.mod != nil {
				tc.mod(&in, &p)
			}
			if got := Decide(in, p); got != tc.want {
				t.Errorf("Decide(%s) = %+v (task %v), want %+v (task %v)", tc.file, got, got.Task, tc.want, tc.want.Task)
			}
		})
	}
}

// hdr builds a header from "Key: value" lines, keeping repeats.
func hdr(lines ...string) Header {
	h := textproto.MIMEHeader{}
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ":")
		h.Add(k, strings.TrimSpace(v))
	}
	return h
}

func personInput(h Header) Input {
	return Input{
		EnvelopeFrom: "kate@client.example", EnvelopeRcpts: []string{"support@example.com"},
		Header: h, FromAddr: "kate@client.example", To: []string{"support@example.com"},
		Subject: "Question",
	}
}

// TestRobotHeaders covers cases 4-7 and 12-13 of docs/autoreply-rules.md §7: every header form alone.
func TestRobotHeaders(t *testing.T) {
	const mid = "Message-ID: <x@client.example>"
	tests := []struct {
		line, reason string
	}{
		{"Auto-Submitted: auto-replied", ReasonAutoSubmitted},
		{"Auto-Submitted: auto-generated", ReasonAutoSubmitted},
		{"Auto-Submitted: auto-notified", ReasonAutoSubmitted},
		{"Auto-Submitted: auto-replied (vacation)", ReasonAutoSubmitted},
		{"Auto-Submitted: AUTO-REPLIED", ReasonAutoSubmitted},
		{"Auto-Submitted: auto-replied; owner-email=a@b", ReasonAutoSubmitted},
		{"Auto-Submitted: No", ""},
		{"Auto-Submitted: no (person)", ""},
		{"Precedence: bulk", ReasonPrecedence},
		{"Precedence: list", ReasonPrecedence},
		{"Precedence: junk", ReasonPrecedence},
		{"Precedence: Junk", ReasonPrecedence},
		{"X-Precedence: auto_reply", ReasonPrecedence},
		{"Precedence: first-class", ""},
		{"X-Autoreply: yes", ReasonVendorAutoreply},
		{"X-Autorespond: on", ReasonVendorAutoreply},
		{"X-Autogenerated: Reply", ReasonVendorAutoreply},
		{"X-Autogenerated: Forward", ""},
		{"X-Failed-Recipients: a@b.example", ReasonReport},
	}
	for _, name := range listHeaders {
		tests = append(tests, struct{ line, reason string }{name + ": <x>", ReasonList})
	}
	for _, tc := range tests {
		d := Decide(personInput(hdr(mid, tc.line)), testPolicy())
		robot := tc.reason != ""
		if d.Robot != robot || (robot && (d.Reason != tc.reason || d.Task != TaskNone || d.AutoReply)) ||
			(!robot && !d.AutoReply) {
			t.Errorf("%q: got %+v, want robot=%v reason %q", tc.line, d, robot, tc.reason)
		}
	}
}

// Every instance counts: a leading "no" does not hide a later robot value.
func TestRobotEveryInstance(t *testing.T) {
	h := hdr("Message-ID: <x@y>", "Auto-Submitted: no", "Auto-Submitted: auto-generated")
	if d := Decide(personInput(h), testPolicy()); d.Reason != ReasonAutoSubmitted {
		t.Errorf("got %+v", d)
	}
	h = hdr("Message-ID: <x@y>", "Precedence: normal", "Precedence: bulk")
	if d := Decide(personInput(h), testPolicy()); d.Reason != ReasonPrecedence {
		t.Errorf("got %+v", d)
	}
}

func TestRobotSenders(t *testing.T) {
	for a, want := range map[string]string{
		"MAILER-DAEMON@mx.client.example": ReasonRobotSender,
		"postmaster@client.example":       ReasonRobotSender,
		"owner-devs@lists.example":        ReasonRobotSender,
		"devs-request@lists.example":      ReasonRobotSender,
		"LISTSERV@lists.example":          ReasonRobotSender,
		"noreply@shop.example":            ReasonNoreply,
		"no-reply@shop.example":           ReasonNoreply,
		"do_not_reply@shop.example":       ReasonNoreply,
		"bounces+x=y@esp.example":         ReasonNoreply,
		"replyto@shop.example":            ReasonReply,
		"ownerx@shop.example":             ReasonReply,
	} {
		in := personInput(hdr("Message-ID: <x@y>"))
		in.EnvelopeFrom, in.FromAddr = a, a
		d := Decide(in, testPolicy())
		if d.Reason != want || d.Robot != (want == ReasonRobotSender) {
			t.Errorf("%s: got %+v, want %s", a, d, want)
		}
	}
}

func TestSuppressXARS(t *testing.T) {
	for v, stop := range map[string]bool{
		"All": true, "all": true, "DR, OOF, AutoReply": true, "-1": true,
		"OOF": false, "DR, RN": false, "None": false, "DR,NDR,RN,NRN": false,
	} {
		d := Decide(personInput(hdr("Message-ID: <x@y>", "X-Auto-Response-Suppress: "+v)), testPolicy())
		if d.AutoReply == stop || d.Robot || d.Task != TaskCreate {
			t.Errorf("XARS %q: got %+v, want stop=%v with a task", v, d, stop)
		}
	}
}

func TestSuppressAutoSubject(t *testing.T) {
	for s, stop := range map[string]bool{
		"Automatic reply: Invoice":            true,
		"[External] Automatic reply: Invoice": true,
		"Auto: away":                          true,
		"Автоответ: Отпуск":                   true,
		"Out of Office: back Monday":          true,
		"Problem with my autoreply settings":  false,
		"Note: meeting":                       false,
	} {
		in := personInput(hdr("Message-ID: <x@y>"))
		in.Subject = s
		if d := Decide(in, testPolicy()); d.AutoReply == stop {
			t.Errorf("%q: got %+v", s, d)
		}
	}
}

// Resent-* and Bcc headers count as addressed; a nil To/Cc falls back to
// the header fields.
func TestDecideAddressedHeaders(t *testing.T) {
	in := personInput(hdr("Message-ID: <x@y>", "Resent-To: Support <support@example.com>"))
	in.To = []string{"other@client.example"}
	if d := Decide(in, testPolicy()); !d.AutoReply {
		t.Errorf("resent-to: %+v", d)
	}
	in = personInput(hdr("Message-ID: <x@y>", "To: \"Help\" <help@example.com>"))
	in.To = nil
	if d := Decide(in, testPolicy()); !d.AutoReply {
		t.Errorf("header to: %+v", d)
	}
}

func TestDecideNilHeader(t *testing.T) {
	in := personInput(nil)
	if d := Decide(in, testPolicy()); d.Reason != ReasonReply {
		t.Errorf("got %+v", d)
	}
	in.EnvelopeFrom = "<>"
	if d := Decide(in, Policy{}); d.Reason != ReasonNullSender || d.Task != TaskNone {
		t.Errorf("got %+v", d)
	}
}

// Every code Decide returns must be documented, once.
func TestDecisionReasons(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons {
		if seen[r.Code] || r.Meaning == "" {
			t.Errorf("reason %q duplicated or undocumented", r.Code)
		}
		seen[r.Code] = true
	}
	src, err := os.ReadFile("decide.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(src), "\n") {
		name, val, ok := strings.Cut(strings.TrimSpace(line), "= \"")
		if ok && strings.HasPrefix(name, "Reason") && !seen[strings.TrimSuffix(val, "\"")] {
			t.Errorf("%s missing from Reasons", strings.TrimSpace(name))
		}
	}
	for _, s := range []string{TaskNone.String(), TaskCreate.String(), TaskComment.String()} {
		if s == "" {
			t.Error("empty TaskAction string")
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	in, p := loadEML(b, "outlook-oof.eml"), testPolicy()
	person := loadEML(b, "person.eml")
	b.ReportAllocs()
	for b.Loop() {
		Decide(in, p)
		Decide(person, p)
	}
}
