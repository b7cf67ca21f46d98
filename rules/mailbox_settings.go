package rules

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"supportgate/hours"
)

// MailboxOverrides are what one [[mailbox]] may set for itself (issue 10):
// its own acknowledgement, language, exclusions, responsible person,
// task fields and working hours. The zero value of each inherits.
type MailboxOverrides struct {
	// Template is the short form of [mailbox.autoreply] template
	// (docs/CONTRACT.md, "Added in the second round").
	Template      string `toml:"template"`
	ResponsibleID int64  `toml:"responsible_id"`
	// Hours names the [hours.NAME] profile of this address.
	Hours string `toml:"hours"`
	// ResponseTime is the promise, in working time ("4h"): .AnswerBy.
	ResponseTime Duration `toml:"response_time"`
	// TaskDeadline sets the task's DEADLINE to the same promise, so the
	// portal's own overdue tracking works (needs hours and response_time).
	TaskDeadline *bool `toml:"task_deadline"`
	// Exclusions added to [rules] ones for mail to this address.
	ExcludeDomains   []string         `toml:"exclude_domains"`
	ExcludeAddresses []string         `toml:"exclude_addresses"`
	Task             map[string]any   `toml:"task"`
	Autoreply        MailboxAutoreply `toml:"autoreply"`
}

// MailboxAutoreply is [mailbox.autoreply]: empty values inherit [autoreply].
type MailboxAutoreply struct {
	Enabled        *bool  `toml:"enabled"`
	Subject        string `toml:"subject"`
	Template       string `toml:"template"`
	Language       string `toml:"language"`
	NotifyTemplate string `toml:"notify_template"`
	Signature      string `toml:"signature"`
}

// Letters are the global keys of what we write, in [autoreply].
type Letters struct {
	// Language of the mailbox's letters and task lines: "ru" or "en".
	Language string `toml:"language"`
	// NotifyTemplate is the specialist's answer (html/template); empty:
	// the built-in one of the language. Signature is the block all
	// letters share (a {{define "signature"}} file); empty: built in.
	NotifyTemplate string `toml:"notify_template"`
	Signature      string `toml:"signature"`
	// Greeting is the order in which the greeting's name is looked for:
	// "contacts" (the [contacts] file), "crm" (Bitrix24), "display_name"
	// (the From name, when it looks like a person's), "address".
	Greeting []string `toml:"greeting"`
	// ResponseTime is the default promise for every mailbox.
	ResponseTime Duration `toml:"response_time"`
}

// Greeting sources.
const (
	GreetContacts    = "contacts"
	GreetCRM         = "crm"
	GreetDisplayName = "display_name"
	GreetAddress     = "address"
)

func lettersDefaults() Letters {
	return Letters{Language: "ru", Greeting: []string{GreetContacts, GreetCRM, GreetDisplayName, GreetAddress}}
}

// HoursProfile is one [hours.NAME] table.
type HoursProfile struct {
	Timezone string   `toml:"timezone"`
	Week     []string `toml:"week"`
	// Calendar is a TOML calendar file; "" the shipped Russian production
	// calendar, "none" no holidays at all.
	Calendar string `toml:"calendar"`
	// The admin's own dates, added to the calendar.
	Holidays  []string `toml:"holidays"`
	Shortened []string `toml:"shortened"`
	Workdays  []string `toml:"workdays"`

	profile *hours.Profile
}

// Settings are the rules in force for one mailbox: its overrides over
// the global values.
type Settings struct {
	Index            int // in [[mailbox]]; -1 when the address is not one
	Address, Name    string
	AutoreplyEnabled bool
	Subject          string
	// Template, NotifyTemplate, Signature: files; "" the built-in ones.
	Template, NotifyTemplate, Signature string
	Language                            string // "ru" | "en"
	ResponsibleID                       int64
	Task                                map[string]any // [bitrix.task] with [mailbox.task] over it
	ExcludeDomains, ExcludeAddresses    []string
	HoursName                           string
	Hours                               *hours.Profile // nil: no working hours known
	ResponseTime                        time.Duration
	TaskDeadline                        bool
}

