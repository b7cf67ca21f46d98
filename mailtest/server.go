// Package mailtest is a real SMTP/LMTP server for tests (go-smtp on a
// loopback port) that records what it receives and injects failures, the
// way maddy's testutils do: it plays the upstream mailbox server and the
// outbound smarthost in supportgate's end-to-end tests.
package mailtest

import (
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Msg is one received message.
type Msg struct {
	From  string
	Rcpts []string
	Data  []byte
	At    time.Time
}

// Server records messages and fails on demand.
type Server struct {
	t    testing.TB
	srv  *smtp.Server
	ln   net.Listener
	addr string

	mu      sync.Mutex
	msgs    []Msg
	mailErr error
	rcptErr map[string]error
	// LMTP only: per-recipient answers after DATA
	dataRcptErr map[string]error
	dataErr     error
	failNext    int // fail the next n DATA with dataErr
	arrived     chan struct{}
	// Auth, when set, requires AUTH PLAIN with these credentials.
	user, pass string
}

// Start runs a server on 127.0.0.1:0 (lmtp selects LMTP).
func Start(t testing.TB, lmtp bool) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return StartOn(t, ln, lmtp)
}

// StartOn serves on a listener the test made (to start an upstream on a
// port that was down before).
func StartOn(t testing.TB, ln net.Listener, lmtp bool) *Server {
	s := &Server{t: t, ln: ln, addr: ln.Addr().String(), rcptErr: map[string]error{}, dataRcptErr: map[string]error{}, arrived: make(chan struct{}, 1000)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "mailtest.local"
	srv.LMTP = lmtp
	srv.AllowInsecureAuth = true
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = nopLog{}
	s.srv = srv
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return s.addr }

// Close stops the server (an upstream going down).
func (s *Server) Close() { s.srv.Close() }

// RequireAuth makes the server demand AUTH PLAIN user/pass.
func (s *Server) RequireAuth(user, pass string) {
	s.mu.Lock()
	s.user, s.pass = user, pass
	s.mu.Unlock()
}

// FailMail makes MAIL answer err (nil clears).
func (s *Server) FailMail(err error) { s.mu.Lock(); s.mailErr = err; s.mu.Unlock() }

// FailRcpt makes RCPT TO rcpt answer err.
func (s *Server) FailRcpt(rcpt string, err error) {
	s.mu.Lock()
	s.rcptErr[strings.ToLower(rcpt)] = err
	s.mu.Unlock()
}

// FailDataRcpt makes an LMTP server answer err for rcpt after DATA (a
// full mailbox, a Sieve reject), while the other recipients get the
// message.
func (s *Server) FailDataRcpt(rcpt string, err error) {
	s.mu.Lock()
	s.dataRcptErr[strings.ToLower(rcpt)] = err
	s.mu.Unlock()
}

// FailData makes the next n DATA answer err.
func (s *Server) FailData(n int, err error) {
	s.mu.Lock()
	s.failNext, s.dataErr = n, err
	s.mu.Unlock()
}

// Messages returns what arrived so far.
func (s *Server) Messages() []Msg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Msg(nil), s.msgs...)
}

// Wait waits until n messages have arrived or d passes.
func (s *Server) Wait(n int, d time.Duration) []Msg {
	deadline := time.After(d)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.arrived:
		case <-deadline:
			return s.Messages()
		}
	}
}

// Temp and Perm are ready-made failures.
var (
	Temp = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	Perm = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
)

type session struct {
	s     *Server
	authd bool
	from  string
	rcpts []string
}

func (x *session) Reset()        { x.from, x.rcpts = "", nil }
func (x *session) Logout() error { return nil }

func (x *session) AuthMechanisms() []string { return []string{"PLAIN"} }

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if x.s.user != "" && !x.authd {
		return smtp.ErrAuthRequired
	}
	if x.s.mailErr != nil {
		return x.s.mailErr
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if err := x.s.rcptErr[strings.ToLower(to)]; err != nil {
		return err
	}
	x.rcpts = append(x.rcpts, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if x.s.failNext > 0 {
		x.s.failNext--
		return x.s.dataErr
	}
	x.s.msgs = append(x.s.msgs, Msg{From: x.from, Rcpts: append([]string(nil), x.rcpts...), Data: b, At: time.Now()})
	select {
	case x.s.arrived <- struct{}{}:
	default:
	}
	return nil
}

// LMTPData answers per recipient (FailDataRcpt); the message is recorded
// for the recipients that took it.
func (x *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if x.s.failNext > 0 {
		x.s.failNext--
		return x.s.dataErr
	}
	var took []string
	for _, rc := range x.rcpts {
		e := x.s.dataRcptErr[strings.ToLower(rc)]
		status.SetStatus(rc, e)
		if e == nil {
			took = append(took, rc)
		}
	}
	if len(took) > 0 {
		x.s.msgs = append(x.s.msgs, Msg{From: x.from, Rcpts: took, Data: b, At: time.Now()})
		select {
		case x.s.arrived <- struct{}{}:
		default:
		}
	}
	return nil
}

// Body returns the message data after the first header block ends.
func (m Msg) Body() []byte {
	if i := bytes.Index(m.Data, []byte("\r\n\r\n")); i >= 0 {
		return m.Data[i+4:]
	}
	return nil
}

type nopLog struct{}

func (nopLog) Printf(string, ...any) {}
func (nopLog) Println(...any)        {}
