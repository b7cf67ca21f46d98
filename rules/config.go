// Package rules holds supportgate's configuration and the per-message
// decisions made from it.
//
// The configuration is TOML, decoded strictly: an unknown key or a wrong type
// is an error naming the key and its line, and every validation problem is
// gathered so an admin sees them all at once (as mox does), not one per run.
package rules

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Config is the whole configuration. Defaults() gives every default in one
// place; Load decodes the file over it.
type Config struct {
	SMTP      SMTP      `toml:"smtp"`
	HTTP      HTTP      `toml:"http"`
	Storage   Storage   `toml:"storage"`
	Upstream  Upstream  `toml:"upstream"`
	Outbound  Outbound  `toml:"outbound"`
	Queue     Queue     `toml:"queue"`
	Mailbox   []Mailbox `toml:"mailbox"`
	Autoreply Autoreply `toml:"autoreply"`
	Rules     Rules     `toml:"rules"`
	Contacts  Contacts  `toml:"contacts"`
	Webform   Webform   `toml:"webform"`
	Bitrix    Bitrix    `toml:"bitrix"`
	Auth      Auth      `toml:"auth"`
	DKIM      DKIM      `toml:"dkim"`
	Log       Log       `toml:"log"`
	Console   Console   `toml:"console"`
	// Hours are the named working-hours profiles ([hours.NAME]).
	Hours map[string]HoursProfile `toml:"hours"`

	// Path is the file the config came from; Dir its folder, against which
	// relative paths are resolved.
	Path string `toml:"-"`
}

// SMTP is the receiving side: where the MX points.
type SMTP struct {
	Listen          string `toml:"listen"`
	Hostname        string `toml:"hostname"`
	MaxMessageBytes int64  `toml:"max_message_bytes"`
	TLSCert         string `toml:"tls_cert"`
	TLSKey          string `toml:"tls_key"`
	RequireTLS      bool   `toml:"require_tls"`
	MaxRecipients   int    `toml:"max_recipients"`
	MaxLineLength   int    `toml:"max_line_length"`
	// CommandTimeout bounds the wait for each command line; DataTimeout the
	// whole DATA transfer (go-smtp arms one deadline for all of DATA).
	CommandTimeout      Duration `toml:"command_timeout"`
	DataTimeout         Duration `toml:"data_timeout"`
	MaxConnections      int      `toml:"max_connections"`
	MaxConnectionsPerIP int      `toml:"max_connections_per_ip"`
	// MaxConnectionsPerMinute is new connections per client IP per minute.
	MaxConnectionsPerMinute int `toml:"max_connections_per_minute"`
	// MaxMessagesPerSender is messages per envelope sender per hour (0: no
	// cap); more get 451 4.7.1.
	MaxMessagesPerSender int `toml:"max_messages_per_sender"`
	// MaxHeaderBytes caps the header block we parse; bigger is refused 552.
	MaxHeaderBytes int64 `toml:"max_header_bytes"`
	// TrustedRelays are our own MTAs in front (CIDRs or addresses): for
	// mail from them the client and HELO checked by SPF come from the
	// Received: line they added, and the per-IP limits give way to the
	// Trusted* caps below.
	TrustedRelays []string `toml:"trusted_relays"`
	// ProxyProtocol: connections from a trusted relay (a load balancer)
	// must begin with a PROXY v1/v2 header, whose source is the client.
	ProxyProtocol bool `toml:"proxy_protocol"`
	// The caps for trusted relays: all the company's mail comes from
	// them, so the per-IP ones would throttle the whole flow.
	TrustedMaxConnections          int `toml:"trusted_max_connections"`
	TrustedMaxConnectionsPerMinute int `toml:"trusted_max_connections_per_minute"`
	TrustedMaxMessagesPerSender    int `toml:"trusted_max_messages_per_sender"`

	// MaxMessagesPerConnection caps the transactions of one connection
	// (0: no cap); past it MAIL gets 451 4.7.1 and the client reconnects.
	MaxMessagesPerConnection int `toml:"max_messages_per_connection"`
	// MaxMessagesPerIP is messages per client IP per hour (0: no cap).
	MaxMessagesPerIP int `toml:"max_messages_per_ip"`

	trusted []netip.Prefix // TrustedRelays parsed by Validate
}

