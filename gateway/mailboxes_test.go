package gateway

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"supportgate/bitrix/bitrixtest"
	"supportgate/mailtest"
	"supportgate/rules"
)

// Two addresses, two sets of rules (issue 10): support@ in Russian with
// Moscow office hours, sales@ in English with its own template, group,
// responsible, exclusions, Berlin hours and a task deadline. The
// gateway's clock says Friday 4 December 2026, 23:40 in Moscow.
func newMailboxesEnv(t *testing.T, salesTemplate string) (*env, *bitrixtest.Portal) {
	t.Helper()
	portal := bitrixtest.NewWithOptions(t, bitrixtest.Options{UserID: 1, FolderID: 11})
	portal.AddUser(7, "Ольга Смирнова", "olga@example.com")
	portal.AddUser(9, "Anna Weber", "anna@example.com")
	e := &env{t: t, dir: t.TempDir(), upstream: mailtest.Start(t, false), smarthost: mailtest.Start(t, false)}
	msk, _ := time.LoadLocation("Europe/Moscow")
	friday := time.Date(2026, 12, 4, 23, 40, 0, 0, msk)
	e.clock = func() time.Time { return friday }
	os.WriteFile(filepath.Join(e.dir, "sales.html"), []byte(salesTemplate), 0o600)
	extra := fmt.Sprintf(`
[auth]
autoreply = "off"
[bitrix]
webhook_url = %q
responsible_id = 7
application_token = %q
folder_id = 11
poll_interval = "1h"
[bitrix.task]
GROUP_ID = 5
TAGS = ["support"]
[hours.office]
timezone = "Europe/Moscow"
week = ["Mon-Fri 09:00-18:00"]
[hours.berlin]
timezone = "Europe/Berlin"
week = ["Mon-Fri 09:00-17:00"]
calendar = "none"
`, portal.WebhookURL(), appToken)
	cfg := baseConfig(e.dir, e.upstream.Addr(), e.smarthost.Addr(), extra)
	cfg = strings.Replace(cfg, "forward_to = [\"support@mail.internal.example.com\"]\n",
		"forward_to = [\"support@mail.internal.example.com\"]\nname = \"Служба поддержки\"\nhours = \"office\"\nresponse_time = \"4h\"\n", 1)
	cfg = strings.Replace(cfg, "address = \"sales@example.com\"\n", `address = "sales@example.com"
name = "Sales team"
template = "sales.html"
responsible_id = 9
hours = "berlin"
response_time = "8h"
task_deadline = true
exclude_domains = ["partner.test"]
[mailbox.task]
GROUP_ID = 14
[mailbox.autoreply]
language = "en"
subject = "Re: {{.Subject}} (sales)"
`, 1)
	path := filepath.Join(e.dir, "config.toml")
	os.WriteFile(path, []byte(cfg), 0o600)
	e.startPath(path)
	return e, portal
}

func replyTo(t *testing.T, e *env, rcpt string) mailtest.Msg {
	t.Helper()
	var got mailtest.Msg
	waitFor(t, func() bool {
		for _, m := range replies(e) {
			if len(m.Rcpts) == 1 && m.Rcpts[0] == rcpt {
				got = m
				return true
			}
		}
		return false
	}, "auto-reply to "+rcpt)
	return got
}

