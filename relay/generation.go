package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"supportgate/rules"
)

// go-smtp reads its settings (size, recipients, line length, timeouts,
// hostname) without a lock, so they cannot change under a running
// server. A reload instead starts a new server with the new settings on
// the same listening socket: new connections go to it, sessions already
// open finish on the old one, which then stops. These are generations.

// generation is one go-smtp server and the connections handed to it.
type generation struct {
	srv   *smtp.Server
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	addr  net.Addr
}

// Accept, Close and Addr make a generation the net.Listener its server
// serves: connections come from the dispatcher, not from a socket.
func (g *generation) Accept() (net.Conn, error) {
	select {
	case c := <-g.conns:
		return c, nil
	case <-g.done:
		return nil, net.ErrClosed
	}
}

func (g *generation) Close() error   { g.once.Do(func() { close(g.done) }); return nil }
func (g *generation) Addr() net.Addr { return g.addr }

// newGeneration builds a go-smtp server for config c.
func (s *Server) newGeneration(c *rules.Config, addr net.Addr) *generation {
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = c.SMTP.Hostname
	srv.MaxMessageBytes = c.SMTP.MaxMessageBytes
	srv.MaxRecipients = c.SMTP.MaxRecipients
	srv.MaxLineLength = c.SMTP.MaxLineLength
	// go-smtp re-arms the read deadline per command line, and one deadline
	// covers the whole of DATA, so it must fit the biggest message on a
	// slow link: the larger of the two timeouts.
	srv.ReadTimeout = max(c.SMTP.CommandTimeout.D(), c.SMTP.DataTimeout.D())
	srv.WriteTimeout = time.Minute
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = slogErrorLog{s.log}
	if c.SMTP.TLSCert != "" {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.cert.Load(), nil
		}}
	}
	return &generation{srv: srv, conns: make(chan net.Conn), done: make(chan struct{}), addr: addr}
}

// start serves g and makes it the one new connections go to; the one
// before it is shut down gracefully in the background.
func (s *Server) start(g *generation) {
	// Under the lock that Shutdown takes to set stopping: no generation
	// starts (and no wg.Add races wg.Wait) once shutdown has begun.
	s.mu.Lock()
	if s.stopping.Load() {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	old := s.gen
	s.gen = g
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		if err := g.srv.Serve(g); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.log.Error("smtp server", "err", err)
		}
	}()
	if old != nil {
		go s.retire(old, context.Background())
	}
}

// retire stops a generation: no new connections, open sessions finish
// (bounded by the data timeout).
func (s *Server) retire(g *generation, ctx context.Context) error {
	g.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	err := g.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		g.srv.Close()
	}
	if errors.Is(err, net.ErrClosed) || errors.Is(err, smtp.ErrServerClosed) {
		err = nil
	}
	return err
}

// dispatch hands each accepted connection to the current generation.
func (s *Server) dispatch(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		for {
			s.mu.Lock()
			g := s.gen
			s.mu.Unlock()
			if g == nil { // shutting down before the first generation
				c.Close()
				break
			}
			select {
			case g.conns <- c:
			case <-g.done: // retired meanwhile: hand it to the next one
				continue
			}
			break
		}
	}
}
