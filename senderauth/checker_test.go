package senderauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"
)

func TestSPF(t *testing.T) {
	w := newWorld(t)
	w.standardZone()
	w.dns.Fail("broken.example.net")
	w.dns.TXT("neutral.example.net", "v=spf1 ?all")

	cases := []struct {
		name, from string
		ip         []byte
		want       authres.ResultValue
	}{
		{"pass", "a@example.org", goodIP, authres.ResultPass},
		{"fail", "a@example.org", badIP, authres.ResultFail},
		{"softfail", "a@soft.example.org", badIP, authres.ResultSoftFail},
		{"neutral", "a@neutral.example.net", badIP, authres.ResultNeutral},
		{"none", "a@nospf.example.net", goodIP, authres.ResultNone},
		{"temperror", "a@broken.example.net", goodIP, authres.ResultTempError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := w.check(tc.ip, tc.from, message(tc.from))
			if r.SPF != tc.want {
				t.Errorf("SPF = %q, want %q; reasons %q", r.SPF, tc.want, r.Reasons)
			}
		})
	}
}

func TestSPFNullSenderUsesHelo(t *testing.T) {
	w := newWorld(t)
	w.dns.TXT("client.example", "v=spf1 ip4:192.0.2.10 -all")
	r := w.check(goodIP, "", message("a@example.org"))
	if r.SPF != authres.ResultPass || r.SPFDomain != "client.example" {
		t.Errorf("SPF = %q for %q, want pass for client.example", r.SPF, r.SPFDomain)
	}
}

func TestDKIM(t *testing.T) {
	w := newWorld(t)
	w.standardZone()
	w.dns.Fail("broken._domainkey.example.org")

	signed := w.sign(message("a@example.org"), "example.org", "sel", w.key)
	cases := []struct {
		name string
		msg  string
		want authres.ResultValue
	}{
		{"pass", signed, authres.ResultPass},
		{"fail", strings.Replace(signed, "it broke.", "it is fine.", 1), authres.ResultFail},
		{"none", message("a@example.org"), authres.ResultNone},
		{"temperror", w.sign(message("a@example.org"), "example.org", "broken", w.key), authres.ResultTempError},
		{"permerror (no key)", w.sign(message("a@example.org"), "example.org", "nokey", w.key), authres.ResultPermError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := w.check(goodIP, "a@example.org", tc.msg)
			if r.DKIM != tc.want {
				t.Errorf("DKIM = %q, want %q; reasons %q", r.DKIM, tc.want, r.Reasons)
			}
		})
	}

	r := w.check(goodIP, "a@example.org", signed)
	if len(r.Signatures) != 1 {
		t.Fatalf("signatures = %+v", r.Signatures)
	}
	if s := r.Signatures[0]; s.Domain != "example.org" || s.Selector != "sel" {
		t.Errorf("signature = %+v, want d=example.org s=sel", s)
	}
}

// An RSA-2048 key is a TXT record of two strings; it must come back whole.
func TestDKIMRSA(t *testing.T) {
	w := newWorld(t)
	w.standardZone()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	w.publishKey("example.org", "rsa", key)
	r := w.check(goodIP, "a@example.org", w.sign(message("a@example.org"), "example.org", "rsa", key))
	if r.DKIM != authres.ResultPass {
		t.Errorf("DKIM = %q; reasons %q", r.DKIM, r.Reasons)
	}
}

func TestTooManySignatures(t *testing.T) {
	w := newWorld(t)
	w.standardZone()
	msg := message("a@example.org")
	for range maxSignatures + 2 {
		msg = w.sign(msg, "example.org", "sel", w.key)
	}
	r := w.check(goodIP, "a@example.org", msg)
	if len(r.Signatures) != maxSignatures || r.DKIM != authres.ResultPass {
		t.Errorf("got %d signatures, DKIM %q; want %d, pass", len(r.Signatures), r.DKIM, maxSignatures)
	}
}

