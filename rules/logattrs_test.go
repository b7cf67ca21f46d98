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

// A duration written as a bare number is refused, not taken as
// nanoseconds (go-toml would store the integer into the int64).
func TestBareDurationRefused(t *testing.T) {
	text := strings.Replace(minimal, "[smtp]\n", "[smtp]\ncommand_timeout = 30\n", 1) + "[queue]\nretry_max = 60\n"
	_, err := Load(write(t, "c.toml", text))
	if err == nil {
		t.Fatal("command_timeout = 30 accepted")
	}
	for _, want := range []string{`smtp.command_timeout: want a duration such as "30s"`, "got a bare number 30", "queue.retry_max"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if _, err := Load(write(t, "d.toml", strings.Replace(minimal, "[smtp]\n", "[smtp]\ncommand_timeout = \"30s\"\n", 1))); err != nil {
		t.Errorf("a proper duration refused: %v", err)
	}
}
