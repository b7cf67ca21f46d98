package relay

import (
	"log/slog"
	"net"
	"sync"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"supportgate/metrics"
	"supportgate/rules"
)

// proxyHeaderTimeout bounds the wait for a PROXY header: a load balancer
// sends it at once, before anything else.
const proxyHeaderTimeout = 5 * time.Second

// proxyListener reads the PROXY protocol (v1 or v2) header of connections
// from trusted relays when [smtp] proxy_protocol is on, so that the rest
// (limits, logs, SPF) sees the client the load balancer saw. The header
// is believed only from trusted addresses: from anyone else it is not
// read at all, and a client that sends one gets its SMTP session as
// usual (the header is an unknown command). SMTP is server-speaks-first,
// so the header cannot be optional: a trusted peer must send one.
//
// Each header is read in its own goroutine, so one slow peer does not
// stall the accept loop.
type proxyListener struct {
	net.Listener
	cfg   *rules.Holder
	log   *slog.Logger
	ready chan net.Conn
	errc  chan error
	once  sync.Once
	done  chan struct{}
}

func newProxyListener(ln net.Listener, cfg *rules.Holder, log *slog.Logger) *proxyListener {
	p := &proxyListener{Listener: ln, cfg: cfg, log: log, ready: make(chan net.Conn), errc: make(chan error, 1), done: make(chan struct{})}
	go p.loop()
	return p
}

func (p *proxyListener) loop() {
	for {
		c, err := p.Listener.Accept()
		if err != nil {
			select {
			case p.errc <- err:
			case <-p.done:
			}
			return
		}
		cfg := p.cfg.Get()
		if !cfg.SMTP.ProxyProtocol || !Trusted(cfg, remoteIP(c)) {
			p.hand(c)
			continue
		}
		go func() {
			pc := proxyproto.NewConn(c, proxyproto.WithPolicy(proxyproto.REQUIRE), proxyproto.SetReadHeaderTimeout(proxyHeaderTimeout))
			if pc.ProxyHeader() == nil {
				metrics.Rejected.WithLabelValues("proxy-header").Inc()
				p.log.Warn("connection refused: no valid PROXY header from a trusted address (smtp.proxy_protocol is on)", "peer", remoteIP(c))
				c.Close()
				return
			}
			p.hand(pc)
		}()
	}
}

func (p *proxyListener) hand(c net.Conn) {
	select {
	case p.ready <- c:
	case <-p.done:
		c.Close()
	}
}

func (p *proxyListener) Accept() (net.Conn, error) {
	select {
	case c := <-p.ready:
		return c, nil
	case err := <-p.errc:
		return nil, err
	case <-p.done:
		return nil, net.ErrClosed
	}
}

func (p *proxyListener) Close() error {
	p.once.Do(func() { close(p.done) })
	return p.Listener.Close()
}
