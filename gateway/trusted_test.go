package gateway

import (
	"strings"
	"testing"
	"time"

	"supportgate/mailtest"
	"supportgate/senderauth/authtest"
)

// Behind a trusted relay (here the test client on 127.0.0.1), SPF checks
// the client named in the relay's Received: line; from an untrusted
// address the same message is checked against that address.
func TestTrustedRelaySPFUsesReceived(t *testing.T) {
	dns := authtest.NewDNS(t)
	dns.TXT("customer.test", "v=spf1 ip4:192.0.2.10 -all")
	msg := "Received: from mail.customer.test (mail.customer.test [192.0.2.10])\r\n\tby mx.company.test (Postfix) with ESMTPS id 4XyZ\r\n\tfor <support@example.com>; Tue, 1 Dec 2026 10:00:00 +0000\r\n" +
		plainMsg("c@customer.test", "support@example.com", "hi", "x")
	for _, tc := range []struct {
		trusted string
		want    []string
	}{
		{`["127.0.0.0/8"]`, []string{"spf=pass", "smtp.remote-ip=192.0.2.10"}},
		{`["10.9.9.9"]`, []string{"spf=fail", "smtp.remote-ip=127.0.0.1"}},
	} {
		t.Run(tc.trusted, func(t *testing.T) {
			e := &env{t: t, dir: t.TempDir(), upstream: mailtest.Start(t, false), smarthost: mailtest.Start(t, false)}
			cfg := baseConfig(e.dir, e.upstream.Addr(), e.smarthost.Addr(), "[autoreply]\nenabled = false\n[auth]\nautoreply = \"not-fail\"\ntimeout = \"1s\"\nresolver = \""+dns.Addr()+"\"\n")
			e.startText(strings.Replace(cfg, "max_messages_per_sender = 0", "max_messages_per_sender = 0\ntrusted_relays = "+tc.trusted, 1))
			if err := send(t, e.g.SMTPAddr(), "c@customer.test", []string{"support@example.com"}, msg); err != nil {
				t.Fatal(err)
			}
			got := e.upstream.Wait(1, 10*time.Second)
			if len(got) != 1 {
				t.Fatalf("forwarded %d", len(got))
			}
			ar := arFields(got[0].Data)
			for _, w := range tc.want {
				if len(ar) != 1 || !strings.Contains(ar[0], w) {
					t.Errorf("A-R %q lacks %q", ar, w)
				}
			}
		})
	}
}
