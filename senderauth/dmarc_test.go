package senderauth

import (
	"testing"

	"github.com/emersion/go-msgauth/authres"
)

func TestDMARC(t *testing.T) {
	w := newWorld(t)
	w.standardZone()
	d := w.dns
	d.Fail("_dmarc.broken.example")
	d.TXT("broken.example", "v=spf1 ip4:192.0.2.10 -all")
	d.Fail("spfbroken.example")
	d.TXT("_dmarc.spfbroken.example", "v=DMARC1; p=reject")
	d.TXT("_dmarc.bad.example", "v=DMARC1; p=bogus")
	d.TXT("bad.example", "v=spf1 ip4:192.0.2.10 -all")
	d.TXT("_dmarc.two.example", "v=DMARC1; p=none", "v=DMARC1; p=reject")
	d.TXT("two.example", "v=spf1 ip4:192.0.2.10 -all")
	d.TXT("_dmarc.half.example", "v=DMARC1; p=reject; pct=50")
	d.TXT("half.example", "v=spf1 -all")

	signedOrg := w.sign(message("a@example.org"), "example.org", "sel", w.key)
	cases := []struct {
		name     string
		ip       []byte
		mailFrom string
		msg      string
		want     authres.ResultValue
		policy   string
		reject   bool
	}{
		{"pass by SPF", goodIP, "a@example.org", message("a@example.org"), authres.ResultPass, "reject", false},
		{"pass by DKIM with SPF fail", badIP, "a@example.org", signedOrg, authres.ResultPass, "reject", false},
		{"fail: SPF pass for another domain", goodIP, "a@other.net", message("a@example.org"), authres.ResultFail, "reject", true},
		{"fail: DKIM pass for another domain", badIP, "a@example.org",
			w.sign(message("a@example.org"), "other.net", "sel", w.key), authres.ResultFail, "reject", true},
		{"none: no record", goodIP, "a@nodmarc.net", message("a@nodmarc.net"), authres.ResultNone, "", false},
		{"temperror: record lookup", goodIP, "a@broken.example", message("a@broken.example"), authres.ResultTempError, "", false},
		{"temperror: aligned SPF", goodIP, "a@spfbroken.example", message("a@spfbroken.example"), authres.ResultTempError, "reject", false},
		{"permerror: bad record", goodIP, "a@bad.example", message("a@bad.example"), authres.ResultPermError, "", false},
		{"permerror: two records", goodIP, "a@two.example", message("a@two.example"), authres.ResultPermError, "", false},
		{"pct below 100 never rejects", goodIP, "a@half.example", message("a@half.example"), authres.ResultFail, "reject", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := w.check(tc.ip, tc.mailFrom, tc.msg)
			if r.DMARC != tc.want || r.DMARCPolicy != tc.policy {
				t.Errorf("DMARC = %q policy %q, want %q policy %q; reasons %q",
					r.DMARC, r.DMARCPolicy, tc.want, tc.policy, r.Reasons)
			}
			if got := RejectAtSMTP(r); got != tc.reject {
				t.Errorf("RejectAtSMTP = %v, want %v", got, tc.reject)
			}
		})
	}
}

