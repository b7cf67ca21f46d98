package senderauth

import (
	"testing"

	"github.com/emersion/go-msgauth/authres"
)

const (
	pass = authres.ResultPass
	fail = authres.ResultFail
	soft = authres.ResultSoftFail
	none = authres.ResultNone
	temp = authres.ResultTempError
	perm = authres.ResultPermError
)

func sig(v authres.ResultValue, d string) []Signature {
	return []Signature{{Value: v, Domain: d, Selector: "s"}}
}

func TestVerdict(t *testing.T) {
	cases := []struct {
		name       string
		spf        authres.ResultValue
		mailFrom   string // domain
		sigs       []Signature
		dmarc      authres.ResultValue
		notFail    string // "" = allow; ReasonTempError allows too under not-fail
		passPolicy string
	}{
		{"all pass", pass, "example.org", sig(pass, "example.org"), pass, "", ""},
		{"DMARC fail", pass, "other.net", nil, fail, ReasonFail, ReasonFail},
		{"DMARC temperror", pass, "example.org", nil, temp, ReasonTempError, ReasonTempError},
		{"no DMARC, SPF pass", pass, "example.org", nil, none, "", ReasonNone},
		{"no DMARC, SPF none", none, "example.org", nil, none, "", ReasonNone},
		{"no DMARC, SPF fail", fail, "example.org", nil, none, ReasonFail, ReasonNone},
		{"no DMARC, SPF softfail", soft, "example.org", nil, none, ReasonFail, ReasonNone},
		{"no DMARC, SPF temperror", temp, "example.org", nil, none, ReasonTempError, ReasonNone},
		{"no DMARC, SPF permerror", perm, "example.org", nil, none, "", ReasonNone},
		{"broken DMARC record falls back to SPF", fail, "example.org", nil, perm, ReasonFail, ReasonNone},
		// Forwarded mail: SPF breaks, the signature of the sender's org survives.
		{"SPF fail, DKIM pass same org", fail, "example.org", sig(pass, "mail.example.org"), none, "", ReasonNone},
		{"SPF fail, DKIM temperror same org", fail, "example.org", sig(temp, "example.org"), none, ReasonTempError, ReasonNone},
		{"SPF fail, DKIM pass other org", fail, "example.org", sig(pass, "evil.example"), none, ReasonFail, ReasonNone},
		{"SPF none, DKIM temperror", none, "example.org", sig(temp, "example.org"), none, "", ReasonNone},
		// From signed by the forger, reply aimed at a victim's MAIL FROM.
		{"DMARC pass for From, MAIL FROM forged", fail, "victim.example", sig(pass, "evil.example"), pass, ReasonFail, ReasonFail},
		{"DMARC pass for From, MAIL FROM unproven", none, "victim.example", sig(pass, "evil.example"), pass, "", ReasonNone},
		{"DMARC pass, SPF temperror other org", temp, "victim.example", sig(pass, "evil.example"), pass, ReasonTempError, ReasonTempError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Result{SPF: tc.spf, SPFDomain: tc.mailFrom, Signatures: tc.sigs, DKIM: bestDKIM(tc.sigs), DMARC: tc.dmarc}
			for _, p := range []struct{ policy, want string }{
				{PolicyNotFail, tc.notFail},
				{"", tc.notFail},
				{PolicyPass, tc.passPolicy},
				{"bogus", tc.passPolicy},
				{PolicyOff, ""},
			} {
				allow, why := Verdict(r, p.policy)
				wantAllow := p.want == "" || (p.want == ReasonTempError && (p.policy == PolicyNotFail || p.policy == ""))
				if allow != wantAllow || why != p.want {
					t.Errorf("Verdict(%q) = %v %q, want %q", p.policy, allow, why, p.want)
				}
			}
		})
	}
}

func TestRejectAtSMTP(t *testing.T) {
	cases := []struct {
		dmarc  authres.ResultValue
		policy string
		pct    int
		want   bool
	}{
		{fail, "reject", 100, true},
		{fail, "quarantine", 100, false},
		{fail, "none", 100, false},
		{fail, "reject", 50, false},
		{temp, "reject", 100, false},
		{pass, "reject", 100, false},
		{none, "", 0, false},
	}
	for _, tc := range cases {
		r := Result{DMARC: tc.dmarc, DMARCPolicy: tc.policy, DMARCPercent: tc.pct}
		if got := RejectAtSMTP(r); got != tc.want {
			t.Errorf("RejectAtSMTP(%s, p=%s, pct=%d) = %v", tc.dmarc, tc.policy, tc.pct, got)
		}
	}
}

func TestValidPolicy(t *testing.T) {
	for _, p := range []string{"", "pass", "not-fail", "off"} {
		if !ValidPolicy(p) {
			t.Errorf("ValidPolicy(%q) = false", p)
		}
	}
	if ValidPolicy("notfail") {
		t.Error(`ValidPolicy("notfail") = true`)
	}
}

// End to end through the fake DNS: forged, authenticated and unlucky mail.
func TestCheckThenVerdict(t *testing.T) {
	w := newWorld(t)
	w.standardZone()
	w.dns.Fail("_dmarc.flaky.example")
	w.dns.TXT("flaky.example", "v=spf1 ip4:192.0.2.10 -all")

	cases := []struct {
		name     string
		ip       []byte
		mailFrom string
		msg      string
		want     string
	}{
		{"genuine", goodIP, "a@example.org", message("a@example.org"), ""},
		{"forged sender, domain with DMARC", badIP, "a@example.org", message("a@example.org"), ReasonFail},
		{"forged sender, domain without DMARC", badIP, "a@nodmarc.net", message("a@nodmarc.net"), ReasonFail},
		{"forwarded, DKIM survives", badIP, "a@nodmarc.net",
			w.sign(message("a@nodmarc.net"), "nodmarc.net", "sel", w.key), ""},
		{"DNS trouble", goodIP, "a@flaky.example", message("a@flaky.example"), ReasonTempError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := w.check(tc.ip, tc.mailFrom, tc.msg)
			if allow, why := Verdict(r, PolicyNotFail); allow != (tc.want == "" || tc.want == ReasonTempError) || why != tc.want {
				t.Errorf("Verdict = %v %q, want %q; reasons %q", allow, why, tc.want, r.Reasons)
			}
		})
	}
}
