package relay

import (
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"supportgate/metrics"
	"supportgate/rules"
)

// The limits that must hold when many sessions push at once (issue 14).

var (
	errConnMessages = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Too many messages on this connection; reconnect and try again"}
	errIPMessages   = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Too many messages from your address; try again later"}
)

// perIPLimitsApply asks the config (rules.Config.PerIPLimitsApply, the
// one predicate for every per-IP limit); l.mu is held.
func (l *limiter) perIPLimitsApply(ip string) bool { return l.cfg == nil || l.cfg.PerIPLimitsApply(ip) }

// allowIPMessage counts a MAIL against the per-IP hourly cap.
func (l *limiter) allowIPMessage(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perIPMsgs <= 0 || !l.perIPLimitsApply(ip) {
		return true
	}
	if l.ipMsgs == nil {
		l.ipMsgs = map[string][]time.Time{}
	}
	r := prune(l.ipMsgs[ip], now.Add(-time.Hour))
	if len(r) >= l.perIPMsgs {
		l.ipMsgs[ip] = r
		return false
	}
	l.ipMsgs[ip] = append(r, now)
	if len(l.ipMsgs) > 100000 { // bound memory under a scan from many IPs
		clear(l.ipMsgs)
	}
	return true
}

// connOf finds our counted connection under go-smtp's (and TLS's) wrappers.
func connOf(c net.Conn) *countedConn {
	for c != nil {
		if cc, ok := c.(*countedConn); ok {
			return cc
		}
		tc, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = tc.NetConn()
	}
	return nil
}

// floodCheck applies the per-connection and per-IP message caps at MAIL;
// nil lets the transaction start.
func (s *session) floodCheck() error {
	if !s.cfg.PerIPLimitsApply(s.ip) {
		return nil
	}
	if max := s.cfg.SMTP.MaxMessagesPerConnection; max > 0 {
		if cc := connOf(s.conn.Conn()); cc != nil && cc.messages.Add(1) > int64(max) {
			metrics.LimitHits.WithLabelValues("messages-per-connection").Inc()
			return errConnMessages
		}
	}
	if !s.srv.limits.allowIPMessage(s.ip, time.Now()) {
		metrics.LimitHits.WithLabelValues("messages-per-ip").Inc()
		return errIPMessages
	}
	return nil
}

// The queue's byte cap, reserved: a session holds the bytes it announced
// (MAIL ... SIZE=) and, while the body streams, what it has written, so
// N sessions that each fit alone cannot pass max_queue_bytes together.
// Accepted bytes move to spoolBytes; an aborted or refused message gives
// its reservation back.

// reserveStep is how much more a streaming session reserves at a time.
const reserveStep = 256 << 10

// reserve adds n to the reservation unless that would pass the cap.
func (s *Server) reserve(c *rules.Config, n int64) bool {
	max := c.Storage.MaxQueueBytes
	for {
		cur := s.reserved.Load()
		if max > 0 && n > 0 && s.spoolBytes.Load()+cur+n > max {
			return false
		}
		if s.reserved.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

func (s *Server) unreserve(n int64) { s.reserved.Add(-n) }

// reserve makes the session's reservation cover total bytes.
func (s *session) reserve(total int64) error {
	if total <= s.reservedBytes {
		return nil
	}
	need := max(total-s.reservedBytes, reserveStep)
	if !s.srv.reserve(s.cfg, need) {
		metrics.LimitHits.WithLabelValues("queue-full").Inc()
		return errQueueFull
	}
	s.reservedBytes += need
	return nil
}

// releaseReserved gives the reservation back (idempotent).
func (s *session) releaseReserved() {
	if s.reservedBytes != 0 {
		s.srv.unreserve(s.reservedBytes)
		s.reservedBytes = 0
	}
}

// messagesCounter is embedded in countedConn.
type messagesCounter struct{ messages atomic.Int64 }
