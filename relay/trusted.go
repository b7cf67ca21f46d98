package relay

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"

	"supportgate/rules"
	"supportgate/store"
)

// Trusted reports whether ip (a connection's address) is one of our own
// MTAs in front ([smtp] trusted_relays). It is the one test every limit
// and check asks: per-IP limits give way to the trusted caps, and the
// client SPF checks comes from the relay's Received: line instead.
func Trusted(c *rules.Config, ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && c.TrustedRelay(a)
}

// Origin is the client a message really came from.
type Origin struct {
	IP, Helo string
	// Hops is how many Received: lines of trusted relays were read.
	Hops int
	// Fallback says why the relay's own address is used: no Received:
	// line of a trusted hop could be read.
	Fallback string
}

// maxTrustedHops bounds the walk down the Received: lines.
const maxTrustedHops = 20

// OriginOf finds, for a message that a trusted relay (relayIP, relayHelo)
// handed us, the client and HELO of the first untrusted hop: read the
// Received: lines top-down, each written by a trusted host, until one
// names a client that is not trusted (SpamAssassin's trusted_networks,
// rspamd's). Lines below the last trusted one are the sender's to forge,
// so the walk stops at the first line it cannot read and falls back on
// the deepest trusted host known rather than look further down. fields
// are the Received: values in header order, ours excluded.
func OriginOf(c *rules.Config, relayIP, relayHelo string, fields []string) Origin {
	o := Origin{IP: relayIP, Helo: relayHelo}
	for i, f := range fields {
		if i >= maxTrustedHops {
			o.Fallback = "too many trusted hops"
			return o
		}
		h, ok := ParseReceived(f)
		if !ok {
			if i == 0 {
				o.Fallback = "the relay's Received: line names no client"
			} else {
				o.Fallback = "a trusted hop's Received: line names no client"
			}
			return o
		}
		o.IP, o.Helo, o.Hops = h.IP, h.Helo, i+1
		if !Trusted(c, h.IP) {
			return o
		}
	}
	if len(fields) == 0 {
		o.Fallback = "no Received: line from the relay"
	} else {
		// Every hop is ours: the message started inside (a local
		// submission on a relay), and is checked against that host.
		o.Fallback = "every Received: line is from a trusted host"
	}
	return o
}

// receivedFields reads the Received: values of a message's header, in
// order, unfolded, skipping the first skip of them (our own trace line).
func receivedFields(r io.Reader, skip int) []string {
	br := bufio.NewReaderSize(r, 16<<10)
	var out []string
	var cur []byte
	inRcvd := false
	flush := func() {
		if inRcvd {
			if skip > 0 {
				skip--
			} else {
				out = append(out, string(cur))
			}
		}
		inRcvd, cur = false, cur[:0]
	}
	total := 0
	for total < maxScanHeader && len(out) <= maxTrustedHops {
		line, err := br.ReadSlice('\n')
		total += len(line)
		t := bytes.TrimRight(line, "\r\n")
		if len(t) == 0 {
			break
		}
		if t[0] == ' ' || t[0] == '\t' {
			if inRcvd && len(cur) < 4096 {
				cur = append(cur, ' ')
				cur = append(cur, bytes.TrimSpace(t)...)
			}
		} else {
			flush()
			if name, val, ok := bytes.Cut(t, []byte(":")); ok && strings.EqualFold(string(bytes.TrimSpace(name)), "Received") {
				inRcvd = true
				cur = append(cur, bytes.TrimSpace(val)...)
			}
		}
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: drop the rest of it.
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
		}
		if err != nil {
			break
		}
	}
	flush()
	return out
}

// originOfSpool reads the Received: lines of a spooled message (ours on
// top is skipped) and finds its origin.
func originOfSpool(c *rules.Config, sw *spoolWriter, relayIP, relayHelo string) Origin {
	var r io.Reader
	if sw.inline() {
		r = bytes.NewReader(sw.bytes())
	} else {
		f, err := os.Open(sw.path)
		if err != nil {
			return Origin{IP: relayIP, Helo: relayHelo, Fallback: "spool unreadable: " + err.Error()}
		}
		defer f.Close()
		r = f
	}
	return OriginOf(c, relayIP, relayHelo, receivedFields(r, 1))
}

// OriginOfMessage is OriginOf on a whole message (explain: nothing of
// ours on top).
func OriginOfMessage(c *rules.Config, relayIP, relayHelo string, msg []byte) Origin {
	return OriginOf(c, relayIP, relayHelo, receivedFields(bytes.NewReader(msg), 0))
}

// trustedCaps are the limiter's caps for trusted relays.
type trustedCaps struct {
	tPerIP, tPerMinute, tPerSender int
	isTrusted                      func(ip string) bool
}

func trustedCapsOf(c *rules.Config) trustedCaps {
	return trustedCaps{tPerIP: c.SMTP.TrustedMaxConnections, tPerMinute: c.SMTP.TrustedMaxConnectionsPerMinute,
		tPerSender: c.SMTP.TrustedMaxMessagesPerSender, isTrusted: func(ip string) bool { return Trusted(c, ip) }}
}

// setOrigin puts the original client in m when a trusted relay handed
// the message over: SPF, DMARC at SMTP time, explain and the logs then
// speak of the customer's server, never of our own relay.
func (s *session) setOrigin(m *store.Message, sw *spoolWriter, log *slog.Logger) {
	if !s.trusted {
		return
	}
	o := originOfSpool(s.cfg, sw, s.ip, s.conn.Hostname())
	m.Relay, m.ClientIP, m.Helo = s.ip, o.IP, o.Helo
	if o.Fallback != "" {
		log.Warn("trusted relay: original client not found, the relay's address is checked", "relay", s.ip, "why", o.Fallback, "checked", o.IP)
		return
	}
	log.Info("trusted relay: original client", "relay", s.ip, "client_ip", o.IP, "client_helo", o.Helo, "hops", o.Hops)
}
