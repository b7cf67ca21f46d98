package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
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
}

// Deliver sends body from from to rcpts. It returns one
// result per recipient when the transaction got that far, or a single
// error for the whole attempt (connection, greeting, MAIL, DATA).
// Temporary vs permanent is IsPermanentSMTP's call.
func Deliver(ctx context.Context, t Target, from string, rcpts []string, f io.Reader, size int64) ([]RcptResult, error) {
	timeout := t.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	d := net.Dialer{Timeout: 30 * time.Second}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	conn, err := d.DialContext(dctx, "tcp", t.Address)
	cancel()
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(t.Address)
	tlsCfg := &tls.Config{ServerName: host, InsecureSkipVerify: t.Insecure, MinVersion: tls.VersionTLS12}
	var c *smtp.Client
	switch {
	case t.TLS == "tls":
		c = smtp.NewClient(tls.Client(conn, tlsCfg))
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
			if conn, err = d.DialContext(ctx, "tcp", t.Address); err != nil {
				return nil, err
			}
			c = smtp.NewClient(conn)
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	c.CommandTimeout = timeout
	c.SubmissionTimeout = 4 * timeout
	// A stuck server must not hold a worker forever: the whole attempt is
	// bounded by the context too.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	if t.TLS != "starttls" {
		if err := c.Hello(t.Hostname); err != nil {
			return nil, err
		}
	}
	if t.Username != "" {
		if err := c.Auth(authFor(c, t.Username, t.Password)); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	opts := &smtp.MailOptions{}
	if ok, _ := c.Extension("SIZE"); ok {
		opts.Size = size
	}
	if ok, _ := c.Extension("8BITMIME"); ok {
		opts.Body = smtp.Body8BitMIME
	}
	if err := c.Mail(from, opts); err != nil {
		return nil, err
	}
	var results []RcptResult
	var ok []string
	for _, r := range rcpts {
		err := c.Rcpt(r, nil)
		results = append(results, RcptResult{Rcpt: r, Err: err})
		if err == nil {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		c.Reset()
		return results, nil
	}
	w, err := c.Data()
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(w, f); err != nil {
		w.Close()
		return nil, err
	}
	if t.LMTP {
		// LMTP answers per recipient after the body.
		resp, err := w.CloseWithLMTPResponse()
		var lerr smtp.LMTPDataError
		if err != nil && !errors.As(err, &lerr) {
			return nil, err
		}
		_ = resp
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
	c.Quit()
	return results, nil
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