// Console is the operator's listener: explain, database backup (and, with
// issue 12, the operator's page). Loopback by default; anywhere else it
// needs UsersFile, lines "name:bcrypt-hash".
type Console struct {
	Listen    string `toml:"listen"`
	UsersFile string `toml:"users_file"`
	// KeepDays is how long the operator's page keeps each message's
	// record (and the auto-reply as sent); the janitor prunes older ones.
	KeepDays int `toml:"keep_days"`
	// SecureCookies marks the session cookie Secure even when the
	// request came over plain HTTP: the console behind a TLS proxy.
	SecureCookies bool `toml:"secure_cookies"`
	// OpenLoopback drops the login on a loopback console without
	// UsersFile: every local user can then read every message (and
	// download the database). For the demo; off by default, when the
	// built-in login admin (password in storage.dir/console.password)
	// guards it.
	OpenLoopback bool `toml:"open_loopback"`
}

// HTTP is the listener for Bitrix24 events, health and metrics.
type HTTP struct {
	Listen string `toml:"listen"`
}

// Storage holds the bbolt database and the spool.
type Storage struct {
	Dir string `toml:"dir"`
	// MaxQueueMessages and MaxQueueBytes bound the spool; past them new
	// mail gets 451 4.3.1 instead of filling the disk.
	MaxQueueMessages int   `toml:"max_queue_messages"`
	MaxQueueBytes    int64 `toml:"max_queue_bytes"`
}

// Upstream is the real mailbox server every accepted message goes to.
type Upstream struct {
	Address  string `toml:"address"`
	Protocol string `toml:"protocol"` // smtp | lmtp
	// TLS: "none" or "starttls" (opportunistic: used when offered, the
	// certificate not verified, as Postfix's smtp_tls_security_level=may).
	TLS string `toml:"tls"`
	// Notify is the admin's address: a permanent refusal by the upstream
	// of an address our config names (a forward_to) is our error, not the
	// customer's, so it is told here (through [outbound]) and the message
	// is held instead of bounced.
	Notify string `toml:"notify"`
}

// Outbound is the smarthost for auto-replies, notifications and DSNs.
type Outbound struct {
	Address      string `toml:"address"`
	Username     string `toml:"username"`
	PasswordFile string `toml:"password_file"`
	// TLS: "starttls" (required when a password is set), "none", "tls".
	TLS string `toml:"tls"`
	// InsecureSkipVerify accepts any certificate (a smarthost on loopback).
	InsecureSkipVerify bool `toml:"insecure_skip_verify"`
}

// Queue is the durable job queue's retry policy.
type Queue struct {
	RetryInitial Duration `toml:"retry_initial"`
	RetryMax     Duration `toml:"retry_max"`
	GiveUpAfter  Duration `toml:"give_up_after"`
	Workers      int      `toml:"workers"`

	// PortalWorkers run the Bitrix24 jobs (task, comment, notify) in a
	// lane of their own; many at once, so their calls share batches.
	PortalWorkers int `toml:"portal_workers"`
}

// Mailbox is one support address we accept mail for.
type Mailbox struct {
	Address   string   `toml:"address"`
	ForwardTo []string `toml:"forward_to"`
	// Name is the display name on our replies ("Служба поддержки").
	Name string `toml:"name"`
	// The per-mailbox overrides (rules/mailbox_settings.go): anything
	// left out inherits the global value.
	MailboxOverrides
}

// Autoreply is the acknowledgement sent to each new requester.
type Autoreply struct {
	Enabled  bool   `toml:"enabled"`
	Subject  string `toml:"subject"`
	Template string `toml:"template"`
	// MailFrom is the envelope sender of replies; empty means <> (RFC 3834).
	MailFrom     string `toml:"mail_from"`
	MaxPerSender int    `toml:"max_per_sender"`
	// MaxPerClient caps replies caused by one client IP per window (0:
	// no cap): forged senders on one connection are still one client.
	MaxPerClient int      `toml:"max_per_client"`
	Window       Duration `toml:"window"`
	WaitForTask  Duration `toml:"wait_for_task"`
	// The letters and the greeting (rules/mailbox_settings.go).
	Letters
}

