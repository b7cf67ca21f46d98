package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const twoMailboxes = `
[smtp]
hostname = "mx.test"
[upstream]
address = "127.0.0.1:25"
[outbound]
address = "127.0.0.1:26"
[bitrix]
responsible_id = 1
[bitrix.task]
GROUP_ID = 5
TAGS = ["support"]
[rules]
exclude_domains = ["partner.example"]
[autoreply]
response_time = "8h"

[[mailbox]]
address = "support@example.com"
name = "Служба поддержки"

[[mailbox]]
address = "billing@example.com"
template = "billing.html"
responsible_id = 9
hours = "office"
response_time = "4h"
task_deadline = true
exclude_addresses = ["robot@bank.example"]
[mailbox.task]
GROUP_ID = 14
[mailbox.autoreply]
language = "en"
subject = "Re: {{.Subject}} (billing)"

[hours.office]
timezone = "Europe/Moscow"
week = ["Mon-Fri 09:00-18:00"]
`

func TestMailboxSettings(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	os.WriteFile(path, []byte(twoMailboxes), 0o600)
	os.WriteFile(filepath.Join(dir, "billing.html"), []byte("<p>{{.Greeting}}</p>"), 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sup, bil := c.SettingsFor("Support@example.com"), c.SettingsFor("billing+x@example.com")
	if sup.Index != 0 || bil.Index != 1 {
		t.Fatalf("indexes %d %d", sup.Index, bil.Index)
	}
	// support@ inherits everything.
	if sup.Language != "ru" || sup.ResponsibleID != 1 || fmt.Sprint(sup.Task) != "map[GROUP_ID:5 TAGS:[support]]" ||
		sup.Template != "" || sup.Hours != nil || sup.ResponseTime.String() != "8h0m0s" || sup.TaskDeadline ||
		fmt.Sprint(sup.ExcludeAddresses) != "[]" || sup.Subject != "Re: {{.Subject}}" || !sup.AutoreplyEnabled {
		t.Errorf("support@ settings: %+v", sup)
	}
	// billing@ overrides, and adds to the exclusions.
	if bil.Language != "en" || bil.ResponsibleID != 9 || fmt.Sprint(bil.Task) != "map[GROUP_ID:14 TAGS:[support]]" ||
		bil.Template != filepath.Join(dir, "billing.html") || bil.Hours == nil || bil.Hours.Loc.String() != "Europe/Moscow" ||
		bil.ResponseTime.String() != "4h0m0s" || !bil.TaskDeadline || bil.Subject != "Re: {{.Subject}} (billing)" ||
		fmt.Sprint(bil.ExcludeDomains) != "[partner.example]" || fmt.Sprint(bil.ExcludeAddresses) != "[robot@bank.example]" {
		t.Errorf("billing@ settings: %+v", bil)
	}
	if fmt.Sprint(c.Rules.ExcludeAddresses) != "[]" || fmt.Sprint(c.Bitrix.Task) != "map[GROUP_ID:5 TAGS:[support]]" {
		t.Errorf("globals changed: %v %v", c.Rules.ExcludeAddresses, c.Bitrix.Task)
	}
	if fmt.Sprint(c.Autoreply.Greeting) != "[contacts crm display_name address]" {
		t.Errorf("default greeting order %v", c.Autoreply.Greeting)
	}
}

// Errors are reported under the mailbox's own key.
func TestMailboxSettingsErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	bad := strings.NewReplacer(`template = "billing.html"`, `template = "missing.html"`,
		`hours = "office"`, `hours = "night"`, `language = "en"`, "language = \"de\"\ntemplate = \"x.html\"",
		`week = ["Mon-Fri 09:00-18:00"]`, `week = ["Mon-Fri 18:00-09:00"]`,
		`timezone = "Europe/Moscow"`, `timezone = "Europe/Mockba"`+"\ncalendar = \"nope.toml\"").Replace(twoMailboxes)
	bad += "\n[autoreply.x]\n"
	bad = strings.Replace(bad, `response_time = "8h"`, `response_time = "8h"`+"\ngreeting = [\"crm\", \"crm\", \"phone\"]", 1)
	os.WriteFile(path, []byte(bad), 0o600)
	_, err := Load(path)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, k := range []string{"mailbox[1].template:", "mailbox[1].hours:", "mailbox[1].autoreply.language:",
		"mailbox[1].autoreply.template:", "hours.office.calendar:",
		"autoreply.greeting[1]:", "autoreply.greeting[2]:"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("no %s in\n%v", k, err)
		}
	}
}
