// Package relay is the SMTP side of supportgate: the listener that accepts
// mail for the support addresses durably, and the delivery of spooled
// messages to the upstream mailbox server and the outbound smarthost.
package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"supportgate/metrics"
	"supportgate/rules"
	"supportgate/senderauth"
	"supportgate/store"
)

// Planner returns the jobs an accepted message starts with. The session
// knows nothing of what they are, so later stages (processing, replies,
// tasks) add job kinds without touching it.
type Planner func(cfg *rules.Config, m *store.Message) []*store.Job

// Server is the SMTP listener.
type Server struct {
	cfg    *rules.Holder
	st     *store.Store
	log    *slog.Logger
	plan   Planner
	limits *limiter

	cert atomic.Pointer[tls.Certificate]
	// dmarc checks senders at DATA when [auth] reject_dmarc is on.
	dmarc atomic.Pointer[senderauth.Checker]

	// approximate spool use, for the queue-full check without a scan.
	spoolMsgs  atomic.Int64
	spoolBytes atomic.Int64
	// reserved is what open sessions hold against max_queue_bytes.
	reserved atomic.Int64

	connID   atomic.Uint64
	mu       sync.Mutex
	ln       net.Listener
	gen      *generation // the go-smtp server new connections go to
	wg       sync.WaitGroup
	stopping atomic.Bool
}

// NewServer makes the SMTP server. plan decides the jobs of each message.
func NewServer(cfg *rules.Holder, st *store.Store, log *slog.Logger, plan Planner) (*Server, error) {
	s := &Server{cfg: cfg, st: st, log: log, plan: plan}
	c := cfg.Get()
	s.limits = newLimiter(c)
	s.setChecker(c)
	if err := s.LoadCert(); err != nil {
		return nil, err
	}
	if stats, err := st.Stats(); err == nil {
		s.spoolMsgs.Store(int64(stats.Messages))
		s.spoolBytes.Store(stats.SpoolBytes)
	}
	return s, nil
}

func (s *Server) setChecker(c *rules.Config) {
	if !c.Auth.RejectDMARC {
		s.dmarc.Store(nil)
		return
	}
	s.dmarc.Store(senderauth.New(senderauth.Options{Resolver: c.Auth.Resolver, Timeout: c.Auth.Timeout.D(), AuthservID: c.SMTP.Hostname}))
}

// LoadCert (re)reads the TLS certificate; SIGHUP calls it so a renewed
// certificate takes effect without a restart.
func (s *Server) LoadCert() error {
	c := s.cfg.Get()
	if c.SMTP.TLSCert == "" {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(c.SMTP.TLSCert, c.SMTP.TLSKey)
	if err != nil {
		return err
	}
	s.cert.Store(&cert)
	return nil
}

// Reload applies a new config to the listener: limits, the sender check,
// the certificate, and (through a new server generation) everything
// go-smtp holds. Only the listen address needs a restart.
func (s *Server) Reload() {
	s.limits.update(s.cfg.Get())
	s.setChecker(s.cfg.Get())
	if err := s.LoadCert(); err != nil {
		s.log.Error("TLS certificate not reloaded; the old one stays", "err", err)
	}
	s.mu.Lock()
	g := s.gen
	s.mu.Unlock()
	if g != nil && !s.stopping.Load() {
		// Size, recipients, line length, timeouts, hostname, TLS: a new
		// server generation on the same socket.
		s.start(s.newGeneration(s.cfg.Get(), g.addr))
	}
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	ip := remoteIP(c.Conn())
	log := s.log.With("conn_id", connIDOf(c.Conn()), "client", ip, "helo", c.Hostname())
	return &session{srv: s, conn: c, log: log, ip: ip, trusted: Trusted(s.cfg.Get(), ip)}, nil
}

// Listen binds the configured address (so callers learn a :0 port).
func (s *Server) Listen() (net.Addr, error) {
	ln, err := net.Listen("tcp", s.cfg.Get().SMTP.Listen)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.ln = &limitListener{Listener: newProxyListener(ln, s.cfg, s.log), lim: s.limits, log: s.log, ids: &s.connID}
	s.mu.Unlock()
	return ln.Addr(), nil
}

// refreshCounters re-reads the spool use now and then, so the cheap
// counters the queue-full check uses do not drift as jobs finish.
func (s *Server) refreshCounters(stop <-chan struct{}) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if st, err := s.st.Stats(); err == nil {
				s.spoolMsgs.Store(int64(st.Messages))
				s.spoolBytes.Store(st.SpoolBytes)
			}
		}
	}
}

// Serve runs until Shutdown.
func (s *Server) Serve() error {
	stop := make(chan struct{})
	defer close(stop)
	go s.refreshCounters(stop)
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln == nil {
		return errors.New("relay: Serve before Listen")
	}
	s.start(s.newGeneration(s.cfg.Get(), ln.Addr()))
	err := s.dispatch(ln)
	if s.stopping.Load() {
		// Shutdown may have come before the first generation started.
		s.mu.Lock()
		g := s.gen
		s.mu.Unlock()
		if g != nil {
			g.Close()
		}
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for open sessions up to ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopping.Store(true)
	if s.ln != nil {
		s.ln.Close()
	}
	g := s.gen
	s.mu.Unlock()
	var err error
	if g != nil {
		err = s.retire(g, ctx)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	return err
}

// queueFull is the cheap spool bound check done at MAIL.
func (s *Server) queueFull(c *rules.Config) bool {
	full := (c.Storage.MaxQueueMessages > 0 && s.spoolMsgs.Load() >= int64(c.Storage.MaxQueueMessages)) ||
		(c.Storage.MaxQueueBytes > 0 && s.spoolBytes.Load()+s.reserved.Load() >= c.Storage.MaxQueueBytes)
	if full {
		metrics.LimitHits.WithLabelValues("queue-full").Inc()
	}
	return full
}

func (s *Server) noteAccepted(n int64) { s.spoolMsgs.Add(1); s.spoolBytes.Add(n) }

// slogErrorLog routes go-smtp's own error lines into our log.
type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Printf(format string, v ...any) {
	l.log.Warn("smtp", "msg", fmt.Sprintf(format, v...))
}
func (l slogErrorLog) Println(v ...any) { l.log.Warn("smtp", "msg", fmt.Sprint(v...)) }
