package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const minimal = `
[smtp]
hostname = "mx.example.com"
[upstream]
address = "mail.internal:25"
[outbound]
address = "smtp.example.com:587"
[[mailbox]]
address = "support@example.com"
`

func write(t *testing.T, name, text string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	c, err := Load(write(t, "c.toml", minimal))
	if err != nil {
		t.Fatal(err)
	}
	d := Defaults()
	if c.SMTP.Listen != "0.0.0.0:25" || c.HTTP.Listen != "127.0.0.1:8025" || c.SMTP.MaxMessageBytes != 25<<20 {
		t.Errorf("listen/size defaults: %+v", c.SMTP)
	}
	if c.Queue.RetryInitial.D() != 30*time.Second || c.Queue.RetryMax.D() != 30*time.Minute || c.Queue.GiveUpAfter.D() != 120*time.Hour {
		t.Errorf("queue defaults: %+v", c.Queue)
	}
	if c.Upstream.Protocol != "smtp" || c.Auth.Autoreply != "not-fail" || c.Bitrix.PollInterval != d.Bitrix.PollInterval {
		t.Errorf("defaults not applied")
	}
	if got := c.Mailbox[0].Forwards(); len(got) != 1 || got[0] != "support@example.com" {
		t.Errorf("forward_to default = %v", got)
	}
}

func TestRelativePaths(t *testing.T) {
	p := write(t, "c.toml", minimal+"[storage]\ndir = \"state\"\n[contacts]\nfile = \"c.csv\"\n")
	dir := filepath.Dir(p)
	os.WriteFile(filepath.Join(dir, "c.csv"), []byte("email,name\n"), 0o600)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage.Dir != filepath.Join(dir, "state") || c.Contacts.File != filepath.Join(dir, "c.csv") {
		t.Errorf("paths not resolved against %s: %q %q", dir, c.Storage.Dir, c.Contacts.File)
	}
}

// Every error names its key (and line, when the decoder knows it), and all
// of them are reported at once.
func TestErrorsNameKeys(t *testing.T) {
	cases := []struct {
		name string
		text string
		want []string
	}{
		{"unknown keys", minimal + "[queue]\nretry_intial = \"1s\"\n[smtpp]\nx = 1\n",
			[]string{"queue.retry_intial (line 11): unknown key", "smtpp (line 12)"}},
		{"unknown keys with other problems, all at once", minimal + "[queue]\nretry_intial = \"1s\"\nworkers = 0\n[http]\nlisten = \"127.0.0.1:99999\"\n",
			[]string{"queue.retry_intial (line 11): unknown key", "queue.workers: must be positive", "http.listen: bad port"}},
		{"wrong type", strings.Replace(minimal, `hostname = "mx.example.com"`, "hostname = \"mx\"\nmax_message_bytes = \"big\"", 1),
			[]string{"smtp.max_message_bytes (line 4)", `want an integer (bytes, without quotes), got a string "big"`}},
		{"bad duration", minimal + "[queue]\nretry_max = \"soon\"\n", []string{"queue.retry_max (line 11)", "not a duration"}},
		{"syntax", "[smtp\n", []string{"line 1"}},
		{"many at once", `
[smtp]
hostname = ""
[upstream]
address = "nohostport"
protocol = "imap"
[outbound]
address = "x:25"
[[mailbox]]
address = "not an address"
forward_to = ["also bad"]
[auth]
autoreply = "sometimes"
[bitrix]
webhook_url = "ftp://x"
[rules]
exclude_domains = ["a@b"]
`, []string{"smtp.hostname: required", "upstream.address: not host:port", "upstream.protocol", "mailbox[0].address",
			"mailbox[0].forward_to[0]", "auth.autoreply", "bitrix.webhook_url", "bitrix.responsible_id", "rules.exclude_domains[0]"}},
		{"missing file", minimal + "[autoreply]\ntemplate = \"nope.html\"\n", []string{"autoreply.template: file not found"}},
		{"bad subject template", minimal + "[autoreply]\nsubject = \"{{.Subject\"\n", []string{"autoreply.subject: template"}},
		{"no mailbox", strings.Replace(minimal, "[[mailbox]]\naddress = \"support@example.com\"\n", "", 1), []string{"mailbox: at least one"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(write(t, "c.toml", tc.text))
			if err == nil {
				t.Fatal("no error")
			}
			var es *Errors
			if !errors.As(err, &es) && tc.name != "syntax" {
				t.Errorf("error type %T", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestFindMailbox(t *testing.T) {
	c, err := Load(write(t, "c.toml", minimal+"[rules]\njournal_address = \"journal@example.com\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"support@example.com", "Support@Example.COM", "support+billing@example.com", "<support@example.com>"} {
		if c.FindMailbox(r) == nil {
			t.Errorf("%q not found", r)
		}
	}
	for _, r := range []string{"support@example.org", "supportx@example.com", "x+support@example.com", "journal@example.com"} {
		if c.FindMailbox(r) != nil {
			t.Errorf("%q found", r)
		}
	}
	if !c.IsJournal("JOURNAL@example.com") {
		t.Error("journal address not recognised")
	}
}

func TestRedacted(t *testing.T) {
	c, err := Load(write(t, "c.toml", minimal+"[bitrix]\nwebhook_url = \"https://p.bitrix24.ru/rest/1/s3cr3tkey/\"\nresponsible_id = 1\napplication_token = \"tok3n\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Redacted()
	if strings.Contains(r.Bitrix.WebhookURL, "s3cr3tkey") || r.Bitrix.ApplicationToken == "tok3n" {
		t.Errorf("secrets survive redaction: %q %q", r.Bitrix.WebhookURL, r.Bitrix.ApplicationToken)
	}
	if c.Bitrix.WebhookURL != "https://p.bitrix24.ru/rest/1/s3cr3tkey/" {
		t.Error("Redacted changed the original")
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	if _, err := Load("../config.toml"); err != nil {
		t.Fatalf("the shipped example config does not load: %v", err)
	}
}
