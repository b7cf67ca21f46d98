package gateway

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func greet(t *testing.T, addr string) (net.Conn, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return c, line
}

func TestLimits(t *testing.T) {
	up := newEnv(t, "") // for its upstream and smarthost only
	up.stop()
	e := &env{t: t, dir: t.TempDir(), upstream: up.upstream, smarthost: up.smarthost}
	cfg := strings.Replace(baseConfig(e.dir, e.upstream.Addr(), e.smarthost.Addr(), "\n[auth]\nautoreply = \"off\"\n"),
		"max_messages_per_sender = 0", "max_messages_per_sender = 2\nmax_connections_per_ip = 2", 1)
	e.startText(cfg)

	// Per IP at once: the third connection gets 421 before the greeting.
	c1, l1 := greet(t, e.g.SMTPAddr())
	c2, l2 := greet(t, e.g.SMTPAddr())
	c3, l3 := greet(t, e.g.SMTPAddr())
	if !strings.HasPrefix(l1, "220") || !strings.HasPrefix(l2, "220") || !strings.HasPrefix(l3, "421 4.7.0") {
		t.Errorf("greetings: %q %q %q", l1, l2, l3)
	}
	c1.Close()
	c2.Close()
	c3.Close()
	time.Sleep(100 * time.Millisecond)

	// Per sender per hour: the third message gets 451 4.7.1.
	for i := 1; i <= 3; i++ {
		err := send(t, e.g.SMTPAddr(), "flood@customer.test", []string{"support@example.com"}, plainMsg("flood@customer.test", "support@example.com", "x", "y"))
		var se *smtp.SMTPError
		switch {
		case i < 3 && err != nil:
			t.Fatalf("message %d: %v", i, err)
		case i == 3 && (!errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != smtp.EnhancedCode{4, 7, 1}):
			t.Fatalf("message 3: %v, want 451 4.7.1", err)
		}
	}
}

// startText starts a gateway from a whole config text.
func (e *env) startText(text string) {
	e.t.Helper()
	path := filepath.Join(e.dir, "config.toml")
	os.WriteFile(path, []byte(text), 0o600)
	e.startPath(path)
}

func selfSigned(t *testing.T, dir, name string) (cert, key string, serial *big.Int) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ = rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "mx.test.example"},
		DNSNames: []string{"mx.test.example"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	cert, key = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, key, serial
}

func TestStartTLSAndCertReload(t *testing.T) {
	dir := t.TempDir()
	cert, key, serial1 := selfSigned(t, dir, "a")
	e := newEnv(t, "")
	e.stop()
	text := strings.Replace(baseConfig(e.dir, e.upstream.Addr(), e.smarthost.Addr(), "\n[auth]\nautoreply = \"off\"\n"),
		`hostname = "mx.test.example"`, `hostname = "mx.test.example"`+"\ntls_cert = \""+cert+"\"\ntls_key = \""+key+"\"\nrequire_tls = true", 1)
	e.startText(text)

	// require_tls: MAIL before STARTTLS is refused.
	c, err := smtp.Dial(e.g.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	var se *smtp.SMTPError
	if err := c.Mail("a@customer.test", nil); !errors.As(err, &se) || se.Code != 530 {
		t.Errorf("MAIL without TLS: %v, want 530", err)
	}
	c.Close()

	sendTLS := func() *big.Int {
		c, err := smtp.DialStartTLS(e.g.SMTPAddr(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.SendMail("a@customer.test", []string{"support@example.com"}, strings.NewReader(plainMsg("a@customer.test", "support@example.com", "tls", "x"))); err != nil {
			t.Fatal(err)
		}
		st, _ := c.TLSConnectionState()
		return st.PeerCertificates[0].SerialNumber
	}
	if got := sendTLS(); got.Cmp(serial1) != 0 {
		t.Errorf("served serial %v, want %v", got, serial1)
	}
	msgs := e.upstream.Wait(1, 5*time.Second)
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Data), "with ESMTPS id") {
		t.Errorf("Received does not say ESMTPS")
	}

	// A renewed certificate at the same paths is served after a reload.
	_, _, serial2 := selfSigned(t, dir, "a")
	if err := e.g.Reload(e.g.Cfg.Get()); err != nil {
		t.Fatal(err)
	}
	if got := sendTLS(); got.Cmp(serial2) != 0 {
		t.Errorf("after reload: serial %v, want the renewed %v", got, serial2)
	}
}

// A reload applies the SMTP server's own settings to new connections;
// a session already open finishes under the old ones.
func TestReloadAppliesSMTPSettings(t *testing.T) {
	e := newEnv(t, "")
	old, err := smtp.Dial(e.g.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := old.Hello("old.test"); err != nil {
		t.Fatal(err)
	}
	c := *e.g.Cfg.Get()
	c.SMTP.MaxMessageBytes = 4096
	c.SMTP.MaxRecipients = 1
	if err := e.g.Reload(&c); err != nil {
		t.Fatal(err)
	}
	fresh, err := smtp.Dial(e.g.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	fresh.Hello("new.test")
	if size, ok := fresh.MaxMessageSize(); !ok || size != 4096 {
		t.Errorf("new connection: SIZE %d, want 4096", size)
	}
	fresh.Mail("a@customer.test", nil)
	fresh.Rcpt("support@example.com", nil)
	var se *smtp.SMTPError
	if err := fresh.Rcpt("sales@example.com", nil); !errors.As(err, &se) || se.Code != 452 {
		t.Errorf("second RCPT after max_recipients = 1: %v, want 452", err)
	}
	// The session opened before the reload still works, with the old limits.
	if size, _ := old.MaxMessageSize(); size != 1048576 {
		t.Errorf("old connection: SIZE %d, want the old 1048576", size)
	}
	if err := old.SendMail("b@customer.test", []string{"support@example.com"}, strings.NewReader(plainMsg("b@customer.test", "support@example.com", "old", strings.Repeat(strings.Repeat("x", 70)+"\r\n", 120)))); err != nil {
		t.Errorf("old session after reload: %v", err)
	}
}