func TestMessageErrors(t *testing.T) {
	w := newWorld(t)
	w.standardZone()
	r := w.c.Check(context.Background(), Input{
		IP: goodIP, MailFrom: "a@example.org",
		Message: func() (io.Reader, error) { return nil, errors.New("spool gone") },
	})
	if r.SPF != authres.ResultPass || r.DKIM != authres.ResultTempError || r.DMARC != authres.ResultTempError {
		t.Errorf("spool failure: %q %q %q, want pass temperror temperror", r.SPF, r.DKIM, r.DMARC)
	}

	big := "From: a@example.org\r\nX-Pad: " + strings.Repeat("x", maxHeaderBytes) + "\r\n\r\nbody\r\n"
	r = w.check(goodIP, "a@example.org", big)
	if r.SPF != authres.ResultPass || r.DKIM != authres.ResultPermError || r.DMARC != authres.ResultPermError {
		t.Errorf("huge header: %q %q %q, want pass permerror permerror", r.SPF, r.DKIM, r.DMARC)
	}

	r = w.c.Check(context.Background(), Input{IP: goodIP, MailFrom: "a@example.org"})
	if r.DKIM != authres.ResultNone || r.DMARC != authres.ResultPermError {
		t.Errorf("no message: %q %q, want none permerror", r.DKIM, r.DMARC)
	}
}

// A server that sits on a query must not hold the SMTP session: Check
// gives up at the lookup timeout and says temperror.
func TestSlowDNS(t *testing.T) {
	for _, slow := range []string{"example.org", "_dmarc.example.org", "sel._domainkey.example.org"} {
		t.Run(slow, func(t *testing.T) {
			w := newWorld(t)
			w.standardZone()
			w.dns.Delay(slow, 5*time.Second)
			const timeout = 300 * time.Millisecond
			w.c = New(Options{Resolver: w.dns.Addr(), Timeout: timeout, AuthservID: "mx.test"})

			// Sign only when the key is the slow part: otherwise DKIM would
			// rightly let DMARC pass without the slow answer.
			msg := message("a@example.org")
			dkimSlow := slow == "sel._domainkey.example.org"
			if dkimSlow {
				msg = w.sign(msg, "example.org", "sel", w.key)
			}
			start := time.Now()
			r := w.check(goodIP, "a@example.org", msg)
			if took := time.Since(start); took > timeout+700*time.Millisecond {
				t.Errorf("Check took %v with a %v timeout", took, timeout)
			}
			got := map[string]authres.ResultValue{
				"example.org":                r.SPF,
				"_dmarc.example.org":         r.DMARC,
				"sel._domainkey.example.org": r.DKIM,
			}[slow]
			if got != authres.ResultTempError {
				t.Errorf("result for slow %s = %q, want temperror; reasons %q", slow, got, r.Reasons)
			}
			if allow, why := Verdict(r, PolicyPass); !dkimSlow && (allow || why != ReasonTempError) {
				t.Errorf("Verdict(pass) = %v %q, want auth-temperror", allow, why)
			}
		})
	}
}

// The whole check is bounded even when every lookup is slow in turn.
func TestCheckTimeout(t *testing.T) {
	w := newWorld(t)
	w.dns.TXT("chain.example", "v=spf1 include:a.chain.example include:b.chain.example include:c.chain.example -all")
	for _, n := range []string{"a", "b", "c"} {
		w.dns.Delay(n+".chain.example", 5*time.Second)
	}
	w.c = New(Options{Resolver: w.dns.Addr(), Timeout: 200 * time.Millisecond, CheckTimeout: 300 * time.Millisecond})
	start := time.Now()
	r := w.check(goodIP, "a@chain.example", message("a@chain.example"))
	if took := time.Since(start); took > time.Second {
		t.Errorf("Check took %v with a 300ms check timeout", took)
	}
	if r.SPF != authres.ResultTempError {
		t.Errorf("SPF = %q, want temperror", r.SPF)
	}
}

