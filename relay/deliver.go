package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Target is where a delivery goes: the upstream mailbox server or the
// outbound smarthost.
type Target struct {
	Address  string
	LMTP     bool
	Hostname string // our EHLO name
	// TLS: "none", "starttls" (upstream: opportunistic; outbound: required
	// when credentials are set) or "tls" (implicit, port 465).
	TLS        string
	RequireTLS bool
	Insecure   bool // accept any certificate
	Username   string
	Password   string
	Timeout    time.Duration
}

// RcptResult is the outcome for one recipient.
type RcptResult struct {
	Rcpt string
	Err  error // nil: delivered
	// AtRcpt: the refusal was the answer to RCPT TO (about the address),
	// not to the message (LMTP's per-recipient answers after DATA).
	AtRcpt bool
}

// Deliver sends body from from to rcpts. It returns one result per
// recipient when the transaction got that far, or a single error for the
// whole attempt (connection, greeting, MAIL, DATA). Temporary vs
// permanent is IsPermanentSMTP's call. A connection left healthy goes
// back to a small pool, so a busy queue does not open one connection per
// message to the same server (Postfix caches connections the same way).
func Deliver(ctx context.Context, t Target, from string, rcpts []string, body io.Reader, size int64) ([]RcptResult, error) {
	cl := conns.get(t)
	pooled := cl != nil
	if cl == nil {
		var err error
		if cl, err = dial(ctx, t); err != nil {
			return nil, err
		}
	}
	// A stuck server must not hold a worker forever: the whole attempt is
	// bounded by the context too.
	stop := context.AfterFunc(ctx, func() { cl.conn.Close() })
	results, err := transact(cl.c, t, from, rcpts, body, size)
	var se *smtp.SMTPError
	if pooled && errors.Is(err, errMailIO) && !errors.As(err, &se) {
		// The server closed the idle session meanwhile: nothing was
		// sent, so a fresh connection may try at once.
		stop()
		cl.c.Close()
		if cl, err = dial(ctx, t); err != nil {
			return nil, err
		}
		stop = context.AfterFunc(ctx, func() { cl.conn.Close() })
		results, err = transact(cl.c, t, from, rcpts, body, size)
	}
	stopped := stop()
	if err != nil || !stopped || cl.c.Reset() != nil {
		cl.c.Close()
		return results, err
	}
	conns.put(t, cl)
	return results, nil
}

// client is one open session with a server.
type client struct {
	c     *smtp.Client
	conn  net.Conn
	since time.Time
}

