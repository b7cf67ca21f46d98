package relay_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"supportgate/relay"
	"supportgate/rules"
	"supportgate/store"
)

func TestParseReceived(t *testing.T) {
	cases := []struct {
		in       string
		ip, helo string
		ok       bool
	}{
		// Postfix
		{"from mail.customer.test (mail.customer.test [192.0.2.10]) by mx.company.test (Postfix) with ESMTPS id 4XyZ for <support@example.com>; Tue, 1 Dec 2026 10:00:00 +0000",
			"192.0.2.10", "mail.customer.test", true},
		{"from helo.test (unknown [IPv6:2001:db8::25]) by mx.company.test (Postfix) with ESMTP id 1; date",
			"2001:db8::25", "helo.test", true},
		{"from [192.0.2.66] (unknown [192.0.2.66]) by mx (Postfix) with ESMTP id 2", "192.0.2.66", "[192.0.2.66]", true},
		// Postfix with TLS: the cipher comments come before "by"
		{"from mail.customer.test (mail.customer.test [192.0.2.13]) (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256) (No client certificate requested) by mx.company.test (Postfix) with ESMTPS id 4XyZ; date",
			"192.0.2.13", "mail.customer.test", true},
		// Exim
		{"from [192.0.2.14]:40410 (helo=port.test) by mx with esmtp (Exim 4.96) id 1", "192.0.2.14", "port.test", true},
		{"from rdns.test ([192.0.2.15]:40411 helo=h.test) by mx with esmtp (Exim 4.96) id 1", "192.0.2.15", "h.test", true},
		{"from rdns.customer.test ([192.0.2.11] helo=client.customer.test) by mx.company.test with esmtps (TLS1.3) (Exim 4.96) (envelope-from <a@customer.test>) id 1kX-000; date",
			"192.0.2.11", "client.customer.test", true},
		{"from [192.0.2.12] (helo=weird) by mx.company.test with esmtp (Exim 4.96) id 1", "192.0.2.12", "weird", true},
		{"from mail.customer.test ([2001:db8::26]) by mx.company.test with esmtp (Exim 4.96) id 1", "2001:db8::26", "mail.customer.test", true},
		// Sendmail with ident, ours
		{"from client.test ([127.0.0.2])\r\n\tby mx.test (supportgate) with ESMTP id x; date", "127.0.0.2", "client.test", true},
		// Not parseable: local submission, no brackets, junk
		{"by mx.company.test (Postfix, from userid 0) id 3; date", "", "", false},
		{"from somewhere by mx", "", "", false},
		{"from x ([not-an-ip]) by y", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range cases {
		h, ok := relay.ParseReceived(tc.in)
		if ok != tc.ok || h.IP != tc.ip || (tc.ok && h.Helo != tc.helo) {
			t.Errorf("ParseReceived(%q) = %+v, %v; want ip %q helo %q ok %v", tc.in, h, ok, tc.ip, tc.helo, tc.ok)
		}
	}
}

func trustCfg(t *testing.T, relays string) *rules.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte(`
[smtp]
hostname = "mx.test"
trusted_relays = [`+relays+`]
[upstream]
address = "127.0.0.1:1"
[outbound]
address = "127.0.0.1:1"
[[mailbox]]
address = "support@example.com"
`), 0o600)
	c, err := rules.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOriginPastEveryTrustedHop(t *testing.T) {
	c := trustCfg(t, `"10.0.0.0/8", "192.0.2.1"`)
	msg := func(lines ...string) []byte {
		var b strings.Builder
		for _, l := range lines {
			b.WriteString("Received: " + l + "\r\n")
		}
		b.WriteString("Subject: x\r\n\r\nbody\r\n")
		return []byte(b.String())
	}
	edge := "from edge.company.test (edge.company.test [10.1.1.1]) by hub.company.test (Postfix) with ESMTP id A; date"
	cust := "from mail.customer.test (mail.customer.test [198.51.100.7]) by edge.company.test (Postfix) with ESMTP id B; date"
	forged := "from liar ([192.0.2.200]) by nowhere; date"

	// Two trusted hops (hub via 192.0.2.1, edge 10.1.1.1), then the customer.
	o := relay.OriginOfMessage(c, "192.0.2.1", "hub", msg(edge, cust, forged))
	if o.IP != "198.51.100.7" || o.Helo != "mail.customer.test" || o.Hops != 2 || o.Fallback != "" {
		t.Errorf("two hops: %+v", o)
	}
	// One hop: the first line already names an untrusted client.
	o = relay.OriginOfMessage(c, "10.1.1.1", "edge", msg(cust, forged))
	if o.IP != "198.51.100.7" || o.Hops != 1 {
		t.Errorf("one hop: %+v", o)
	}
	// The relay's line cannot be read: never look further down (a
	// sender's forged line), the relay itself is checked.
	o = relay.OriginOfMessage(c, "10.1.1.1", "edge", msg("by edge (Postfix, from userid 0) id 3; date", forged))
	if o.IP != "10.1.1.1" || o.Fallback == "" {
		t.Errorf("unparseable relay line: %+v", o)
	}
	// No Received: at all.
	o = relay.OriginOfMessage(c, "10.1.1.1", "edge", msg())
	if o.IP != "10.1.1.1" || o.Helo != "edge" || o.Fallback == "" {
		t.Errorf("no Received: %+v", o)
	}
	// Every hop trusted: the deepest trusted host.
	o = relay.OriginOfMessage(c, "192.0.2.1", "hub", msg(edge))
	if o.IP != "10.1.1.1" || o.Fallback == "" {
		t.Errorf("all trusted: %+v", o)
	}
}

// proxyServer runs the SMTP listener with trusted_relays = 127.0.0.1
// and proxy_protocol on; got receives each accepted message.
func proxyServer(t *testing.T, extra string) (string, chan *store.Message) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	os.WriteFile(p, []byte(`
[smtp]
listen = "127.0.0.1:0"
hostname = "mx.proxy.test"
trusted_relays = ["127.0.0.1"]
max_connections_per_ip = 2
max_connections_per_minute = 3
max_messages_per_sender = 2
`+extra+`
[upstream]
address = "127.0.0.1:1"
[outbound]
address = "127.0.0.1:1"
[storage]
dir = "state"
[[mailbox]]
address = "support@example.com"
`), 0o600)
	cfg, err := rules.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(cfg.Storage.Dir)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *store.Message, 1000)
	srv, err := relay.NewServer(rules.NewHolder(cfg), st, slog.New(slog.NewTextHandler(io.Discard, nil)), func(_ *rules.Config, m *store.Message) []*store.Job {
		got <- m
		return []*store.Job{{Kind: "noop"}}
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Shutdown(t.Context()); st.Close() })
	return a.String(), got
}

