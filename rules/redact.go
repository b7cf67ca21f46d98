package rules

import (
	"net/url"
	"strings"
)

// Redacted returns a copy safe to log: secrets replaced, the webhook URL's
// path (which holds the secret) hidden.
func (c *Config) Redacted() Config {
	r := *c
	if r.Bitrix.WebhookURL != "" {
		r.Bitrix.WebhookURL = RedactURL(r.Bitrix.WebhookURL)
	}
	if r.Bitrix.ApplicationToken != "" {
		r.Bitrix.ApplicationToken = "REDACTED"
	}
	return r
}

// RedactURL keeps scheme and host of a webhook URL and hides the rest:
// /rest/USER/SECRET/ is as good as a password.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "REDACTED"
	}
	path := "/"
	if parts := strings.Split(strings.Trim(p.Path, "/"), "/"); len(parts) > 0 && parts[0] == "rest" {
		path = "/rest/…/REDACTED/"
	}
	return p.Scheme + "://" + p.Host + path
}