// Rules are the exclusions and the team's own identities.
type Rules struct {
	ExcludeDomains   []string `toml:"exclude_domains"`
	ExcludeAddresses []string `toml:"exclude_addresses"`
	JournalAddress   string   `toml:"journal_address"`
	TeamDomains      []string `toml:"team_domains"`
	// ReplyToForwarded: answer mail that a customer's mailbox rule forwarded
	// to us (Microsoft 365 marks it auto-generated). It gets a task anyway.
	ReplyToForwarded bool `toml:"reply_to_forwarded"`
	// TrustSpamHeaders: believe X-Spam-Flag and friends (only when an
	// upstream filter we run writes them).
	TrustSpamHeaders bool `toml:"trust_spam_headers"`
}

// Contacts names the CSV with customers' names for the greeting.
type Contacts struct {
	File string `toml:"file"`
}

// Bitrix is the portal connection.
type Bitrix struct {
	WebhookURL           string         `toml:"webhook_url"`
	WebhookURLFile       string         `toml:"webhook_url_file"`
	ResponsibleID        int64          `toml:"responsible_id"`
	ApplicationToken     string         `toml:"application_token"`
	ApplicationTokenFile string         `toml:"application_token_file"`
	PollInterval         Duration       `toml:"poll_interval"`
	RatePerSecond        float64        `toml:"rate_per_second"`
	FolderID             int64          `toml:"folder_id"`
	InternalPrefix       string         `toml:"internal_prefix"`
	TitleFallback        string         `toml:"title_fallback"`
	ActiveDays           int            `toml:"active_days"`
	Task                 map[string]any `toml:"task"`
	// MaxFiles and MaxFilesBytes cap what one message uploads to Drive
	// (its .eml aside); the rest are listed by name in the task.
	MaxFiles      int   `toml:"max_files"`
	MaxFilesBytes int64 `toml:"max_files_bytes"`

	// Burst is the portal's leaky-bucket size: requests that may go at
	// once before the client paces at rate_per_second (50; enterprise 250).
	Burst int `toml:"burst"`

	BitrixIssue11
}

// BitrixIssue11 are the [bitrix] keys of files without setup, closed
// tasks and the CRM organisation (issue 11); embedded so the keys stay
// flat under [bitrix].
type BitrixIssue11 struct {
	// FolderName is the Drive folder in the webhook user's own storage
	// that files go to when folder_id is 0 (one subfolder per month).
	FolderName string `toml:"folder_name"`
	// ReopenWithin: a follow-up on a task completed or deferred less than
	// this ago renews it; later, a new task linked to the old one is made.
	ReopenWithin Duration `toml:"reopen_within"`
	// ThanksWords: a short follow-up without files made of thanks only
	// is a comment that renews nothing.
	ThanksWords []string `toml:"thanks_words"`
	// CreateContacts makes an unknown (verified) sender a CRM contact.
	CreateContacts bool `toml:"create_contacts"`
}

// Auth is sender authentication before auto-replying.
type Auth struct {
	Resolver  string   `toml:"resolver"`
	Autoreply string   `toml:"autoreply"` // pass | not-fail | off
	Timeout   Duration `toml:"timeout"`
	// RejectDMARC refuses at SMTP time mail failing DMARC with p=reject.
	RejectDMARC bool `toml:"reject_dmarc"`
}

// DKIM signs everything we send when Domain is set.
type DKIM struct {
	Domain   string `toml:"domain"`
	Selector string `toml:"selector"`
	KeyFile  string `toml:"key_file"`
}

// Log chooses the log format and level.
type Log struct {
	Format string `toml:"format"` // json | text
	Level  string `toml:"level"`  // debug | info | warn | error
}

