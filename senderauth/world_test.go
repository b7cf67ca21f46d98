package senderauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"supportgate/senderauth/authtest"
)

// The test world: one client IP that example.org's SPF allows, one that
// nobody allows, and keys published in the fake DNS.
var (
	goodIP = net.ParseIP("192.0.2.10")
	badIP  = net.ParseIP("198.51.100.7")
)

type world struct {
	t   *testing.T
	dns *authtest.DNS
	c   *Checker
	key crypto.Signer // ed25519, published as sel._domainkey of every signing domain
}

func newWorld(t *testing.T) *world {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, dns: authtest.NewDNS(t), key: priv}
	w.c = New(Options{Resolver: w.dns.Addr(), Timeout: 2 * time.Second, AuthservID: "mx.test"})
	return w
}

// publishKey puts the public half of key at <sel>._domainkey.<domain>.
func (w *world) publishKey(domain, sel string, key crypto.Signer) {
	w.t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	algo := "rsa"
	if pub, ok := key.Public().(ed25519.PublicKey); ok {
		// DKIM ed25519 keys are the raw 32 bytes, not PKIX.
		der, err, algo = pub, nil, "ed25519"
	}
	if err != nil {
		w.t.Fatal(err)
	}
	w.dns.TXT(sel+"._domainkey."+domain, "v=DKIM1; k="+algo+"; p="+base64.StdEncoding.EncodeToString(der))
}

// sign DKIM-signs msg for domain with selector sel.
func (w *world) sign(msg, domain, sel string, key crypto.Signer) string {
	w.t.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, strings.NewReader(msg), &dkim.SignOptions{
		Domain:                 domain,
		Selector:               sel,
		Signer:                 key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             []string{"From", "To", "Subject", "Date", "Message-ID"},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out.String()
}

func (w *world) check(ip net.IP, mailFrom, msg string) Result {
	w.t.Helper()
	return w.c.Check(context.Background(), Input{
		IP: ip, Helo: "client.example", MailFrom: mailFrom, Message: Bytes([]byte(msg)),
	})
}

// message builds a small message from the given From address.
func message(from string) string {
	return "From: Someone <" + from + ">\r\n" +
		"To: support@mx.test\r\n" +
		"Subject: help\r\n" +
		"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n" +
		"Message-ID: <1@client.example>\r\n" +
		"\r\n" +
		"Hello,\r\nit broke.\r\n"
}

// standardZone publishes the records most tests share.
func (w *world) standardZone() {
	d := w.dns
	d.TXT("example.org", "v=spf1 ip4:192.0.2.10 -all")
	d.TXT("mail.example.org", "v=spf1 ip4:192.0.2.10 -all")
	d.TXT("_dmarc.example.org", "v=DMARC1; p=reject")
	d.TXT("soft.example.org", "v=spf1 ip4:192.0.2.10 ~all")
	d.TXT("other.net", "v=spf1 ip4:192.0.2.10 -all")
	d.TXT("nodmarc.net", "v=spf1 ip4:192.0.2.10 -all")
	w.publishKey("example.org", "sel", w.key)
	w.publishKey("other.net", "sel", w.key)
	w.publishKey("nodmarc.net", "sel", w.key)
}
