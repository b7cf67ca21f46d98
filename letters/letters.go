// Package letters is what each mailbox writes: its acknowledgement and
// specialist's-answer templates, parsed once per config, and the working
// time the acknowledgement promises. The pipeline (the acknowledgement)
// and the tracker (the answer, the task's DEADLINE) share it.
package letters

import (
	"errors"
	"sync"
	"time"

	"supportgate/compose"
	"supportgate/hours"
	"supportgate/rules"
)

// Mailbox is one mailbox's letters and rules.
type Mailbox struct {
	S      *rules.Settings
	Ack    *compose.Templates
	Notify *compose.Templates
}

// Set is every mailbox's letters for one config.
type Set struct {
	boxes []*Mailbox
	def   *Mailbox // for an address that is no mailbox
	cfg   *rules.Config
}

// Load parses every mailbox's templates. An error names the key at
// fault: "mailbox[1].autoreply.template", or "autoreply.template" when
// the global one is.
func Load(c *rules.Config) (*Set, error) {
	s := &Set{cfg: c}
	for _, st := range c.AllSettings() {
		m, err := load(c, st)
		if err != nil {
			return nil, err
		}
		s.boxes = append(s.boxes, m)
	}
	if len(s.boxes) > 0 {
		s.def = s.boxes[0]
	} else {
		m, err := load(c, c.SettingsFor(""))
		if err != nil {
			return nil, err
		}
		s.def = m
	}
	return s, nil
}

func load(c *rules.Config, st *rules.Settings) (*Mailbox, error) {
	keyOf := func(which string) string {
		o := rules.MailboxOverrides{}
		if st.Index >= 0 {
			o = c.Mailbox[st.Index].MailboxOverrides
		}
		p := st.KeyPrefix()
		switch which {
		case "subject":
			if o.Autoreply.Subject != "" {
				return p + "autoreply.subject"
			}
			return "autoreply.subject"
		case "signature":
			if o.Autoreply.Signature != "" {
				return p + "autoreply.signature"
			}
			return "autoreply.signature"
		case "notify":
			if o.Autoreply.NotifyTemplate != "" {
				return p + "autoreply.notify_template"
			}
			return "autoreply.notify_template"
		}
		switch {
		case o.Autoreply.Template != "":
			return p + "autoreply.template"
		case o.Template != "":
			return p + "template"
		}
		return "autoreply.template"
	}
	wrap := func(err error, notify bool) error {
		var le *compose.LoadError
		which := "template"
		if errors.As(err, &le) {
			which = le.Which
		}
		if notify && which == "template" {
			which = "notify"
		}
		return &rules.KeyError{Key: keyOf(which), Msg: err.Error()}
	}
	sig := compose.FileSource(st.Signature)
	ack, err := compose.Load(st.Subject, compose.FileSource(st.Template), sig, st.Language)
	if err != nil {
		return nil, wrap(err, false)
	}
	notify, err := compose.NotifyTemplates(compose.FileSource(st.NotifyTemplate), sig, st.Language)
	if err != nil {
		return nil, wrap(err, true)
	}
	return &Mailbox{S: st, Ack: ack, Notify: notify}, nil
}

// For is the mailbox addr names (a +tag and case do not matter; an
// unknown address gets the first mailbox's letters).
func (s *Set) For(addr string) *Mailbox {
	st := s.cfg.SettingsFor(addr)
	if st.Index >= 0 && st.Index < len(s.boxes) {
		return s.boxes[st.Index]
	}
	return s.def
}

// cache keeps the parsed letters of the configs in force: a reload puts
// a new *rules.Config in the holder, so the pointer says when to parse
// again.
var cache struct {
	sync.Mutex
	sets map[*rules.Config]*Set
}

// Of is Load for c, parsed once per config (safe for concurrent use).
func Of(c *rules.Config) (*Set, error) {
	cache.Lock()
	defer cache.Unlock()
	if s, ok := cache.sets[c]; ok {
		return s, nil
	}
	s, err := Load(c)
	if err != nil {
		return nil, err
	}
	if cache.sets == nil || len(cache.sets) >= 8 {
		cache.sets = map[*rules.Config]*Set{} // old configs: reloaded away
	}
	cache.sets[c] = s
	return s, nil
}

// Times are the working-time facts of one moment for a mailbox.
type Times struct {
	Known    bool      // the mailbox has working hours
	InHours  bool      // true when not Known
	NextOpen time.Time // zero when InHours
	AnswerBy time.Time // zero without response_time
}

// TimesAt computes the facts at now.
func (m *Mailbox) TimesAt(now time.Time) Times {
	t := Times{InHours: true}
	p := m.S.Hours
	if p == nil {
		if m.S.ResponseTime > 0 {
			t.AnswerBy = now.Add(m.S.ResponseTime)
		}
		return t
	}
	t.Known = true
	t.InHours = p.InHours(now)
	if !t.InHours {
		t.NextOpen = p.NextOpen(now)
	}
	if m.S.ResponseTime > 0 {
		t.AnswerBy = p.Add(now, m.S.ResponseTime)
	}
	return t
}

// Fill puts the times into the template data, in the mailbox's words.
func (m *Mailbox) Fill(d *compose.TemplateData, now time.Time) {
	t := m.TimesAt(now)
	loc := time.Local
	if m.S.Hours != nil {
		loc = m.S.Hours.Loc
	}
	d.InHours = t.InHours
	d.NextOpen = hours.Moment(t.NextOpen.In(loc), now.In(loc), m.S.Language)
	if !t.AnswerBy.IsZero() {
		d.AnswerBy = hours.Moment(t.AnswerBy.In(loc), now.In(loc), m.S.Language)
	}
	d.Language = m.S.Language
	if d.Team == "" {
		d.Team = m.S.Name
	}
	if d.Mailbox == "" {
		d.Mailbox = m.S.Address
	}
}

// Deadline is the task's DEADLINE for a request made at created, or the
// zero time when the mailbox sets none (task_deadline off).
func (m *Mailbox) Deadline(created time.Time) time.Time {
	if !m.S.TaskDeadline || m.S.Hours == nil || m.S.ResponseTime <= 0 {
		return time.Time{}
	}
	return m.S.Hours.Add(created, m.S.ResponseTime)
}