// Defaults returns the configuration used for every key the file leaves out.
func Defaults() Config {
	return Config{
		SMTP: SMTP{
			Listen:                  "0.0.0.0:25",
			MaxMessageBytes:         25 << 20,
			MaxRecipients:           50,
			MaxLineLength:           4096,
			CommandTimeout:          Duration(5 * time.Minute),
			DataTimeout:             Duration(10 * time.Minute),
			MaxConnections:          500,
			MaxConnectionsPerIP:     20,
			MaxConnectionsPerMinute: 120,
			MaxMessagesPerSender:    60,
			MaxHeaderBytes:          1 << 20,

			TrustedMaxConnections:          200,
			TrustedMaxConnectionsPerMinute: 6000,
			TrustedMaxMessagesPerSender:    1000,
			// A connection or an IP sending this much is a flood, not a
			// customer (a relay in front is exempt: trusted_relays).
			MaxMessagesPerConnection: 100,
			MaxMessagesPerIP:         600,
		},
		HTTP:      HTTP{Listen: "127.0.0.1:8025"},
		Webform:   webformDefaults(),
		Storage:   Storage{Dir: "/var/lib/supportgate", MaxQueueMessages: 100000, MaxQueueBytes: 10 << 30},
		Upstream:  Upstream{Protocol: "smtp", TLS: "none"},
		Outbound:  Outbound{TLS: "starttls"},
		Queue:     Queue{RetryInitial: Duration(30 * time.Second), RetryMax: Duration(30 * time.Minute), GiveUpAfter: Duration(120 * time.Hour), Workers: 32, PortalWorkers: 64},
		Autoreply: Autoreply{Enabled: true, Subject: "Re: {{.Subject}}", MaxPerSender: 3, MaxPerClient: 20, Window: Duration(time.Hour), WaitForTask: Duration(3 * time.Second), Letters: lettersDefaults()},
		Bitrix: Bitrix{PollInterval: Duration(5 * time.Minute), RatePerSecond: 2, Burst: 50, TitleFallback: "(без темы)", ActiveDays: 14,
			MaxFiles: 50, MaxFilesBytes: 100 << 20,
			BitrixIssue11: BitrixIssue11{FolderName: "supportgate", ReopenWithin: Duration(14 * 24 * time.Hour),
				ThanksWords: []string{"спасибо", "благодарю", "thank you", "thanks", "thx"}}},
		Auth:    Auth{Autoreply: "not-fail", Timeout: Duration(3 * time.Second)},
		Log:     Log{Format: "json", Level: "info"},
		Console: Console{Listen: "127.0.0.1:8026", KeepDays: 30},
	}
}

// Load reads, decodes and validates the file at path. The error lists every
// problem found, each naming its key.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse is Load on bytes already read; path places relative paths.
func Parse(path string, data []byte) (*Config, error) {
	data, errs, err := dropTypeErrors(path, data)
	if err != nil {
		return nil, err
	}
	errs = append(errs, bareDurations(data)...)
	c := Defaults()
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var strict *toml.StrictMissingError
		if !errors.As(err, &strict) {
			return nil, decodeError(path, err) // syntax or type: nothing else is reliable
		}
		// Unknown keys: report them, and still validate what is known,
		// so the admin sees every problem in one go.
		errs = append(errs, decodeError(path, err).(*Errors).Errs...)
		c = Defaults()
		if err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c); err != nil {
			return nil, decodeError(path, err)
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	c.Path = abs
	c.resolvePaths()
	errs = append(errs, c.Validate()...)
	if len(errs) > 0 {
		return nil, &Errors{Path: path, Errs: errs}
	}
	return &c, nil
}

// dropTypeErrors finds every key whose value has the wrong type. go-toml
// stops at the first one, which would hide every later problem of the
// file; so each offending line is blanked (keeping the line numbers of
// the rest) and the file decoded again, until it decodes. The caller then
// validates what is left, with defaults where the bad keys were. A
// syntax error is final: nothing after it can be trusted.
func dropTypeErrors(path string, data []byte) ([]byte, []error, error) {
	var errs []error
	blanked := map[int]bool{}
	for range 200 {
		c := Defaults()
		err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
		if err == nil {
			return data, errs, nil
		}
		var de *toml.DecodeError
		row := 0
		if errors.As(err, &de) {
			row, _ = de.Position()
		}
		lines := bytes.Split(data, []byte("\n"))
		if de == nil || len(de.Key()) == 0 || row < 1 || row > len(lines) || blanked[row] || !bytes.Contains(lines[row-1], []byte("=")) {
			// A syntax error (or one we cannot step over).
			if len(errs) == 0 {
				return nil, nil, decodeError(path, err)
			}
			return nil, nil, &Errors{Path: path, Errs: append(errs, errList(decodeError(path, err))...)}
		}
		errs = append(errs, withRawValue(errList(decodeError(path, err)), lines[row-1])...)
		for r, end := row, valueEnd(lines, row); r <= end; r++ {
			blanked[r] = true
			lines[r-1] = nil
		}
		data = bytes.Join(lines, []byte("\n"))
	}
	return nil, nil, &Errors{Path: path, Errs: errs}
}

