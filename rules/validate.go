package rules

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// Duration is a time.Duration written in TOML as a string ("30s", "5m").
type Duration time.Duration

// UnmarshalText parses a Go duration; a plain number is refused because a
// bare "30" is ambiguous (seconds? minutes?).
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (use e.g. \"30s\", \"5m\", \"2h\"): %q", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration back in the same form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// String prints the duration as it is written in the config.
func (d Duration) String() string { return time.Duration(d).String() }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Validate checks every key and returns all problems found.
func (c *Config) Validate() []error {
	var errs []error
	add := func(key, format string, a ...any) {
		errs = append(errs, &KeyError{Key: key, Msg: fmt.Sprintf(format, a...)})
	}
	checkHostPort := func(key, v string, required bool) {
		if v == "" {
			if required {
				add(key, "required (host:port)")
			}
			return
		}
		_, port, err := net.SplitHostPort(v)
		if err != nil {
			add(key, "not host:port: %q", v)
			return
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			if _, lerr := net.LookupPort("tcp", port); lerr != nil {
				add(key, "bad port %q", port)
			}
		}
	}
	checkAddr := func(key, v string) {
		if _, err := mail.ParseAddress(v); err != nil || !strings.Contains(v, "@") {
			add(key, "not an email address: %q", v)
		}
	}
	checkFile := func(key, v string) {
		if v == "" {
			return
		}
		if err := readable(v); err != nil {
			add(key, "%v", err)
		}
	}
	positive := func(key string, d Duration) {
		if d <= 0 {
			add(key, "must be a positive duration")
		}
	}

	errs = append(errs, c.validateWebform()...)
	errs = append(errs, c.validateMailboxes()...)

	checkHostPort("smtp.listen", c.SMTP.Listen, true)
	if c.SMTP.Hostname == "" {
		add("smtp.hostname", "required (the name in the greeting and Received:)")
	} else if strings.ContainsAny(c.SMTP.Hostname, " \t\r\n@") {
		add("smtp.hostname", "not a host name: %q", c.SMTP.Hostname)
	}
	if c.SMTP.MaxMessageBytes <= 0 {
		add("smtp.max_message_bytes", "must be positive")
	}
	if (c.SMTP.TLSCert == "") != (c.SMTP.TLSKey == "") {
		add("smtp.tls_cert", "tls_cert and tls_key go together")
	}
	checkFile("smtp.tls_cert", c.SMTP.TLSCert)
	checkFile("smtp.tls_key", c.SMTP.TLSKey)
	if c.SMTP.TLSCert != "" && c.SMTP.TLSKey != "" {
		if _, err := tls.LoadX509KeyPair(c.SMTP.TLSCert, c.SMTP.TLSKey); err != nil && fileExists(c.SMTP.TLSCert) && fileExists(c.SMTP.TLSKey) {
			add("smtp.tls_key", "certificate and key do not load: %v", err)
		}
	}
	if c.SMTP.RequireTLS && c.SMTP.TLSCert == "" {
		add("smtp.require_tls", "needs tls_cert and tls_key")
	}
	if c.SMTP.MaxRecipients <= 0 {
		add("smtp.max_recipients", "must be positive")
	}
	if c.SMTP.MaxLineLength < 1000 {
		add("smtp.max_line_length", "must be at least 1000 (RFC 5321)")
	}
	positive("smtp.command_timeout", c.SMTP.CommandTimeout)
	positive("smtp.data_timeout", c.SMTP.DataTimeout)
	if c.SMTP.MaxConnections <= 0 {
		add("smtp.max_connections", "must be positive")
	}
	if c.SMTP.MaxConnectionsPerIP <= 0 {
		add("smtp.max_connections_per_ip", "must be positive")
	}
	checkHostPort("http.listen", c.HTTP.Listen, true)
	if c.Storage.Dir == "" {
		add("storage.dir", "required")
	}
	checkHostPort("upstream.address", c.Upstream.Address, true)
	if c.Upstream.Protocol != "smtp" && c.Upstream.Protocol != "lmtp" {
		add("upstream.protocol", "must be \"smtp\" or \"lmtp\", not %q", c.Upstream.Protocol)
	}
	if c.Upstream.TLS != "none" && c.Upstream.TLS != "starttls" {
		add("upstream.tls", "must be \"none\" or \"starttls\", not %q", c.Upstream.TLS)
	}
	checkHostPort("outbound.address", c.Outbound.Address, c.Autoreply.Enabled)
	checkFile("outbound.password_file", c.Outbound.PasswordFile)
	if c.Outbound.Username != "" && c.Outbound.PasswordFile == "" {
		add("outbound.password_file", "required when outbound.username is set")
	}
	switch c.Outbound.TLS {
	case "starttls", "tls", "none":
	default:
		add("outbound.tls", "must be \"starttls\", \"tls\" or \"none\", not %q", c.Outbound.TLS)
	}
	positive("queue.retry_initial", c.Queue.RetryInitial)
	positive("queue.retry_max", c.Queue.RetryMax)
	positive("queue.give_up_after", c.Queue.GiveUpAfter)
	if c.Queue.RetryMax < c.Queue.RetryInitial {
		add("queue.retry_max", "must not be shorter than queue.retry_initial")
	}
	if c.Queue.Workers <= 0 {
		add("queue.workers", "must be positive")
	}
	if c.Queue.PortalWorkers <= 0 {
		add("queue.portal_workers", "must be positive")
	}

	if len(c.Mailbox) == 0 {
		add("mailbox", "at least one [[mailbox]] is required")
	}
	seen := map[string]bool{}
	for i, m := range c.Mailbox {
		key := fmt.Sprintf("mailbox[%d].address", i)
		checkAddr(key, m.Address)
		if seen[Canonical(m.Address)] {
			add(key, "duplicate mailbox %q", m.Address)
		}
		seen[Canonical(m.Address)] = true
		for j, f := range m.ForwardTo {
			checkAddr(fmt.Sprintf("mailbox[%d].forward_to[%d]", i, j), f)
		}
	}

	if c.Autoreply.Enabled {
		if _, err := template.New("subject").Parse(c.Autoreply.Subject); err != nil {
			add("autoreply.subject", "template: %v", err)
		}
	}
	checkFile("autoreply.template", c.Autoreply.Template)
	if c.Autoreply.MailFrom != "" {
		checkAddr("autoreply.mail_from", c.Autoreply.MailFrom)
	}
	if c.Autoreply.MaxPerSender < 0 {
		add("autoreply.max_per_sender", "must not be negative (0 = no cap)")
	}
	positive("autoreply.window", c.Autoreply.Window)
	if c.Autoreply.WaitForTask < 0 {
		add("autoreply.wait_for_task", "must not be negative")
	}
	for i, d := range c.Rules.ExcludeDomains {
		if d == "" || strings.ContainsAny(d, "@ \t") {
			add(fmt.Sprintf("rules.exclude_domains[%d]", i), "not a domain: %q", d)
		}
	}
	for i, a := range c.Rules.ExcludeAddresses {
		checkAddr(fmt.Sprintf("rules.exclude_addresses[%d]", i), a)
	}
	if c.Rules.JournalAddress != "" {
		checkAddr("rules.journal_address", c.Rules.JournalAddress)
	}
	checkFile("contacts.file", c.Contacts.File)

	if c.Bitrix.WebhookURL != "" && c.Bitrix.WebhookURLFile != "" {
		add("bitrix.webhook_url", "set webhook_url or webhook_url_file, not both")
	}
	checkFile("bitrix.webhook_url_file", c.Bitrix.WebhookURLFile)
	checkFile("bitrix.application_token_file", c.Bitrix.ApplicationTokenFile)
	if u := c.Bitrix.WebhookURL; u != "" {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			add("bitrix.webhook_url", "not an http(s) URL")
		}
	}
	if c.Bitrix.WebhookURL != "" && c.Bitrix.ResponsibleID <= 0 {
		add("bitrix.responsible_id", "required (a Bitrix24 user id) when webhook_url is set")
	}
	positive("bitrix.poll_interval", c.Bitrix.PollInterval)
	if c.Bitrix.RatePerSecond <= 0 {
		add("bitrix.rate_per_second", "must be positive")
	}
	if c.Bitrix.Burst <= 0 {
		add("bitrix.burst", "must be positive (the portal's bucket: 50, enterprise 250)")
	}

	if c.Auth.Resolver != "" {
		checkHostPort("auth.resolver", c.Auth.Resolver, false)
	}
	switch c.Auth.Autoreply {
	case "pass", "not-fail", "off":
	default:
		add("auth.autoreply", "must be \"pass\", \"not-fail\" or \"off\", not %q", c.Auth.Autoreply)
	}
	positive("auth.timeout", c.Auth.Timeout)
	if c.DKIM.Domain != "" {
		if c.DKIM.Selector == "" {
			add("dkim.selector", "required when dkim.domain is set")
		}
		if c.DKIM.KeyFile == "" {
			add("dkim.key_file", "required when dkim.domain is set")
		}
		checkFile("dkim.key_file", c.DKIM.KeyFile)
	}
	c.validateHostile(add, checkHostPort, checkFile)
	c.validateIssue11(add)
	if c.Log.Format != "json" && c.Log.Format != "text" {
		add("log.format", "must be \"json\" or \"text\", not %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	errs = append(errs, c.validateRelay()...)
	errs = append(errs, c.validateConsole()...)
	return errs
}

// readable says why a file named by the config cannot be used: missing,
// a folder, or not readable by us (serve would fail on it later).
func readable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("file not found: %s", p)
	}
	if fi.IsDir() {
		return fmt.Errorf("is a folder, not a file: %s", p)
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", p, errors.Unwrap(err))
	}
	f.Close()
	return nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