func TestTwoMailboxes(t *testing.T) {
	e, portal := newMailboxesEnv(t, `<p>SALES {{.Greeting}}: we open {{.NextOpen}}; answer {{.AnswerBy}}.</p>{{template "signature" .}}`)
	send(t, e.g.SMTPAddr(), "ivan@customer.test", []string{"support@example.com"},
		"From: \"Иван Петров\" <ivan@customer.test>\r\nTo: support@example.com\r\nSubject: printer\r\nMessage-ID: <s1@customer.test>\r\n\r\nне печатает\r\n")
	send(t, e.g.SMTPAddr(), "jane@customer.test", []string{"sales@example.com"},
		"From: \"Jane Doe\" <jane@customer.test>\r\nTo: sales@example.com\r\nSubject: quote\r\nMessage-ID: <b1@customer.test>\r\n\r\nprice please\r\n")
	waitFor(t, func() bool { return len(portal.Tasks()) == 2 }, "two tasks")
	var sup, sal bitrixtest.Task
	for _, tk := range portal.Tasks() {
		if tk.Title == "printer" {
			sup = tk
		} else {
			sal = tk
		}
	}
	// Task fields: [bitrix.task] for support@, [mailbox.task] over it for sales@.
	if sup.GroupID != 5 || sup.ResponsibleID != 7 || !strings.Contains(sup.Description, "[B]От:[/B]") || sup.Fields["DEADLINE"] != nil {
		t.Errorf("support@ task: group %d responsible %d fields %v\n%s", sup.GroupID, sup.ResponsibleID, sup.Fields, sup.Description)
	}
	// sales@: 8 working hours from Friday 21:40 Berlin is Monday 17:00.
	if sal.GroupID != 14 || sal.ResponsibleID != 9 || len(sal.Tags) != 1 || !strings.Contains(sal.Description, "[B]From:[/B]") ||
		!strings.HasPrefix(fmt.Sprint(sal.Fields["DEADLINE"]), "2026-12-07T17:00:00+01:00") {
		t.Errorf("sales@ task: group %d responsible %d tags %v fields %v\n%s", sal.GroupID, sal.ResponsibleID, sal.Tags, sal.Fields, sal.Description)
	}
	// Replies: each its own template, language and working hours.
	rs := decodedHTML(t, replyTo(t, e, "ivan@customer.test"))
	if !bytes.Contains(rs, []byte("Здравствуйте, Иван Петров!")) || !bytes.Contains(rs, []byte("в понедельник, 7 декабря, в 9:00")) ||
		!bytes.Contains(rs, []byte("в понедельник, 7 декабря, в 13:00")) {
		t.Errorf("support@ reply:\n%s", rs)
	}
	sm := replyTo(t, e, "jane@customer.test")
	rb := decodedHTML(t, sm)
	if !bytes.Contains(rb, []byte("SALES Jane Doe: we open on Monday, 7 December, at 9:00; answer on Monday, 7 December, at 17:00.")) ||
		!bytes.Contains(rb, []byte("Sales team")) {
		t.Errorf("sales@ reply:\n%s", rb)
	}
	smh := header(t, sm)
	if subj, _ := smh.Subject(); subj != "Re: quote (sales)" {
		t.Errorf("sales@ subject %q", subj)
	}

	// Exclusions: partner.test is excluded for sales@ only.
	send(t, e.g.SMTPAddr(), "bob@partner.test", []string{"sales@example.com"}, plainMsg("bob@partner.test", "sales@example.com", "hi", "b"))
	send(t, e.g.SMTPAddr(), "carl@partner.test", []string{"support@example.com"}, plainMsg("carl@partner.test", "support@example.com", "hi", "b"))
	replyTo(t, e, "carl@partner.test")
	waitFor(t, func() bool { return len(portal.Tasks()) == 4 }, "four tasks")
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
	for _, m := range replies(e) {
		if m.Rcpts[0] == "bob@partner.test" {
			t.Errorf("bob@partner.test (excluded for sales@) got a reply")
		}
	}

	// Jane writes again, to support@ this time, answering our reply: the
	// thread stays with sales@ (its task, its language).
	ackID, _ := smh.MessageID()
	send(t, e.g.SMTPAddr(), "jane@customer.test", []string{"support@example.com"},
		"From: jane@customer.test\r\nTo: support@example.com\r\nSubject: Re: quote\r\nMessage-ID: <b2@customer.test>\r\nIn-Reply-To: <"+ackID+">\r\n\r\nand delivery?\r\n")
	waitFor(t, func() bool { return len(portal.Comments(sal.ID)) == 1 }, "comment on the sales task")
	if c := portal.Comments(sal.ID)[0]; !strings.Contains(c.Message, "[B]From:[/B]") {
		t.Errorf("follow-up comment not in the sales@ language: %q", c.Message)
	}
	// The specialist answers: from sales@, signed in English.
	cid := portal.AddSpecialistComment(sal.ID, 9, "Hello!\n[list][*]price: 10 EUR[*]delivery: [url=https://example.com/d]terms[/url][/list]", nil)
	if resp, err := portal.FireCommentEvent("http://"+e.g.HTTPAddr()+"/bitrix/event", appToken, sal.ID, cid); err != nil || resp.StatusCode != 200 {
		t.Fatalf("event: %v %v", resp, err)
	}
	var note mailtest.Msg
	waitFor(t, func() bool {
		for _, m := range e.smarthost.Messages() {
			if bytes.Contains(m.Data, []byte("Reply-To")) && !bytes.Contains(m.Data, []byte("Auto-Submitted: auto-replied")) {
				note = m
				return true
			}
		}
		return false
	}, "notification")
	nh := header(t, note)
	from, _ := nh.AddressList("From")
	if len(from) != 1 || from[0].Address != "sales@example.com" || from[0].Name != "Anna Weber, Sales team" {
		t.Errorf("notification From %v", from)
	}
	if html := decodedHTML(t, note); !bytes.Contains(html, []byte(fmt.Sprintf("Request #%d", sal.ID))) || !bytes.Contains(html, []byte("<ul>")) {
		t.Errorf("notification html:\n%s", html)
	}
}

// A reload that changes one mailbox's template changes that mailbox's
// replies only.
func TestReloadOneMailbox(t *testing.T) {
	e, _ := newMailboxesEnv(t, `<p>SALES v1 {{.Greeting}}</p>`)
	os.WriteFile(filepath.Join(e.dir, "sales.html"), []byte(`<p>SALES v2 {{.Greeting}}</p>`), 0o600)
	c, err := rules.Load(e.g.Cfg.Get().Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.g.Reload(c); err != nil {
		t.Fatal(err)
	}
	send(t, e.g.SMTPAddr(), "a@customer.test", []string{"sales@example.com"}, plainMsg("a@customer.test", "sales@example.com", "one", "b"))
	send(t, e.g.SMTPAddr(), "b@customer.test", []string{"support@example.com"}, plainMsg("b@customer.test", "support@example.com", "two", "b"))
	if h := decodedHTML(t, replyTo(t, e, "a@customer.test")); !bytes.Contains(h, []byte("SALES v2")) {
		t.Errorf("sales@ after reload:\n%s", h)
	}
	if h := decodedHTML(t, replyTo(t, e, "b@customer.test")); !bytes.Contains(h, []byte("Здравствуйте, b@customer.test!")) || bytes.Contains(h, []byte("SALES")) {
		t.Errorf("support@ after reload:\n%s", h)
	}
	// A broken template for one mailbox is refused under its key.
	os.WriteFile(filepath.Join(e.dir, "sales.html"), []byte(`<p>{{.Nope}}</p>`), 0o600)
	c2, err := rules.Load(e.g.Cfg.Get().Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.g.Reload(c2); err == nil || !strings.Contains(err.Error(), "mailbox[1].template") {
		t.Errorf("broken sales@ template: %v", err)
	}
}