// KeyPrefix is where this mailbox's keys are reported ("mailbox[1].").
func (s *Settings) KeyPrefix() string {
	if s.Index < 0 {
		return ""
	}
	return fmt.Sprintf("mailbox[%d].", s.Index)
}

// SettingsFor resolves the rules of the mailbox addr names (a +tag and
// case do not matter); an address that is no mailbox gets the first
// mailbox's, as mail to it is filed there.
func (c *Config) SettingsFor(addr string) *Settings {
	idx := -1
	if mb := c.FindMailbox(addr); mb != nil {
		for i := range c.Mailbox {
			if &c.Mailbox[i] == mb {
				idx = i
			}
		}
	} else if len(c.Mailbox) > 0 {
		idx = 0
	}
	return c.settingsAt(idx)
}

func (c *Config) settingsAt(idx int) *Settings {
	a := c.Autoreply
	s := &Settings{Index: idx, AutoreplyEnabled: a.Enabled, Subject: a.Subject, Template: a.Template,
		NotifyTemplate: a.NotifyTemplate, Signature: a.Signature, Language: a.Language,
		ResponsibleID: c.Bitrix.ResponsibleID, Task: MergeTask(c.Bitrix.Task),
		ExcludeDomains: c.Rules.ExcludeDomains, ExcludeAddresses: c.Rules.ExcludeAddresses,
		ResponseTime: a.ResponseTime.D()}
	if idx < 0 || idx >= len(c.Mailbox) {
		s.Index = -1
		return s
	}
	m := &c.Mailbox[idx]
	s.Address, s.Name = m.Address, m.Name
	o := m.MailboxOverrides
	if o.Autoreply.Enabled != nil {
		s.AutoreplyEnabled = *o.Autoreply.Enabled
	}
	pick := func(dst *string, vals ...string) {
		for _, v := range vals {
			if v != "" {
				*dst = v
				return
			}
		}
	}
	pick(&s.Subject, o.Autoreply.Subject)
	pick(&s.Template, o.Autoreply.Template, o.Template)
	pick(&s.NotifyTemplate, o.Autoreply.NotifyTemplate)
	pick(&s.Signature, o.Autoreply.Signature)
	pick(&s.Language, o.Autoreply.Language)
	if o.ResponsibleID > 0 {
		s.ResponsibleID = o.ResponsibleID
	}
	s.Task = MergeTask(c.Bitrix.Task, o.Task)
	s.ExcludeDomains = append(slices.Clip(s.ExcludeDomains), o.ExcludeDomains...)
	s.ExcludeAddresses = append(slices.Clip(s.ExcludeAddresses), o.ExcludeAddresses...)
	if o.ResponseTime > 0 {
		s.ResponseTime = o.ResponseTime.D()
	}
	if o.Hours != "" {
		s.HoursName = o.Hours
		if h, ok := c.Hours[o.Hours]; ok {
			s.Hours = h.profile
		}
	}
	if o.TaskDeadline != nil {
		s.TaskDeadline = *o.TaskDeadline
	}
	return s
}

// AllSettings are the settings of every mailbox, in order.
func (c *Config) AllSettings() []*Settings {
	out := make([]*Settings, len(c.Mailbox))
	for i := range c.Mailbox {
		out[i] = c.settingsAt(i)
	}
	return out
}

func (c *Config) resolveMailboxPaths() {
	dir := c.Dir()
	abs := func(p *string) {
		if *p != "" && *p != "none" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Autoreply.NotifyTemplate)
	abs(&c.Autoreply.Signature)
	for i := range c.Mailbox {
		o := &c.Mailbox[i].MailboxOverrides
		for _, p := range []*string{&o.Template, &o.Autoreply.Template, &o.Autoreply.NotifyTemplate, &o.Autoreply.Signature} {
			abs(p)
		}
	}
	for k, h := range c.Hours {
		abs(&h.Calendar)
		c.Hours[k] = h
	}
}