// converse sends a whole SMTP dialog (after an optional PROXY header) and
// returns the server's replies.
func converse(t *testing.T, addr string, header *proxyproto.Header, from, body string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if header != nil {
		if _, err := header.WriteTo(c); err != nil {
			t.Fatal(err)
		}
	}
	r := bufio.NewReader(c)
	var out strings.Builder
	read := func() string {
		var last string
		for {
			line, err := r.ReadString('\n')
			out.WriteString(line)
			if err != nil {
				return out.String()
			}
			if len(line) < 4 || line[3] != '-' {
				last = line
				return last
			}
		}
	}
	if l := read(); !strings.HasPrefix(l, "220") {
		return out.String()
	}
	for _, cmd := range []string{"EHLO relay.test", "MAIL FROM:<" + from + ">", "RCPT TO:<support@example.com>", "DATA"} {
		fmt.Fprintf(c, "%s\r\n", cmd)
		if l := read(); l == "" || l[0] == '4' || l[0] == '5' {
			return out.String()
		}
	}
	fmt.Fprintf(c, "%s\r\n.\r\n", body)
	read()
	fmt.Fprintf(c, "QUIT\r\n")
	read()
	return out.String()
}

func TestProxyProtocolFromTrustedOnly(t *testing.T) {
	addr, got := proxyServer(t, "proxy_protocol = true")
	body := "Received: from mail.customer.test (mail.customer.test [198.51.100.9]) by lb-backend (Postfix) with ESMTP id 1; date\r\nSubject: hi\r\n\r\nhello"

	// v1 and v2 headers from the trusted balancer: the client is the
	// header's source; here it is an untrusted customer, so its own
	// address is checked and the Received: line is not believed.
	for _, v := range []byte{1, 2} {
		h := &proxyproto.Header{Version: v, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
			SourceAddr: &net.TCPAddr{IP: net.ParseIP("203.0.113.5"), Port: 40000}, DestinationAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 25}}
		out := converse(t, addr, h, fmt.Sprintf("v%d@customer.test", v), body)
		if !strings.Contains(out, "250 2.0.0 OK") {
			t.Fatalf("v%d: %s", v, out)
		}
		m := <-got
		if m.ClientIP != "203.0.113.5" || m.Relay != "" || m.Helo != "relay.test" {
			t.Errorf("v%d: client %q relay %q helo %q, want the PROXY source and no relay", v, m.ClientIP, m.Relay, m.Helo)
		}
	}
	// A balancer handing over a trusted host's connection: the
	// Received: line is read.
	h := &proxyproto.Header{Version: 2, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
		SourceAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 40001}, DestinationAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 25}}
	if out := converse(t, addr, h, "hop@customer.test", body); !strings.Contains(out, "250 2.0.0 OK") {
		t.Fatal(out)
	}
	if m := <-got; m.ClientIP != "198.51.100.9" || m.Relay != "127.0.0.1" || m.Helo != "mail.customer.test" {
		t.Errorf("through a trusted hop: client %q relay %q helo %q", m.ClientIP, m.Relay, m.Helo)
	}
	// A trusted peer without the header is refused: it would otherwise
	// be taken for the client.
	if out := converse(t, addr, nil, "x@customer.test", body); strings.Contains(out, "220") {
		t.Errorf("no PROXY header from a trusted peer accepted: %q", out)
	}
}

