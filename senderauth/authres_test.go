package senderauth

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"
)

func TestStripOwnResults(t *testing.T) {
	keep := []string{
		"Received: from client.example by mx.test\r\n",
		"Authentication-Results: other.example; spf=pass smtp.mailfrom=mx.test\r\n",
		"Authentication-Results: mx.test.evil.example; spf=pass\r\n",
		"ARC-Authentication-Results: i=1; mx.test; spf=pass\r\n",
		"authentication-results: dkim=none (message not signed) header.d=none\r\n",
		"Subject: a folded\r\n subject line\r\n",
		"X-Weird:no-space\r\n",
	}
	drop := []string{
		"Authentication-Results: mx.test; spf=pass smtp.mailfrom=a@example.org\r\n",
		"authentication-results: MX.TEST.;\r\n\tdkim=pass header.d=evil.example\r\n",
		"Authentication-Results: (forged) mx.test 1;\r\n none\r\n",
		"Authentication-Results: \"mx.test\"; none\r\n",
		"Authentication-Results :\r\n  mx.test; dmarc=pass header.from=example.org\r\n",
	}
	body := "\r\nAuthentication-Results: mx.test; spf=pass\r\nin the body, untouched\r\n"

	var in, want bytes.Buffer
	for i := range max(len(keep), len(drop)) {
		if i < len(drop) {
			in.WriteString(drop[i])
		}
		if i < len(keep) {
			in.WriteString(keep[i])
			want.WriteString(keep[i])
		}
	}
	in.WriteString(body)
	want.WriteString(body)

	got := StripOwnResults(in.Bytes(), "Mx.Test")
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("got:\n%s\nwant:\n%s", got, want.Bytes())
	}

	// Bare LF line ends, as go-smtp may hand them over.
	lf := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }
	if got := StripOwnResults(lf(in.Bytes()), "mx.test"); !bytes.Equal(got, lf(want.Bytes())) {
		t.Errorf("LF input: got:\n%s\nwant:\n%s", got, lf(want.Bytes()))
	}
}

func TestStripOwnResultsNoMatch(t *testing.T) {
	in := []byte("From: a@example.org\r\nAuthentication-Results: other; none\r\n\r\nbody")
	if got := StripOwnResults(in, "mx.test"); !bytes.Equal(got, in) {
		t.Errorf("changed a header with nothing of ours: %q", got)
	}
	if got := StripOwnResults(in, ""); !bytes.Equal(got, in) {
		t.Errorf("an empty id stripped something: %q", got)
	}
	// A header block without the blank line, ending in our field.
	in = []byte("From: a@example.org\r\nAuthentication-Results: mx.test; none")
	if got := string(StripOwnResults(in, "mx.test")); got != "From: a@example.org\r\n" {
		t.Errorf("got %q", got)
	}
}

func TestAuthservIDOf(t *testing.T) {
	for in, want := range map[string]string{
		"mx.test; spf=pass":             "mx.test",
		"  mx.test 1; none":             "mx.test",
		"(a (nested) comment) mx.test;": "mx.test",
		`"mx.test"; none`:               "mx.test",
		"mx.test(comment); none":        "mx.test",
		"dkim=none header.d=none":       "dkim=none",
		"":                              "",
		"(unclosed":                     "",
	} {
		if got := authservIDOf(in); got != want {
			t.Errorf("authservIDOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// The field we write must be one CRLF-terminated, folded line that
// authres.Parse reads back to the same results.
func TestHeaderParsesBack(t *testing.T) {
	r := Result{
		AuthservID: "mx.test",
		SPF:        authres.ResultPass, MailFrom: "a@example.org", SPFDomain: "example.org",
		DKIM: authres.ResultPass,
		Signatures: []Signature{
			{Value: authres.ResultPass, Domain: "example.org", Selector: "sel", Identifier: "@example.org"},
			{Value: authres.ResultFail, Domain: "other.net", Selector: "s2"},
		},
		DMARC: authres.ResultPass, FromDomain: "example.org",
	}
	h := r.Header("")
	if !strings.HasPrefix(h, "Authentication-Results: mx.test;\r\n\t") || !strings.HasSuffix(h, "\r\n") {
		t.Fatalf("bad field: %q", h)
	}
	for _, line := range strings.Split(strings.TrimSuffix(h, "\r\n"), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line longer than 78: %q", line)
		}
	}
	// A header must not end early: no blank line, no bare CR or LF.
	if strings.Contains(h, "\r\n\r\n") || strings.Count(h, "\n") != strings.Count(h, "\r\n") {
		t.Errorf("bad line ends: %q", h)
	}

	id, results := parseField(t, h)
	if id != "mx.test" || len(results) != 4 {
		t.Fatalf("parsed %q %d results: %#v", id, len(results), results)
	}
	spf, ok := results[0].(*authres.SPFResult)
	if !ok || spf.Value != authres.ResultPass || spf.From != "a@example.org" {
		t.Errorf("spf = %#v", results[0])
	}
	d1, ok := results[1].(*authres.DKIMResult)
	if !ok || d1.Value != authres.ResultPass || d1.Domain != "example.org" || d1.Identifier != "@example.org" {
		t.Errorf("dkim 1 = %#v", results[1])
	}
	if !strings.Contains(h, "header.s=sel") {
		t.Errorf("no selector in %q", h)
	}
	if d2, ok := results[2].(*authres.DKIMResult); !ok || d2.Value != authres.ResultFail || d2.Domain != "other.net" {
		t.Errorf("dkim 2 = %#v", results[2])
	}
	if dm, ok := results[3].(*authres.DMARCResult); !ok || dm.Value != authres.ResultPass || dm.From != "example.org" {
		t.Errorf("dmarc = %#v", results[3])
	}

	// What a forger controls must not break the field.
	r = Result{
		SPF: authres.ResultNone, Helo: "evil\r\nX-Injected: 1", MailFrom: "",
		DKIM: authres.ResultNone, DMARC: authres.ResultPermError,
	}
	h = r.Header("mx.test")
	if strings.Contains(h, "Injected") {
		t.Errorf("sender data leaked into the field: %q", h)
	}
	if id, results = parseField(t, h); id != "mx.test" || len(results) != 3 {
		t.Errorf("parsed %q %#v", id, results)
	}
	r.MailFrom, r.SPFDomain = `"a;b c"@example.org`, "example.org"
	if h = r.Header("mx.test"); !strings.Contains(h, "smtp.mailfrom=example.org;") {
		t.Errorf("odd MAIL FROM not reduced to its domain: %q", h)
	}
}

func parseField(t *testing.T, h string) (string, []authres.Result) {
	t.Helper()
	name, value, ok := strings.Cut(h, ":")
	if !ok || name != "Authentication-Results" {
		t.Fatalf("no field name in %q", h)
	}
	value = strings.NewReplacer("\r\n\t", " ", "\r\n", "").Replace(value)
	id, results, err := authres.Parse(value)
	if err != nil {
		t.Fatalf("authres.Parse(%q): %v", value, err)
	}
	return id, results
}

// Our own field, once written, is what StripOwnResults removes.
func TestHeaderThenStrip(t *testing.T) {
	r := Result{AuthservID: "mx.test", SPF: authres.ResultPass, MailFrom: "a@example.org",
		DKIM: authres.ResultNone, DMARC: authres.ResultNone}
	msg := []byte(r.Header("") + "From: a@example.org\r\n\r\nhi\r\n")
	if got := string(StripOwnResults(msg, "mx.test")); got != "From: a@example.org\r\n\r\nhi\r\n" {
		t.Errorf("got %q", got)
	}
}
