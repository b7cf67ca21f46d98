package relay

import (
	"bytes"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/metrics"
	"supportgate/store"
)

// ErrQueueFull is Submit's refusal when the spool is over its bounds
// ([storage] max_queue_messages / max_queue_bytes), as SMTP's 451 4.3.1.
var ErrQueueFull = errors.New("queue full, try again later")

// Submit accepts a message made inside the gateway (a web-form appeal,
// docs/CONTRACT.md "[webform]") the way DATA accepts one from SMTP: our
// Received: line and the body spooled (inline in the database, or a file
// fsynced and its folder fsynced), and the record committed with the
// first jobs of the same Planner in the store's group commit. It returns
// only once that commit is durable, so the caller may say "thank you".
// m carries the envelope (From, Rcpts), ClientIP, Channel and Consent;
// ID, Size, Received and Inline are set here. proto names the channel in
// the Received: line ("HTTP", "HTTPS").
func (s *Server) Submit(m *store.Message, helo, proto string, body []byte) error {
	c := s.cfg.Get()
	if s.queueFull(c) {
		return ErrQueueFull
	}
	start := time.Now()
	if m.ID == "" {
		m.ID = store.NewID()
	}
	rcpt := ""
	if len(m.Rcpts) == 1 {
		rcpt = m.Rcpts[0]
	}
	sw := newSpool(s.st.SpoolPath(m.ID))
	if err := sw.writeTrace(received(helo, m.ClientIP, c.SMTP.Hostname, proto, m.ID, rcpt, start)); err != nil {
		sw.abort()
		return err
	}
	if err := sw.copyBody(bytes.NewReader(body), 0); err != nil {
		sw.abort()
		return err
	}
	if err := sw.commit(); err != nil {
		sw.abort()
		return err
	}
	m.Size, m.Received, m.Helo, m.Inline = sw.n, start, helo, sw.inline()
	jobs := s.plan(c, m)
	put := func(tx *bolt.Tx) error {
		if m.Inline {
			if err := store.PutBody(tx, m.ID, sw.bytes()); err != nil {
				return err
			}
		}
		return store.PutMessage(tx, m, jobs...)
	}
	var err error
	if m.Inline {
		err = s.st.Update(put)
	} else {
		err = s.st.Commit(put)
	}
	if err != nil {
		sw.abort()
		return err
	}
	sw.release()
	metrics.AcceptedBytes.Add(float64(sw.n))
	s.noteAccepted(sw.n)
	return nil
}
