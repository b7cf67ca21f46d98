package rules

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
)

// validateRelay checks the keys of a gateway behind the company MTA:
// trusted relays and their caps, the admin's address for our own
// failures, smarthost password safety and listener clashes.
func (c *Config) validateRelay() []error {
	var errs []error
	add := func(key, format string, a ...any) {
		errs = append(errs, &KeyError{Key: key, Msg: fmt.Sprintf(format, a...)})
	}
	c.SMTP.trusted = nil
	for i, r := range c.SMTP.TrustedRelays {
		p, err := parsePrefix(r)
		if err != nil {
			add(fmt.Sprintf("smtp.trusted_relays[%d]", i), "not an address or CIDR: %q", r)
			continue
		}
		c.SMTP.trusted = append(c.SMTP.trusted, p)
	}
	if c.SMTP.ProxyProtocol && len(c.SMTP.TrustedRelays) == 0 {
		add("smtp.proxy_protocol", "needs smtp.trusted_relays: a PROXY header is believed only from them")
	}
	if c.SMTP.TrustedMaxConnections <= 0 {
		add("smtp.trusted_max_connections", "must be positive")
	}
	if c.SMTP.TrustedMaxConnectionsPerMinute < 0 {
		add("smtp.trusted_max_connections_per_minute", "must not be negative (0 = no cap)")
	}
	if c.SMTP.TrustedMaxMessagesPerSender < 0 {
		add("smtp.trusted_max_messages_per_sender", "must not be negative (0 = no cap)")
	}
	if c.Upstream.Notify != "" && !strings.Contains(c.Upstream.Notify, "@") {
		add("upstream.notify", "not an email address: %q", c.Upstream.Notify)
	}
	if c.Upstream.Notify != "" && (c.FindMailbox(c.Upstream.Notify) != nil || c.IsJournal(c.Upstream.Notify)) {
		add("upstream.notify", "%q is one of our own addresses: the notice would come back here; use the admin's own mailbox", c.Upstream.Notify)
	}
	if c.Upstream.Notify != "" && c.Outbound.Address == "" {
		add("upstream.notify", "needs outbound.address: the notice goes through the smarthost")
	}
	// A password in clear is safe only where nobody can listen: on the
	// loopback interface.
	if (c.Outbound.PasswordFile != "" || c.Outbound.Username != "") && c.Outbound.TLS == "none" && c.Outbound.Address != "" && !IsLoopbackAddr(c.Outbound.Address) {
		add("outbound.tls", "\"none\" would send the smarthost password (outbound.password_file) in clear to %s; use \"starttls\" or \"tls\" (\"none\" with a password is allowed only to a loopback address)", c.Outbound.Address)
	}
	if fi, err := os.Stat(c.Storage.Dir); err == nil && !fi.IsDir() {
		add("storage.dir", "is a file, not a folder: %s", c.Storage.Dir)
	}
	// Two listeners on one socket: serve would fail at the second bind.
	listeners := []struct{ key, addr string }{
		{"smtp.listen", c.SMTP.Listen},
		{"http.listen", c.HTTP.Listen},
		{"console.listen", c.Console.Listen},
	}
	for i := range listeners {
		for j := range i {
			if clash(listeners[i].addr, listeners[j].addr) {
				add(listeners[i].key, "%q clashes with %s %q: each listener needs its own port", listeners[i].addr, listeners[j].key, listeners[j].addr)
			}
		}
	}
	return errs
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// TrustedRelay reports whether ip is one of [smtp] trusted_relays.
func (c *Config) TrustedRelay(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, p := range c.SMTP.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// IsLoopbackAddr reports whether host:port names the loopback interface.
func IsLoopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// clash reports whether two listen addresses would take the same socket:
// the same port on the same host, or on a wildcard host.
func clash(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || pa != pb || pa == "0" || pa == "" {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" || h == "[::]" }
	return wild(ha) || wild(hb) || strings.EqualFold(ha, hb) || (ha == "localhost" && hb == "127.0.0.1") || (hb == "localhost" && ha == "127.0.0.1")
}
