package relay

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"supportgate/metrics"
	"supportgate/rules"
)

// limiter holds the connection and sender limits. go-smtp has no
// max-connections knob, so the listener enforces them before the greeting.
type limiter struct {
	mu        sync.Mutex
	maxConns  int
	maxPerIP  int
	perMinute int
	perSender int
	open      int
	byIP      map[string]int
	recent    map[string][]time.Time // connections per IP in the last minute
	senders   map[string][]time.Time // messages per sender in the last hour
	perIPMsgs int
	ipMsgs    map[string][]time.Time // messages per client IP in the last hour
	cfg       *rules.Config          // for PerIPLimitsApply

	// the caps for trusted relays and the test (trusted.go)
	trustedCaps
}

func newLimiter(c *rules.Config) *limiter {
	l := &limiter{byIP: map[string]int{}, recent: map[string][]time.Time{}, senders: map[string][]time.Time{}}
	l.update(c)
	return l
}

func (l *limiter) update(c *rules.Config) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maxConns, l.maxPerIP = c.SMTP.MaxConnections, c.SMTP.MaxConnectionsPerIP
	l.perMinute, l.perSender = c.SMTP.MaxConnectionsPerMinute, c.SMTP.MaxMessagesPerSender
	l.trustedCaps = trustedCapsOf(c)
	l.perIPMsgs = c.SMTP.MaxMessagesPerIP
	l.cfg = c
}

// admit decides on a new connection; "" means yes, else the limit hit.
func (l *limiter) admit(ip string, now time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.maxConns {
		return "connections"
	}
	maxPerIP, perMinute := l.maxPerIP, l.perMinute
	if l.isTrusted(ip) {
		maxPerIP, perMinute = l.tPerIP, l.tPerMinute
	}
	if l.byIP[ip] >= maxPerIP {
		return "connections-per-ip"
	}
	if perMinute > 0 {
		r := prune(l.recent[ip], now.Add(-time.Minute))
		if len(r) >= perMinute {
			l.recent[ip] = r
			return "connections-per-minute"
		}
		l.recent[ip] = append(r, now)
	}
	l.open++
	l.byIP[ip]++
	return ""
}

func (l *limiter) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
	if len(l.recent) > 10000 { // bound memory under a scan from many IPs
		cut := time.Now().Add(-time.Minute)
		for k, v := range l.recent {
			if len(prune(v, cut)) == 0 {
				delete(l.recent, k)
			}
		}
	}
}

// allowSender counts a MAIL FROM against the per-sender hourly cap (the
// trusted relays' own cap when it came through one).
func (l *limiter) allowSender(from string, trusted bool) bool {
	if from == "" {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	perSender := l.perSender
	if trusted {
		perSender = l.tPerSender
	}
	if perSender <= 0 {
		return true
	}
	now := time.Now()
	k := strings.ToLower(from)
	r := prune(l.senders[k], now.Add(-time.Hour))
	if len(r) >= perSender {
		l.senders[k] = r
		return false
	}
	l.senders[k] = append(r, now)
	if len(l.senders) > 100000 {
		clear(l.senders)
	}
	return true
}

func prune(ts []time.Time, cut time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(cut) {
		i++
	}
	return ts[i:]
}

// limitListener refuses connections over the limits with a 421 before
// go-smtp sees them, and counts sessions.
type limitListener struct {
	net.Listener
	lim *limiter
	log *slog.Logger
	ids *atomic.Uint64
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if hit := l.lim.admit(ip, time.Now()); hit != "" {
			metrics.LimitHits.WithLabelValues(hit).Inc()
			metrics.Rejected.WithLabelValues("limit-" + hit).Inc()
			l.log.Warn("connection refused", "client", ip, "limit", hit)
			c.SetWriteDeadline(time.Now().Add(time.Second))
			fmt.Fprintf(c, "421 4.7.0 Too many connections (%s), try again later\r\n", hit)
			c.Close()
			continue
		}
		metrics.Sessions.Inc()
		metrics.ActiveSessions.Inc()
		return &countedConn{Conn: c, id: l.ids.Add(1), release: func() { l.lim.release(ip); metrics.ActiveSessions.Dec() }}, nil
	}
}

type countedConn struct {
	net.Conn
	messagesCounter // MAIL commands on this connection (max_messages_per_connection)
	id              uint64
	once            sync.Once
	release         func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// connIDOf names a connection in logs.
func connIDOf(c net.Conn) string {
	if cc, ok := c.(*countedConn); ok {
		return strconv.FormatUint(cc.id, 10)
	}
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok {
		return connIDOf(tc.NetConn())
	}
	return "?"
}

func splitFields(s string) []string { return strings.Fields(strings.ToUpper(s)) }
