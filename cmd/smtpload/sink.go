package main

import (
	"io"
	"log"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// sink is an SMTP server that accepts every message and discards it, counting
// messages and bytes. It is the upstream for supportgate in bench/run.sh and
// the target of the unit test.
type sink struct {
	msgs  atomic.Int64
	bytes atomic.Int64
	// onMessage, if set, sees the size of every accepted message (tests).
	onMessage func(size int64)
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return sinkSession{s}, nil }

type sinkSession struct{ s *sink }

func (sinkSession) Reset()                               {}
func (sinkSession) Logout() error                        { return nil }
func (sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss sinkSession) Data(r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	ss.s.msgs.Add(1)
	ss.s.bytes.Add(n)
	if ss.s.onMessage != nil {
		ss.s.onMessage(n)
	}
	return nil
}

// serve runs the sink on l until the returned server is closed.
func (s *sink) serve(l net.Listener, maxBytes int64) *smtp.Server {
	srv := smtp.NewServer(s)
	srv.Domain = "smtpload-sink.invalid"
	srv.MaxMessageBytes = maxBytes // 0: no limit, 10 MB bench messages must pass
	// Bounded so a stuck client cannot pin a session forever.
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = log.New(io.Discard, "", 0) // per-connection noise is not useful here
	go func() { _ = srv.Serve(l) }()
	return srv
}
