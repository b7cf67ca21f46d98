package rules

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// The effective-config line in text format: key=value of the toml keys,
// typed, secrets redacted, no private fields, long strings cut.
func TestLogAttrs(t *testing.T) {
	c := Defaults()
	c.SMTP.TrustedRelays = []string{"192.0.2.25"}
	c.Mailbox = []Mailbox{{Address: "support@example.com", ForwardTo: []string{"a@x.test", "b@x.test"}}}
	c.Bitrix.WebhookURL = "https://p.example/rest/1/topsecret/"
	c.Bitrix.ApplicationToken = "tok-secret"
	c.Bitrix.Task = map[string]any{"TAGS": []string{"support"}}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("effective config", slog.Attr{Key: "config", Value: slog.GroupValue(c.LogAttrs()...)})
	line := buf.String()
	for _, want := range []string{"config.smtp.listen=0.0.0.0:25", "config.smtp.max_message_bytes=26214400", "config.smtp.command_timeout=5m0s",
		"config.smtp.trusted_relays=[192.0.2.25]", "config.mailbox.0.address=support@example.com", `config.mailbox.0.forward_to="[a@x.test, b@x.test]"`,
		"config.bitrix.task.TAGS=[support]", "config.console.keep_days=30", "config.webform.consent_text=", "characters)"} {
		if !strings.Contains(line, want) {
			t.Errorf("missing %s in\n%s", want, line)
		}
	}
	for _, bad := range []string{"trusted:", "topsecret", "tok-secret", "{Listen", "152-ФЗ «О персональных данных»"} {
		if strings.Contains(line, bad) {
			t.Errorf("the line has %q:\n%s", bad, line)
		}
	}
}
