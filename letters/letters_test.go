package letters

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"supportgate/compose"
	"supportgate/rules"
)

func loadConfig(t *testing.T, mailboxes string, files map[string]string) (*rules.Config, error) {
	t.Helper()
	dir := t.TempDir()
	for n, b := range files {
		os.WriteFile(filepath.Join(dir, n), []byte(b), 0o600)
	}
	p := filepath.Join(dir, "c.toml")
	os.WriteFile(p, []byte(`
[smtp]
hostname = "mx.example.com"
[upstream]
address = "127.0.0.1:1"
[outbound]
address = "127.0.0.1:1"
[hours.office]
timezone = "Europe/Moscow"
week = ["Mon-Fri 09:00-18:00"]
[[mailbox]]
address = "support@example.com"
`+mailboxes), 0o600)
	return rules.Load(p)
}

// A template that does not parse is named by the key that set it.
func TestLoadErrorKeys(t *testing.T) {
	for _, c := range []struct{ mb, file, key string }{
		{"template = \"a.html\"", "<p>{{.Nope}}</p>", "mailbox[1].template"},
		{"[mailbox.autoreply]\ntemplate = \"a.html\"", "<p>{{.Nope}}</p>", "mailbox[1].autoreply.template"},
		{"[mailbox.autoreply]\nnotify_template = \"a.html\"", "<p>{{.Body</p>", "mailbox[1].autoreply.notify_template"},
		{"[mailbox.autoreply]\nsignature = \"a.html\"", `{{define "signature"}}{{.Who}}{{end}}`, "mailbox[1].autoreply.signature"},
		{"[mailbox.autoreply]\nsubject = \"{{.Nope}}\"", "", "mailbox[1].autoreply.subject"},
	} {
		cfg, err := loadConfig(t, "[[mailbox]]\naddress = \"b@example.com\"\n"+c.mb+"\n", map[string]string{"a.html": c.file})
		if err != nil {
			t.Fatalf("%s: %v", c.key, err)
		}
		_, err = Load(cfg)
		var ke *rules.KeyError
		if err == nil || !strings.HasPrefix(err.Error(), c.key+":") {
			t.Errorf("want an error under %s, got %v (%T)", c.key, err, ke)
		}
	}
}

// The working-time facts and the words they are put in.
func TestFill(t *testing.T) {
	cfg, err := loadConfig(t, "hours = \"office\"\nresponse_time = \"4h\"\ntask_deadline = true\n[[mailbox]]\naddress = \"en@example.com\"\nhours = \"office\"\n[mailbox.autoreply]\nlanguage = \"en\"\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	set, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	msk, _ := time.LoadLocation("Europe/Moscow")
	fri := time.Date(2026, 12, 4, 17, 0, 0, 0, msk)
	var d compose.TemplateData
	ru := set.For("Support@Example.com")
	ru.Fill(&d, fri)
	if !d.InHours || d.NextOpen != "" || d.AnswerBy != "в понедельник, 7 декабря, в 12:00" || d.Language != "ru" {
		t.Errorf("ru at Friday 17:00: %+v", d)
	}
	if dl := ru.Deadline(fri); !dl.Equal(time.Date(2026, 12, 7, 12, 0, 0, 0, msk)) {
		t.Errorf("deadline %s", dl)
	}
	var e compose.TemplateData
	en := set.For("en@example.com")
	en.Fill(&e, fri.Add(2*time.Hour))
	if e.InHours || e.NextOpen != "on Monday, 7 December, at 9:00" || e.AnswerBy != "" || !en.Deadline(fri).IsZero() {
		t.Errorf("en at Friday 19:00: %+v", e)
	}
}
