// Package authtest is an in-process DNS server for tests of sender
// authentication: SPF, DKIM and DMARC records, SERVFAIL and slow answers.
//
// It listens on 127.0.0.1 (UDP and TCP on the same random port), so a
// senderauth.Checker pointed at Addr() never touches the real DNS. Other
// packages' end-to-end tests can reuse it.
package authtest

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// DNS is a tiny authoritative server for whatever names a test sets up.
// Names not set up answer NXDOMAIN; names with records of another type
// answer NOERROR with no data, as real servers do.
type DNS struct {
	addr string
	udp  *dns.Server
	tcp  *dns.Server
	stop chan struct{}

	mu      sync.Mutex
	txt     map[string][]string
	ips     map[string][]net.IP
	mx      map[string][]string
	fail    map[string]bool
	delay   map[string]time.Duration
	queries map[string]int
}

// NewDNS starts a server and stops it when the test ends.
func NewDNS(t testing.TB) *DNS {
	t.Helper()
	d := &DNS{
		stop:    make(chan struct{}),
		txt:     map[string][]string{},
		ips:     map[string][]net.IP{},
		mx:      map[string][]string{},
		fail:    map[string]bool{},
		delay:   map[string]time.Duration{},
		queries: map[string]int{},
	}
	pc, ln := listenPair(t)
	d.addr = pc.LocalAddr().String()
	d.udp = &dns.Server{PacketConn: pc, Handler: d}
	d.tcp = &dns.Server{Listener: ln, Handler: d}
	for _, s := range []*dns.Server{d.udp, d.tcp} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go func() { _ = s.ActivateAndServe() }()
		<-started
	}
	t.Cleanup(func() {
		// Wake delayed handlers first so shutdown does not wait for them.
		close(d.stop)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = d.udp.ShutdownContext(ctx)
		_ = d.tcp.ShutdownContext(ctx)
	})
	return d
}

// listenPair finds a port free for both UDP and TCP, because the Go
// resolver retries truncated answers over TCP on the same address.
func listenPair(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("authtest: listen udp: %v", err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		lastErr = err
		pc.Close()
	}
	t.Fatalf("authtest: no port free for udp and tcp: %v", lastErr)
	return nil, nil
}

// Addr is the host:port to give senderauth.Options.Resolver.
func (d *DNS) Addr() string { return d.addr }

// TXT adds TXT records to name. Values longer than 255 bytes (DKIM keys)
// are split into several strings of one record, as zone files do.
func (d *DNS) TXT(name string, values ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := key(name)
	d.txt[k] = append(d.txt[k], values...)
}

// A adds A or AAAA records to name (for SPF a: and mx: mechanisms).
func (d *DNS) A(name string, ips ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := key(name)
	for _, s := range ips {
		if ip := net.ParseIP(s); ip != nil {
			d.ips[k] = append(d.ips[k], ip)
		}
	}
}

// MX adds MX records (preference 10) pointing at hosts.
func (d *DNS) MX(name string, hosts ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := key(name)
	d.mx[k] = append(d.mx[k], hosts...)
}

// Fail makes every query for name answer SERVFAIL.
func (d *DNS) Fail(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail[key(name)] = true
}

// Delay makes answers for name wait dur first.
func (d *DNS) Delay(name string, dur time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.delay[key(name)] = dur
}

// Queries reports how many queries (any type) arrived for name.
func (d *DNS) Queries(name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries[key(name)]
}

func key(name string) string {
	return strings.ToLower(dns.Fqdn(name))
}

// ServeDNS implements dns.Handler.
func (d *DNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	if len(req.Question) != 1 {
		m.SetRcode(req, dns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	k := key(q.Name)

	d.mu.Lock()
	d.queries[k]++
	wait := d.delay[k]
	d.mu.Unlock()
	if wait > 0 {
		select {
		case <-time.After(wait):
		case <-d.stop:
			return
		}
	}

	d.mu.Lock()
	m = d.answer(req, q, k)
	d.mu.Unlock()

	// Honour the client's UDP size so big answers come back truncated and
	// the client retries over TCP, as with real servers.
	if _, isUDP := w.RemoteAddr().(*net.UDPAddr); isUDP {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// answer builds the reply; d.mu is held.
func (d *DNS) answer(req *dns.Msg, q dns.Question, k string) *dns.Msg {
	m := new(dns.Msg)
	if d.fail[k] {
		m.SetRcode(req, dns.RcodeServerFailure)
		return m
	}
	m.SetReply(req)
	// Without these flags the Go resolver takes an empty answer for a lame
	// referral instead of "no such record".
	m.Authoritative = true
	m.RecursionAvailable = true

	_, hasTXT := d.txt[k]
	_, hasIP := d.ips[k]
	_, hasMX := d.mx[k]
	if !hasTXT && !hasIP && !hasMX {
		m.Rcode = dns.RcodeNameError
		return m
	}
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: 60}
	}
	switch q.Qtype {
	case dns.TypeTXT:
		for _, v := range d.txt[k] {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: split255(v)})
		}
	case dns.TypeA, dns.TypeAAAA:
		for _, ip := range d.ips[k] {
			if ip4 := ip.To4(); ip4 != nil && q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: ip4})
			} else if ip.To4() == nil && q.Qtype == dns.TypeAAAA {
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: ip})
			}
		}
	case dns.TypeMX:
		for _, h := range d.mx[k] {
			m.Answer = append(m.Answer, &dns.MX{Hdr: hdr(dns.TypeMX), Preference: 10, Mx: dns.Fqdn(h)})
		}
	}
	return m
}

// split255 cuts a TXT value into character-strings of at most 255 bytes.
func split255(s string) []string {
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}
