package relay

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	bolt "go.etcd.io/bbolt"

	"supportgate/metrics"
	"supportgate/rules"
	"supportgate/senderauth"
	"supportgate/store"
)

// session is one SMTP transaction state machine, made by go-smtp at
// EHLO/HELO (and again after STARTTLS).
type session struct {
	srv   *Server
	conn  *smtp.Conn
	log   *slog.Logger
	cfg   *rules.Config // read once per transaction
	ip    string
	from  string
	rcpts []string

	// trusted: the peer is one of [smtp] trusted_relays (Trusted).
	trusted       bool
	reservedBytes int64 // bytes reserved against storage.max_queue_bytes
}

func (s *session) Reset() {
	s.releaseReserved()
	s.from, s.rcpts, s.cfg = "", nil, nil
}

func (s *session) Logout() error { s.releaseReserved(); return nil }

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.Reset()
	s.cfg = s.srv.cfg.Get()
	if s.cfg.SMTP.RequireTLS {
		if _, ok := s.conn.TLSConnectionState(); !ok {
			return s.refuse(errNeedTLS, "from", from)
		}
	}
	if hasControl(from) {
		// go-smtp passes NUL and friends through; SPF would check a
		// different name than the one we reply to (issue 14).
		return s.refuse(errControlChar, "from", from)
	}
	if from != "" {
		if _, err := mail.ParseAddress("<" + from + ">"); err != nil && !looseAddr(from) {
			return s.refuse(errBadSender, "from", from)
		}
	}
	if s.srv.queueFull(s.cfg) {
		return s.refuse(errQueueFull, "from", from)
	}
	if err := s.floodCheck(); err != nil {
		return s.refuse(err.(*smtp.SMTPError), "from", from)
	}
	// The announced size is reserved now (0 reserves the first step
	// with the first bytes): a message that cannot fit is refused
	// before its body is sent.
	if opts != nil && opts.Size > 0 {
		if err := s.reserve(opts.Size); err != nil {
			return s.refuse(errQueueFull, "from", from)
		}
	}
	if s.srv.limits != nil && !s.srv.limits.allowSender(from, s.trusted) {
		metrics.LimitHits.WithLabelValues("sender-per-hour").Inc()
		return s.refuse(errSenderLimit, "from", from)
	}
	s.from = from
	return nil
}

// hasControl reports a C0 control character or DEL in an address: no
// address has one, and a NUL cuts it short for C code downstream.
func hasControl(a string) bool {
	for i := 0; i < len(a); i++ {
		if a[i] < 0x20 || a[i] == 0x7f {
			return true
		}
	}
	return false
}

// looseAddr accepts what real senders use but net/mail refuses (quoted
// local parts with odd characters, SMTPUTF8 addresses): we must never lose a
// customer's mail over address pedantry, only refuse what is clearly junk.
func looseAddr(a string) bool {
	at := strings.LastIndexByte(a, '@')
	return at > 0 && at < len(a)-1 && !strings.ContainsAny(a, " \t\r\n<>")
}

func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	if hasControl(to) {
		return s.refuse(errControlChar, "rcpt", to)
	}
	if !looseAddr(to) {
		return s.refuse(errBadRcpt, "rcpt", to)
	}
	// Never an open relay: only our mailboxes and the journal address.
	if s.cfg.FindMailbox(to) == nil && !s.cfg.IsJournal(to) {
		return s.refuse(errNoSuchUser, "rcpt", to)
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *session) refuse(e *smtp.SMTPError, k, v string) error {
	_, reason := reply(s.log, e)
	metrics.Rejected.WithLabelValues(reason).Inc()
	s.log.Info("refused", "reason", reason, k, v, "code", e.Code)
	return e
}

func (s *session) Data(r io.Reader) error {
	id := store.NewID()
	log := s.log.With("queue_id", id)
	err := s.accept(id, log, r)
	if err != nil {
		se, reason := reply(log, err)
		metrics.Rejected.WithLabelValues(reason).Inc()
		log.Info("message refused", "reason", reason, "code", se.Code)
		return se
	}
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK: queued as " + id}
}