// valueEnd is the last line (1-based) of the key = value starting on line
// row: a value may span lines (an array, an inline table, a multi-line
// string), and blanking only its first line would leave a syntax error.
func valueEnd(lines [][]byte, row int) int {
	_, v, ok := bytes.Cut(lines[row-1], []byte("="))
	if !ok {
		return row
	}
	depth, inStr, multi := 0, byte(0), []byte(nil)
	for r := row; r <= len(lines); r++ {
		s := v
		if r > row {
			s = lines[r-1]
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case multi != nil:
				if bytes.HasPrefix(s[i:], multi) {
					i += 2
					multi = nil
				}
			case inStr != 0:
				if c == '\\' && inStr == '"' {
					i++
				} else if c == inStr {
					inStr = 0
				}
			case bytes.HasPrefix(s[i:], []byte(`"""`)) || bytes.HasPrefix(s[i:], []byte("'''")):
				multi = append([]byte(nil), s[i:i+3]...)
				i += 2
			case c == '"' || c == '\'':
				inStr = c
			case c == '#':
				i = len(s)
			case c == '[' || c == '{':
				depth++
			case c == ']' || c == '}':
				depth--
			}
		}
		inStr = 0 // a basic string never spans lines
		if depth <= 0 && multi == nil {
			return r
		}
	}
	return len(lines)
}

func errList(err error) []error {
	if es, ok := err.(*Errors); ok {
		return es.Errs
	}
	return []error{err}
}

// decodeError turns go-toml's errors into ours, naming key and line.
func decodeError(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var errs []error
		for _, e := range strict.Errors {
			row, _ := e.Position()
			errs = append(errs, &KeyError{Key: strings.Join(e.Key(), "."), Line: row, Msg: "unknown key"})
		}
		return &Errors{Path: path, Errs: errs}
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if i := strings.Index(msg, "into struct field"); i > 0 {
			msg = typeMismatch(de.Key(), msg[:i], "")
		}
		return &Errors{Path: path, Errs: []error{&KeyError{Key: strings.Join(de.Key(), "."), Line: row, Msg: msg}}}
	}
	return fmt.Errorf("%s: %w", path, err)
}

// Dir is the folder of the config file.
func (c *Config) Dir() string { return filepath.Dir(c.Path) }

// resolvePaths makes relative paths relative to the config's folder.
func (c *Config) resolvePaths() {
	dir := c.Dir()
	for _, p := range []*string{
		&c.SMTP.TLSCert, &c.SMTP.TLSKey, &c.Storage.Dir, &c.Outbound.PasswordFile,
		&c.Autoreply.Template, &c.Contacts.File, &c.Bitrix.WebhookURLFile,
		&c.Bitrix.ApplicationTokenFile, &c.DKIM.KeyFile, &c.Console.UsersFile,
	} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	c.resolveWebformPaths()
	c.resolveMailboxPaths()
}

// KeyError is one problem with one key.
type KeyError struct {
	Key  string
	Line int // 0 when not known
	Msg  string
}

func (e *KeyError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s (line %d): %s", e.Key, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Key, e.Msg)
}

// Errors gathers every problem with a config file.
type Errors struct {
	Path string
	Errs []error
}

func (e *Errors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s):", e.Path, len(e.Errs))
	for _, err := range e.Errs {
		b.WriteString("\n  ")
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e *Errors) Unwrap() []error { return e.Errs }