// SPF, DKIM and DMARC share one cache per check, so a name is asked once.
func TestLookupCache(t *testing.T) {
	w := newWorld(t)
	w.standardZone()
	w.dns.TXT("twice.example.org", "v=spf1 include:_n.example.org include:_n.example.org ip4:192.0.2.10 -all")
	w.dns.TXT("_n.example.org", "v=spf1 ?all")
	r := w.check(goodIP, "a@twice.example.org", message("a@twice.example.org"))
	if r.SPF != authres.ResultPass {
		t.Fatalf("SPF = %q; reasons %q", r.SPF, r.Reasons)
	}
	if n := w.dns.Queries("_n.example.org"); n != 1 {
		t.Errorf("_n.example.org asked %d times in one check, want 1", n)
	}
	// The Checker's cache is shared: a second check asks nothing again.
	w.check(goodIP, "a@twice.example.org", message("a@twice.example.org"))
	if n := w.dns.Queries("_n.example.org"); n != 1 {
		t.Errorf("_n.example.org asked %d times in two checks, want 1", n)
	}
}

// 300 messages from one domain at once: each name is asked as often as
// one check alone asks it (once per record type), not once per message.
func TestSharedCacheConcurrentChecks(t *testing.T) {
	one := newWorld(t)
	one.standardZone()
	one.check(goodIP, "a@example.org", one.sign(message("a@example.org"), "example.org", "sel", one.key))

	w := newWorld(t)
	w.standardZone()
	msg := w.sign(message("a@example.org"), "example.org", "sel", w.key)
	const n = 300
	var wg sync.WaitGroup
	results := make([]Result, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = w.c.Check(context.Background(), Input{IP: goodIP, Helo: "mail.example.org", MailFrom: "a@example.org",
				Message: func() (io.Reader, error) { return strings.NewReader(msg), nil }})
		}(i)
	}
	wg.Wait()
	for _, r := range results {
		if r.SPF != results[0].SPF || r.DKIM != results[0].DKIM || r.DMARC != results[0].DMARC {
			t.Fatalf("checks disagree: %+v vs %+v", r, results[0])
		}
	}
	for _, name := range []string{"example.org", "sel._domainkey.example.org", "_dmarc.example.org"} {
		want := one.dns.Queries(name)
		if want == 0 {
			t.Fatalf("one check asked nothing for %s: the zone changed?", name)
		}
		if got := w.dns.Queries(name); got != want {
			t.Errorf("%s: %d queries for %d concurrent checks, want %d (as for one check)", name, got, n, want)
		}
	}
}

// A temporary failure is not cached (the next check asks again); a
// missing record is, briefly.
func TestSharedCacheSkipsTemporary(t *testing.T) {
	w := newWorld(t)
	w.dns.Fail("broken.example")
	l := func() *lookups { l := newLookups(w.c.resolver, time.Second); l.shared = w.c.cache; return l }
	for i := 0; i < 2; i++ {
		if _, err := l().LookupTXT(context.Background(), "broken.example"); err == nil || isNotFound(err) {
			t.Fatalf("broken.example: %v, want a temporary error", err)
		}
	}
	if q := w.dns.Queries("broken.example"); q < 2 {
		t.Errorf("a temporary failure was cached: %d queries in two lookups", q)
	}
	for i := 0; i < 2; i++ {
		if _, err := l().LookupTXT(context.Background(), "missing.example"); !isNotFound(err) {
			t.Fatalf("missing.example: %v, want not found", err)
		}
	}
	if q := w.dns.Queries("missing.example"); q != 1 {
		t.Errorf("not found asked %d times in two lookups, want 1", q)
	}
	// Past its TTL the answer is asked again.
	w.c.cache.now = func() time.Time { return time.Now().Add(cacheNegTTL + time.Second) }
	l().LookupTXT(context.Background(), "missing.example")
	if q := w.dns.Queries("missing.example"); q != 2 {
		t.Errorf("after the negative TTL: %d queries, want 2", q)
	}
}

// Answers too big for UDP come back over TCP.
func TestLookupTCP(t *testing.T) {
	w := newWorld(t)
	long := strings.Repeat("x", 3000)
	w.dns.TXT("big.example", long)
	l := newLookups(w.c.resolver, time.Second)
	txt, err := l.LookupTXT(context.Background(), "big.example")
	if err != nil || len(txt) != 1 || txt[0] != long {
		t.Fatalf("LookupTXT = %d records, %v", len(txt), err)
	}
}