func TestDMARCAlignment(t *testing.T) {
	w := newWorld(t)
	w.standardZone()
	d := w.dns
	// example.com: relaxed; strict.example: aspf=s and adkim=s.
	d.TXT("_dmarc.example.com", "v=DMARC1; p=reject")
	d.TXT("_dmarc.strict.example", "v=DMARC1; p=reject; aspf=s; adkim=s")
	for _, dom := range []string{"bounce.example.com", "bounce.strict.example", "strict.example"} {
		d.TXT(dom, "v=spf1 ip4:192.0.2.10 -all")
	}
	w.publishKey("mail.example.com", "sel", w.key)
	w.publishKey("mail.strict.example", "sel", w.key)
	w.publishKey("strict.example", "sel", w.key)

	cases := []struct {
		name     string
		ip       []byte
		mailFrom string
		msg      string
		want     authres.ResultValue
	}{
		{"relaxed SPF: subdomain MAIL FROM", goodIP, "b@bounce.example.com", message("a@example.com"), authres.ResultPass},
		{"strict SPF: subdomain MAIL FROM", goodIP, "b@bounce.strict.example", message("a@strict.example"), authres.ResultFail},
		{"strict SPF: same domain", goodIP, "b@strict.example", message("a@strict.example"), authres.ResultPass},
		{"relaxed DKIM: subdomain d=", badIP, "b@x.invalid",
			w.sign(message("a@example.com"), "mail.example.com", "sel", w.key), authres.ResultPass},
		{"strict DKIM: subdomain d=", badIP, "b@x.invalid",
			w.sign(message("a@strict.example"), "mail.strict.example", "sel", w.key), authres.ResultFail},
		{"strict DKIM: same d=", badIP, "b@x.invalid",
			w.sign(message("a@strict.example"), "strict.example", "sel", w.key), authres.ResultPass},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := w.check(tc.ip, tc.mailFrom, tc.msg)
			if r.DMARC != tc.want {
				t.Errorf("DMARC = %q, want %q; reasons %q", r.DMARC, tc.want, r.Reasons)
			}
		})
	}
}

// A From subdomain without its own record uses the organizational
// domain's, and its sp= when there is one.
func TestDMARCOrgFallback(t *testing.T) {
	w := newWorld(t)
	w.dns.TXT("_dmarc.example.org", "v=DMARC1; p=quarantine; sp=reject")
	w.dns.TXT("sub.example.org", "v=spf1 ip4:192.0.2.10 -all")

	r := w.check(badIP, "a@sub.example.org", message("a@sub.example.org"))
	if r.FromDomain != "sub.example.org" || r.DMARC != authres.ResultFail || r.DMARCPolicy != "reject" {
		t.Errorf("got from %q DMARC %q policy %q, want sub.example.org fail reject; reasons %q",
			r.FromDomain, r.DMARC, r.DMARCPolicy, r.Reasons)
	}
	if n := w.dns.Queries("_dmarc.sub.example.org"); n == 0 {
		t.Error("the From domain's own record was not looked up first")
	}

	r = w.check(goodIP, "a@sub.example.org", message("a@sub.example.org"))
	if r.DMARC != authres.ResultPass {
		t.Errorf("DMARC = %q, want pass; reasons %q", r.DMARC, r.Reasons)
	}

	// The organizational domain itself gets p=, not sp=.
	w.dns.TXT("example.org", "v=spf1 -all")
	r = w.check(goodIP, "a@example.org", message("a@example.org"))
	if r.DMARCPolicy != "quarantine" {
		t.Errorf("policy = %q, want quarantine", r.DMARCPolicy)
	}

	// A temporary failure for the From domain's record is not "no record".
	w.dns.Fail("_dmarc.tmp.example.org")
	r = w.check(goodIP, "a@sub.example.org", message("a@tmp.example.org"))
	if r.DMARC != authres.ResultTempError {
		t.Errorf("DMARC = %q, want temperror", r.DMARC)
	}
}

func TestOrgDomain(t *testing.T) {
	for in, want := range map[string]string{
		"example.org":                "example.org",
		"a.b.example.org":            "example.org",
		"mail.example.co.uk":         "example.co.uk",
		"Mail.Example.COM.":          "example.com",
		"co.uk":                      "co.uk",
		"localhost":                  "localhost",
		"x.y.blogspot.com":           "y.blogspot.com",
		"почта.пример.рф":            "пример.рф",
		"mail.xn--e1afmkfd.xn--p1ai": "xn--e1afmkfd.xn--p1ai",
	} {
		if got := orgDomain(in); got != want {
			t.Errorf("orgDomain(%q) = %q, want %q", in, got, want)
		}
	}
}