// accept spools the body and commits its jobs. Order matters, and is the
// whole durability argument: file data fsynced → spool folder fsynced →
// bbolt committed → 250. A crash before the commit leaves an orphan file
// (swept at start) and a client that never saw 250, so it retries.
func (s *session) accept(id string, log *slog.Logger, r io.Reader) error {
	start := time.Now()
	sw := newSpool(s.srv.st.SpoolPath(id))
	sw.grow = s.reserve
	proto := "ESMTP"
	if _, ok := s.conn.TLSConnectionState(); ok {
		proto = "ESMTPS"
	}
	rcpt := ""
	if len(s.rcpts) == 1 {
		rcpt = s.rcpts[0]
	}
	if err := sw.writeTrace(received(s.conn.Hostname(), s.ip, s.cfg.SMTP.Hostname, proto, id, rcpt, start)); err != nil {
		sw.abort()
		return err
	}
	if err := sw.copyBody(r, s.cfg.SMTP.MaxHeaderBytes); err != nil {
		sw.abort()
		return err
	}
	dataDone := time.Now()
	if err := sw.commit(); err != nil {
		sw.abort()
		return err
	}
	m := &store.Message{ID: id, From: s.from, Rcpts: append([]string(nil), s.rcpts...), Size: sw.n,
		Received: start, ClientIP: s.ip, Helo: s.conn.Hostname(), Inline: sw.inline()}
	s.setOrigin(m, sw, log)
	if err := s.checkDMARC(m, sw, log); err != nil {
		sw.abort()
		return err
	}
	jobs := s.srv.plan(s.cfg, m)
	var err error
	put := func(tx *bolt.Tx) error {
		if m.Inline {
			if err := store.PutBody(tx, id, sw.bytes()); err != nil {
				return err
			}
		}
		return store.PutMessage(tx, m, jobs...)
	}
	if m.Inline {
		// No spool file: the record and body are durable with the
		// commit; no folder fsync needed.
		err = s.srv.st.Update(put)
	} else {
		err = s.srv.st.Commit(put)
	}
	if err != nil {
		sw.abort()
		return err
	}
	sw.release()
	s.srv.noteAccepted(sw.n)
	s.releaseReserved() // now counted in spoolBytes
	metrics.Accepted.Inc()
	metrics.AcceptedBytes.Add(float64(sw.n))
	metrics.AcceptLatency.Observe(time.Since(dataDone).Seconds())
	log.Info("accepted", "from", s.from, "rcpts", s.rcpts, "size", sw.n, "jobs", len(jobs),
		"commit_ms", float64(time.Since(dataDone).Microseconds())/1000)
	return nil
}

// checkDMARC refuses, when [auth] reject_dmarc is on, mail whose sender
// domain publishes p=reject and fails DMARC: the domain asked for exactly
// that. Lookups are bounded by [auth] timeout; anything but a clear fail
// (temperror included) is accepted, and the message goes on to the usual
// checks after the 250.
func (s *session) checkDMARC(m *store.Message, sw *spoolWriter, log *slog.Logger) error {
	ch := s.srv.dmarc.Load()
	if ch == nil {
		return nil
	}
	body := func() (io.Reader, error) {
		if sw.inline() {
			return bytes.NewReader(sw.bytes()), nil
		}
		return os.Open(sw.path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*s.cfg.Auth.Timeout.D())
	defer cancel()
	// m's client: behind a trusted relay, the original one (setOrigin).
	res := ch.Check(ctx, senderauth.Input{IP: net.ParseIP(m.ClientIP), Helo: m.Helo, MailFrom: s.from, Message: body})
	m.AuthResults = res.Header(s.cfg.SMTP.Hostname)
	m.SPF, m.DMARC = string(res.SPF), string(res.DMARC)
	if senderauth.RejectAtSMTP(res) {
		log.Info("refused: DMARC p=reject", "from_domain", res.FromDomain, "spf", res.SPF, "dkim", res.DKIM)
		return errDMARCReject
	}
	return nil
}

// remoteIP is the client's address without the port.
func remoteIP(c net.Conn) string {
	if c == nil {
		return "unknown"
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}
