package rules

import (
	"net"
	"net/netip"
)

// validateHostile checks the keys of the hostile-sender defences (issue
// 14): the console listener and its logins, and the flood caps.
func (c *Config) validateHostile(add func(key, format string, a ...any), hostPort func(key, v string, required bool), file func(key, v string)) {
	hostPort("console.listen", c.Console.Listen, true)
	file("console.users_file", c.Console.UsersFile)
	if c.Console.Listen != "" && !LoopbackListen(c.Console.Listen) && c.Console.UsersFile == "" {
		add("console.users_file", "required when console.listen (%s) is not a loopback address: the console shows thread state and makes backups", c.Console.Listen)
	}
	for _, k := range []struct {
		key string
		v   int
	}{
		{"smtp.max_messages_per_connection", c.SMTP.MaxMessagesPerConnection},
		{"smtp.max_messages_per_ip", c.SMTP.MaxMessagesPerIP},
		{"autoreply.max_per_client", c.Autoreply.MaxPerClient},
		{"bitrix.max_files", c.Bitrix.MaxFiles},
	} {
		if k.v < 0 {
			add(k.key, "must not be negative (0 = no cap)")
		}
	}
	if c.Bitrix.MaxFilesBytes < 0 {
		add("bitrix.max_files_bytes", "must not be negative (0 = no cap)")
	}
}

// PerIPLimitsApply is the one question every per-client-IP limit asks:
// connections at once and per minute, messages per connection and per
// hour (relay), auto-replies per client (pipeline). A relay of our own in
// front sends everyone's mail from one address, so it must be exempt:
// [smtp] trusted_relays makes this false for those addresses (they have
// caps of their own: trusted_max_*).
func (c *Config) PerIPLimitsApply(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err != nil || !c.TrustedRelay(a)
}

// LoopbackListen reports whether a listen address binds loopback only
// ("127.0.0.1:8026", "[::1]:8026", "localhost:8026"); "" host or
// 0.0.0.0 listen everywhere.
func LoopbackListen(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