func TestProxyHeaderIgnoredFromUntrusted(t *testing.T) {
	// 127.0.0.2 is not trusted: its PROXY line is never read as one.
	addr, _ := proxyServer(t, "proxy_protocol = true")
	_, port, _ := net.SplitHostPort(addr)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Skip("cannot bind 127.0.0.2:", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "220") {
		t.Fatalf("greeting: %q", l)
	}
	fmt.Fprintf(c, "PROXY TCP4 127.0.0.1 127.0.0.1 1 25\r\n")
	if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "5") {
		t.Errorf("PROXY line from an untrusted client: %q, want a 5xx unknown command", l)
	}
}

// The relay's mail is not throttled by the per-IP or per-sender limits
// (2 at once, 3 a minute, 2 per sender here): it has its own caps.
func TestTrustedRelayOwnCaps(t *testing.T) {
	addr, got := proxyServer(t, "")
	body := "Received: from a.customer.test (a.customer.test [198.51.100.1]) by hub (Postfix) with ESMTP id 1; date\r\nSubject: hi\r\n\r\nhello"
	var wg sync.WaitGroup
	errs := make(chan string, 40)
	for i := range 40 {
		wg.Go(func() {
			if out := converse(t, addr, nil, "same@customer.test", body); !strings.Contains(out, "250 2.0.0 OK") {
				errs <- fmt.Sprintf("message %d: %s", i, out)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if len(got) != 40 {
		t.Errorf("%d messages accepted, want 40", len(got))
	}
}

// Received: lines are whatever a sender writes below our relays: parsing
// never panics, and what it returns is a real address.
func FuzzParseReceived(f *testing.F) {
	for _, s := range []string{
		"from a (b [192.0.2.1]) by c",
		"from [IPv6:2001:db8::1] by x",
		"from a ([192.0.2.1]:25 helo=) by",
		"from ((((([[[",
		"from x (y [1.2.3.4%eth0]) by z",
		"from helo= (helo=helo= [::ffff:1.2.3.4])",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := relay.ParseReceived(s)
		if ok && h.IP == "" {
			t.Fatalf("ok without an address: %q", s)
		}
		if ok {
			if ip := net.ParseIP(h.IP); ip == nil {
				t.Fatalf("not an address %q from %q", h.IP, s)
			}
		}
	})
}