// validateMailboxes checks the per-mailbox keys and builds the [hours]
// profiles; each error is under the key the admin wrote.
func (c *Config) validateMailboxes() []error {
	var errs []error
	add := func(key, format string, a ...any) {
		errs = append(errs, &KeyError{Key: key, Msg: fmt.Sprintf(format, a...)})
	}
	checkLang := func(key, v string) {
		if v != "" && v != "ru" && v != "en" {
			add(key, "must be \"ru\" or \"en\", not %q", v)
		}
	}
	checkLang("autoreply.language", c.Autoreply.Language)
	if c.Autoreply.Language == "" {
		add("autoreply.language", "must be \"ru\" or \"en\"")
	}
	for _, f := range []struct{ key, v string }{{"autoreply.notify_template", c.Autoreply.NotifyTemplate}, {"autoreply.signature", c.Autoreply.Signature}} {
		if f.v != "" {
			if err := readable(f.v); err != nil {
				add(f.key, "%v", err)
			}
		}
	}
	if c.Autoreply.ResponseTime < 0 {
		add("autoreply.response_time", "must not be negative")
	}
	seen := map[string]bool{}
	if len(c.Autoreply.Greeting) == 0 {
		add("autoreply.greeting", "must name at least one of contacts, crm, display_name, address")
	}
	for i, g := range c.Autoreply.Greeting {
		switch g {
		case GreetContacts, GreetCRM, GreetDisplayName, GreetAddress:
			if seen[g] {
				add(fmt.Sprintf("autoreply.greeting[%d]", i), "%q named twice", g)
			}
			seen[g] = true
		default:
			add(fmt.Sprintf("autoreply.greeting[%d]", i), "must be contacts, crm, display_name or address, not %q", g)
		}
	}

	for name, h := range c.Hours {
		key := "hours." + name
		cal, err := hours.LoadCalendar(h.Calendar)
		if err != nil {
			add(key+".calendar", "%v", err)
			continue
		}
		if err := cal.AddDates(h.Holidays, h.Shortened, h.Workdays); err != nil {
			add(key, "%v", err)
			continue
		}
		p, err := hours.New(name, h.Timezone, h.Week, cal)
		if err != nil {
			k, msg, _ := strings.Cut(err.Error(), ": ")
			add(key+"."+k, "%s", msg)
			continue
		}
		h.profile = p
		c.Hours[name] = h
	}

	for i, m := range c.Mailbox {
		o := m.MailboxOverrides
		key := fmt.Sprintf("mailbox[%d].", i)
		checkLang(key+"autoreply.language", o.Autoreply.Language)
		if o.Template != "" && o.Autoreply.Template != "" {
			add(key+"template", "set template or [mailbox.autoreply] template, not both")
		}
		for _, f := range []struct{ k, v string }{
			{"template", o.Template}, {"autoreply.template", o.Autoreply.Template},
			{"autoreply.notify_template", o.Autoreply.NotifyTemplate}, {"autoreply.signature", o.Autoreply.Signature},
		} {
			if f.v != "" {
				if err := readable(f.v); err != nil {
					add(key+f.k, "%v", err)
				}
			}
		}
		if o.Autoreply.Subject != "" {
			if _, err := template.New("subject").Parse(o.Autoreply.Subject); err != nil {
				add(key+"autoreply.subject", "template: %v", err)
			}
		}
		if o.ResponsibleID < 0 {
			add(key+"responsible_id", "must be a Bitrix24 user id")
		}
		if o.ResponseTime < 0 {
			add(key+"response_time", "must not be negative")
		}
		if o.Hours != "" {
			if _, ok := c.Hours[o.Hours]; !ok {
				add(key+"hours", "no [hours.%s] profile", o.Hours)
			}
		}
		if o.TaskDeadline != nil && *o.TaskDeadline {
			s := c.settingsAt(i)
			if s.HoursName == "" || s.ResponseTime <= 0 {
				add(key+"task_deadline", "needs hours and response_time (the deadline is counted in working time)")
			}
		}
		for j, d := range o.ExcludeDomains {
			if d == "" || strings.ContainsAny(d, "@ \t") {
				add(fmt.Sprintf("%sexclude_domains[%d]", key, j), "not a domain: %q", d)
			}
		}
		for j, a := range o.ExcludeAddresses {
			if !strings.Contains(a, "@") || strings.ContainsAny(a, " \t<>") {
				add(fmt.Sprintf("%sexclude_addresses[%d]", key, j), "not an email address: %q", a)
			}
		}
	}
	return errs
}
