package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	htmltemplate "html/template"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Webform is the second channel: appeals typed into a web page (or sent by
// another system to POST /intake) that become a message for one of the
// [[mailbox]] addresses and then follow exactly the path of a mail. The
// fixed keys are in docs/CONTRACT.md ("Added in the second round").
type Webform struct {
	Enabled bool   `toml:"enabled"`
	Path    string `toml:"path"`
	Mailbox string `toml:"mailbox"`
	// APITokenFile holds the bearer token of POST /intake; empty: no API.
	APITokenFile string `toml:"api_token_file"`
	// Template is the page (html/template); empty: the built-in Russian one.
	Template string `toml:"template"`
	// ConsentText is shown next to the consent box; ConsentVersion is
	// recorded with each appeal (default: a hash of the text, so an edit
	// of the text is a new version by itself).
	ConsentText    string `toml:"consent_text"`
	ConsentVersion string `toml:"consent_version"`
	MaxFiles       int    `toml:"max_files"`
	MaxTotalBytes  int64  `toml:"max_total_bytes"`
	MaxTextBytes   int    `toml:"max_text_bytes"`
	// MaxPerIP submissions per Window from one client IP; more get 429.
	MaxPerIP int      `toml:"max_per_ip"`
	Window   Duration `toml:"window"`
	// MaxRepliesPerIP caps acknowledgements to web appeals from one client
	// IP per [autoreply] window (the typed address is unverified; the
	// per-address cap [autoreply] max_per_sender applies as well).
	MaxRepliesPerIP int `toml:"max_replies_per_ip"`
	// MinFillTime: a page post sooner than this after the form was served
	// is taken for a robot.
	MinFillTime Duration `toml:"min_fill_time"`
	Honeypot    string   `toml:"honeypot"`
	// FrameAncestors is the CSP frame-ancestors of the page (who may put it
	// in an iframe); AllowedOrigins are company pages whose own forms may
	// post here (their Origin stands in for the CSRF token).
	FrameAncestors []string `toml:"frame_ancestors"`
	AllowedOrigins []string `toml:"allowed_origins"`
	// TrustedProxies are the reverse proxies in front (IPs or CIDRs):
	// from them the client IP is taken from X-Forwarded-For (and the
	// scheme from X-Forwarded-Proto); from anyone else those headers are
	// ignored, since a robot would forge them to dodge the per-IP caps.
	TrustedProxies []string `toml:"trusted_proxies"`
	// Captcha: a server-side check of the widget's token against
	// CaptchaVerifyURL (Yandex SmartCaptcha by default: servers in Russia).
	CaptchaVerifyURL  string `toml:"captcha_verify_url"`
	CaptchaSecretFile string `toml:"captcha_secret_file"`
	CaptchaSiteKey    string `toml:"captcha_site_key"`
	CaptchaField      string `toml:"captcha_field"`
	// Task is merged over the mailbox's task fields ([bitrix.task]) for
	// tasks made from this channel: the channel and the sender's type.
	Task map[string]any `toml:"task"`
}

// DefaultConsentText is the personal-data consent (152-FZ) shown by default.
const DefaultConsentText = "Я даю согласие на обработку моих персональных данных (имя, адрес электронной почты, телефон, текст обращения и файлы) для рассмотрения обращения и ответа на него в соответствии с Федеральным законом № 152-ФЗ «О персональных данных»."

func webformDefaults() Webform {
	return Webform{
		Path:             "/form",
		ConsentText:      DefaultConsentText,
		MaxFiles:         5,
		MaxTotalBytes:    10 << 20,
		MaxTextBytes:     64 << 10,
		MaxPerIP:         10,
		Window:           Duration(time.Hour),
		MaxRepliesPerIP:  5,
		MinFillTime:      Duration(3 * time.Second),
		Honeypot:         "website",
		FrameAncestors:   []string{"'self'"},
		CaptchaVerifyURL: "https://smartcaptcha.yandexcloud.net/validate",
		CaptchaField:     "smart-token",
	}
}

// ConsentVersionOf is the version recorded with a consent: the configured
// string, or "sha256:" and the first 12 hex digits of the text's hash.
func (w *Webform) ConsentVersionOf() string {
	if w.ConsentVersion != "" {
		return w.ConsentVersion
	}
	sum := sha256.Sum256([]byte(w.ConsentText))
	return "sha256:" + hex.EncodeToString(sum[:6])
}

// FileCap is the files' total cap in force: max_total_bytes, but never so
// much that the message (files base64-encoded, 4/3 of their size, plus
// the text) would exceed smtp.max_message_bytes, which every message
// obeys whatever its channel.
func (c *Config) FileCap() int64 {
	w := c.Webform.MaxTotalBytes
	if m := (c.SMTP.MaxMessageBytes - int64(c.Webform.MaxTextBytes) - 64<<10) * 3 / 4; m < w {
		w = max(m, 0)
	}
	return w
}

// CaptchaOn reports whether appeals need a captcha check.
func (w *Webform) CaptchaOn() bool { return w.CaptchaSecretFile != "" }

// MergeTask returns base with each override's keys laid over it in turn
// (a key set later replaces the earlier value, a new key is added):
// [bitrix.task], then a mailbox's task fields, then a channel's.
func MergeTask(base map[string]any, overrides ...map[string]any) map[string]any {
	out := maps.Clone(base)
	for _, o := range overrides {
		if len(o) == 0 {
			continue
		}
		if out == nil {
			out = map[string]any{}
		}
		maps.Copy(out, o)
	}
	return out
}

// TrustedProxy reports whether ip (an HTTP peer) is one of [webform]
// trusted_proxies.
func (w *Webform) TrustedProxy(ip net.IP) bool {
	for _, p := range w.TrustedProxies {
		if n, err := proxyNet(p); err == nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// proxyNet reads an IP address (a single host) or a CIDR.
func proxyNet(s string) (*net.IPNet, error) {
	if strings.Contains(s, "/") {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("not an IP address or CIDR: %q", s)
		}
		return n, nil
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, fmt.Errorf("not an IP address or CIDR: %q", s)
	}
	bits := 128
	if ip4 := ip.To4(); ip4 != nil {
		ip, bits = ip4, 32
	}
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
}

func (c *Config) resolveWebformPaths() {
	for _, p := range []*string{&c.Webform.APITokenFile, &c.Webform.Template, &c.Webform.CaptchaSecretFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(c.Dir(), *p)
		}
	}
}

// validateWebform checks [webform]; only when it is enabled do its files
// have to exist.
func (c *Config) validateWebform() []error {
	w := &c.Webform
	if !w.Enabled {
		return nil
	}
	var errs []error
	add := func(key, format string, a ...any) {
		errs = append(errs, &KeyError{Key: "webform." + key, Msg: fmt.Sprintf(format, a...)})
	}
	if !strings.HasPrefix(w.Path, "/") || strings.ContainsAny(w.Path, " \t{}?#") || w.Path == "/" {
		add("path", "must be a path like \"/form\", not %q", w.Path)
	}
	for _, p := range []string{"/intake", "/metrics", "/healthz", "/bitrix/event", "/explain"} {
		if w.Path == p {
			add("path", "%q is taken by another endpoint", w.Path)
		}
	}
	if w.Mailbox == "" {
		add("mailbox", "required: the [[mailbox]] address appeals file into")
	} else if c.FindMailbox(w.Mailbox) == nil {
		add("mailbox", "%q is not one of the [[mailbox]] addresses", w.Mailbox)
	}
	for k, v := range map[string]string{"api_token_file": w.APITokenFile, "template": w.Template, "captcha_secret_file": w.CaptchaSecretFile} {
		if v != "" && !fileExists(v) {
			add(k, "file not found: %s", v)
		}
	}
	if w.Template != "" && fileExists(w.Template) {
		// The same checks the gateway makes when it loads the page, so
		// `supportgate check` catches a broken template.
		if t, err := htmltemplate.ParseFiles(w.Template); err != nil {
			add("template", "%v", err)
		} else if t.Lookup("msg") == nil {
			add("template", "no {{define \"msg\"}} (the wording of the error codes; see examples/form.en.html)")
		}
	}
	if strings.TrimSpace(w.ConsentText) == "" {
		add("consent_text", "required: the personal-data consent shown on the page")
	}
	if w.MaxFiles < 0 {
		add("max_files", "must not be negative (0 = no files)")
	}
	if w.MaxTotalBytes <= 0 {
		add("max_total_bytes", "must be positive")
	}
	if w.MaxTextBytes <= 0 {
		add("max_text_bytes", "must be positive")
	}
	if w.MaxPerIP < 0 {
		add("max_per_ip", "must not be negative (0 = no cap)")
	}
	if w.Window <= 0 {
		add("window", "must be a positive duration")
	}
	if w.MaxRepliesPerIP < 0 {
		add("max_replies_per_ip", "must not be negative (0 = no cap)")
	}
	if w.MinFillTime < 0 {
		add("min_fill_time", "must not be negative")
	}
	switch w.Honeypot {
	case "name", "email", "phone", "subject", "text", "consent", "files", "_token", w.CaptchaField:
		add("honeypot", "%q is a field people fill in; name a field of its own", w.Honeypot)
	}
	if w.Honeypot == "" || strings.ContainsAny(w.Honeypot, " \t\"'<>&") {
		add("honeypot", "must be a plain field name, not %q", w.Honeypot)
	}
	for i, f := range w.FrameAncestors {
		if f == "" || strings.ContainsAny(f, ";,\r\n") {
			add(fmt.Sprintf("frame_ancestors[%d]", i), "not a CSP source: %q", f)
		}
	}
	for i, o := range w.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			add(fmt.Sprintf("allowed_origins[%d]", i), "not an origin like \"https://www.example.com\": %q", o)
		}
	}
	for i, p := range w.TrustedProxies {
		if _, err := proxyNet(p); err != nil {
			add(fmt.Sprintf("trusted_proxies[%d]", i), "%v", err)
		}
	}
	if w.CaptchaOn() {
		u, err := url.Parse(w.CaptchaVerifyURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add("captcha_verify_url", "not an http(s) URL: %q", w.CaptchaVerifyURL)
		}
		if w.CaptchaField == "" {
			add("captcha_field", "required when captcha_secret_file is set")
		}
	}
	return errs
}