func dial(ctx context.Context, t Target) (*client, error) {
	timeout := t.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	d := net.Dialer{Timeout: 30 * time.Second}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", t.Address)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(t.Address)
	tlsCfg := &tls.Config{ServerName: host, InsecureSkipVerify: t.Insecure, MinVersion: tls.VersionTLS12}
	var c *smtp.Client
	switch {
	case t.TLS == "tls":
		conn = tls.Client(conn, tlsCfg)
		c = smtp.NewClient(conn)
	case t.LMTP:
		c = smtp.NewClientLMTP(conn)
	case t.TLS == "starttls":
		// go-smtp can STARTTLS only through NewClientStartTLS, which greets
		// as "localhost"; a small price for encryption. When the server
		// offers no STARTTLS and TLS is not required, go on in clear on a
		// fresh connection.
		c, err = smtp.NewClientStartTLS(conn, tlsCfg)
		if err != nil {
			if t.RequireTLS || !strings.Contains(err.Error(), "doesn't support STARTTLS") {
				return nil, fmt.Errorf("starttls: %w", err)
			}
			if conn, err = d.DialContext(dctx, "tcp", t.Address); err != nil {
				return nil, err
			}
			c = smtp.NewClient(conn)
		}
	default:
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout = timeout
	c.SubmissionTimeout = 4 * timeout
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	defer stop()
	if t.TLS != "starttls" {
		if err := c.Hello(t.Hostname); err != nil {
			c.Close()
			return nil, err
		}
	}
	if t.Username != "" {
		if err := c.Auth(authFor(c, t.Username, t.Password)); err != nil {
			c.Close()
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	return &client{c: c, conn: conn, since: time.Now()}, nil
}

// transact runs one mail transaction on an open session.
func transact(c *smtp.Client, t Target, from string, rcpts []string, body io.Reader, size int64) ([]RcptResult, error) {
	opts := &smtp.MailOptions{}
	if ok, _ := c.Extension("SIZE"); ok {
		opts.Size = size
	}
	if ok, _ := c.Extension("8BITMIME"); ok {
		opts.Body = smtp.Body8BitMIME
	}
	// An internationalised address (RFC 6531) needs SMTPUTF8; without it
	// go-smtp's client refuses the command, and the 5xx-free failure is
	// retried until the server gains support or we give up.
	if ok, _ := c.Extension("SMTPUTF8"); ok && !isASCII(from, rcpts) {
		opts.UTF8 = true
	}
	if err := c.Mail(from, opts); err != nil {
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			return nil, fmt.Errorf("%w: %w", errMailIO, err)
		}
		return nil, err
	}
	var results []RcptResult
	var ok []string
	for _, r := range rcpts {
		err := c.Rcpt(r, nil)
		results = append(results, RcptResult{Rcpt: r, Err: err, AtRcpt: err != nil})
		if err == nil {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return results, nil
	}
	w, err := c.Data()
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(w, body); err != nil {
		w.Close()
		return nil, err
	}
	if t.LMTP {
		// LMTP answers per recipient after the body.
		_, err := w.CloseWithLMTPResponse()
		var lerr smtp.LMTPDataError
		if err != nil && !errors.As(err, &lerr) {
			return nil, err
		}
		for i := range results {
			if results[i].Err == nil {
				if e, bad := lerr[results[i].Rcpt]; bad {
					results[i].Err = e
				}
			}
		}
	} else if err := w.Close(); err != nil {
		return nil, err
	}
	return results, nil
}

// errMailIO marks a connection failure at MAIL, before anything of the
// message was sent.
var errMailIO = errors.New("connection lost before MAIL")

// pool keeps a few idle sessions per target.
type pool struct {
	mu   sync.Mutex
	idle map[string][]*client
}

var conns = &pool{idle: map[string][]*client{}}

const (
	maxIdlePerTarget = 4
	// maxIdleAge stays well under the 5 minutes a server waits for a
	// command (RFC 5321 §4.5.3.2.7), so a pooled session is still open.
	maxIdleAge = 30 * time.Second
)

func poolKey(t Target) string {
	return fmt.Sprintf("%s|%v|%s|%s", t.Address, t.LMTP, t.TLS, t.Username)
}

func (p *pool) get(t Target) *client {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := poolKey(t)
	for list := p.idle[k]; len(list) > 0; list = p.idle[k] {
		cl := list[len(list)-1]
		p.idle[k] = list[:len(list)-1]
		if time.Since(cl.since) < maxIdleAge {
			return cl
		}
		go cl.c.Close()
	}
	return nil
}

func (p *pool) put(t Target, cl *client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := poolKey(t)
	if len(p.idle[k]) >= maxIdlePerTarget {
		go cl.c.Quit()
		return
	}
	cl.since = time.Now()
	p.idle[k] = append(p.idle[k], cl)
}

// authFor picks PLAIN, or LOGIN for the servers that offer only that.
func authFor(c *smtp.Client, user, pass string) sasl.Client {
	if ok, params := c.Extension("AUTH"); ok && !containsWord(params, "PLAIN") && containsWord(params, "LOGIN") {
		return sasl.NewLoginClient(user, pass)
	}
	return sasl.NewPlainClient("", user, pass)
}

func containsWord(s, w string) bool {
	for _, f := range splitFields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// IsPermanentSMTP tells a 5xx answer (give up on that recipient) from
// everything else, which is retried: 4xx, connection and TLS trouble.
func IsPermanentSMTP(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 500 && se.Code < 600
}

func isASCII(from string, rcpts []string) bool {
	for _, s := range append([]string{from}, rcpts...) {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return false
			}
		}
	}
	return true
}
