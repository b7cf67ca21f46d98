package gateway

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"supportgate/senderauth/authtest"
)

// Sender authentication end to end, against an in-process DNS server.
func TestSenderAuthentication(t *testing.T) {
	dns := authtest.NewDNS(t)
	dns.TXT("good.test", "v=spf1 ip4:127.0.0.1 -all")
	dns.TXT("_dmarc.good.test", "v=DMARC1; p=reject")
	dns.TXT("forged.test", "v=spf1 ip4:192.0.2.1 -all")
	dns.TXT("_dmarc.forged.test", "v=DMARC1; p=reject")
	e := newEnv(t, "[auth]\nautoreply = \"not-fail\"\nresolver = \""+dns.Addr()+"\"\ntimeout = \"1s\"\n")
	good := "From: g@good.test\r\nTo: support@example.com\r\nSubject: real\r\nMessage-ID: <g1@good.test>\r\n" +
		"Authentication-Results: mx.test.example; spf=pass smtp.mailfrom=anything\r\n\r\nhello\r\n"
	bad := "From: victim@forged.test\r\nTo: support@example.com\r\nSubject: forged\r\nMessage-ID: <f1@forged.test>\r\n\r\nspam\r\n"
	if err := send(t, e.g.SMTPAddr(), "g@good.test", []string{"support@example.com"}, good); err != nil {
		t.Fatal(err)
	}
	if err := send(t, e.g.SMTPAddr(), "victim@forged.test", []string{"support@example.com"}, bad); err != nil {
		t.Fatal(err)
	}
	got := e.upstream.Wait(2, 10*time.Second)
	if len(got) != 2 {
		t.Fatalf("forwarded %d, want 2 (a failing sender is still forwarded)", len(got))
	}
	for _, m := range got {
		ar := arFields(m.Data)
		switch m.From {
		case "g@good.test":
			if len(ar) != 1 || !strings.Contains(ar[0], "spf=pass") || !strings.Contains(ar[0], "dmarc=pass") {
				t.Errorf("good sender: A-R fields %q; want exactly ours with spf=pass dmarc=pass", ar)
			}
		case "victim@forged.test":
			if len(ar) != 1 || !strings.Contains(ar[0], "dmarc=fail") {
				t.Errorf("forged sender: A-R %q, want dmarc=fail", ar)
			}
		}
	}
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
	rs := replies(e)
	if len(rs) != 1 || rs[0].Rcpts[0] != "g@good.test" {
		for _, r := range rs {
			t.Errorf("reply to %v", r.Rcpts)
		}
		t.Fatalf("want exactly one reply, to the authenticated sender")
	}
}

// arFields returns the Authentication-Results fields of a message (unfolded).
func arFields(data []byte) []string {
	hdr := data
	if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
		hdr = data[:i+2]
	}
	var out []string
	lines := strings.Split(string(hdr), "\r\n")
	for i := 0; i < len(lines); i++ {
		if strings.HasPrefix(strings.ToLower(lines[i]), "authentication-results:") {
			f := lines[i]
			for i+1 < len(lines) && (strings.HasPrefix(lines[i+1], " ") || strings.HasPrefix(lines[i+1], "\t")) {
				i++
				f += lines[i]
			}
			out = append(out, f)
		}
	}
	return out
}

// reject_dmarc refuses at SMTP time what the sender's domain asks to
// reject; a slow DNS does not hold the session past the lookup timeout.
func TestRejectDMARCAtSMTP(t *testing.T) {
	dns := authtest.NewDNS(t)
	dns.TXT("forged.test", "v=spf1 ip4:192.0.2.1 -all")
	dns.TXT("_dmarc.forged.test", "v=DMARC1; p=reject")
	dns.TXT("slow.test", "v=spf1 ip4:192.0.2.1 -all")
	dns.TXT("_dmarc.slow.test", "v=DMARC1; p=reject")
	dns.Delay("slow.test", 5*time.Second)
	dns.Delay("_dmarc.slow.test", 5*time.Second)
	e := newEnv(t, "[auth]\nautoreply = \"not-fail\"\nreject_dmarc = true\ntimeout = \"300ms\"\nresolver = \""+dns.Addr()+"\"\n")

	err := send(t, e.g.SMTPAddr(), "x@forged.test", []string{"support@example.com"}, "From: x@forged.test\r\nTo: support@example.com\r\nSubject: s\r\nMessage-ID: <r1@forged.test>\r\n\r\nb\r\n")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) {
		t.Fatalf("DMARC p=reject failure: %v, want 550 5.7.1", err)
	}
	start := time.Now()
	err = send(t, e.g.SMTPAddr(), "y@slow.test", []string{"support@example.com"}, "From: y@slow.test\r\nTo: support@example.com\r\nSubject: s\r\nMessage-ID: <r2@slow.test>\r\n\r\nb\r\n")
	if err != nil {
		t.Fatalf("slow DNS: %v, want accepted (temperror is not fail)", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("slow DNS held the session %v", took)
	}
	if got := e.upstream.Wait(1, 5*time.Second); len(got) != 1 || got[0].From != "y@slow.test" {
		t.Errorf("upstream got %d (the refused one must not be forwarded)", len(got))
	}
}

// Our resolver is down: every check is temperror. That is not a fail, so
// under not-fail the customer is still answered; under pass, not.
func TestResolverDownIsNotAFail(t *testing.T) {
	for _, tc := range []struct {
		policy  string
		replies int
	}{{"not-fail", 1}, {"pass", 0}} {
		t.Run(tc.policy, func(t *testing.T) {
			dead := deadUDP(t)
			e := newEnv(t, "[auth]\nautoreply = \""+tc.policy+"\"\ntimeout = \"200ms\"\nresolver = \""+dead+"\"\n")
			if err := send(t, e.g.SMTPAddr(), "c@customer.test", []string{"support@example.com"}, plainMsg("c@customer.test", "support@example.com", "dns down", "x")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return len(e.upstream.Messages()) == 1 }, "forwarded")
			waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
			if n := len(replies(e)); n != tc.replies {
				t.Errorf("%d replies, want %d", n, tc.replies)
			}
			if ar := arFields(e.upstream.Messages()[0].Data); len(ar) != 1 || !strings.Contains(ar[0], "temperror") {
				t.Errorf("A-R %q, want temperror", ar)
			}
		})
	}
}

// deadUDP is an address where no DNS server answers.
func deadUDP(t *testing.T) string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	return addr
}
