package pipeline

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"time"

	"supportgate/compose"
	"supportgate/hours"
	"supportgate/letters"
	"supportgate/mailparse"
	"supportgate/rules"
	"supportgate/store"
)

// explainMailbox says which mailbox's rules apply and what the moment
// means for them: in working hours or not, when work starts again, the
// promise and the task's deadline.
func explainMailbox(c *rules.Config, mailbox string, now time.Time, w io.Writer) (*letters.Mailbox, error) {
	set, err := letters.Of(c)
	if err != nil {
		return nil, err
	}
	lb := set.For(mailbox)
	s := lb.S
	lang := s.Language
	tmpl := s.Template
	if tmpl == "" {
		tmpl = "built-in autoreply." + lang + ".html"
	}
	fmt.Fprintf(w, "mailbox:     %s (%sname %q, language %s, template %s, responsible %d)\n",
		s.Address, strings.TrimSuffix(s.KeyPrefix(), ".")+": ", s.Name, lang, tmpl, s.ResponsibleID)
	if len(s.Task) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(s.Task)) {
			kv = append(kv, fmt.Sprintf("%s=%v", k, s.Task[k]))
		}
		fmt.Fprintf(w, "task fields: %s\n", strings.Join(kv, " "))
	}
	if len(s.ExcludeDomains)+len(s.ExcludeAddresses) > 0 {
		fmt.Fprintf(w, "exclusions:  %s\n", strings.Join(append(slices.Clone(s.ExcludeDomains), s.ExcludeAddresses...), ", "))
	}
	t := lb.TimesAt(now)
	loc := time.Local
	if s.Hours != nil {
		loc = s.Hours.Loc
	}
	at := now.In(loc).Format("2006-01-02 15:04 Mon MST")
	switch {
	case !t.Known:
		fmt.Fprintf(w, "hours:       none set for this mailbox: every moment counts as working time (%s)\n", at)
	case t.InHours:
		fmt.Fprintf(w, "hours:       %s [hours.%s] %s: in working hours\n", at, s.HoursName, loc)
	default:
		fmt.Fprintf(w, "hours:       %s [hours.%s] %s: outside working hours; opens %s (%s)\n", at, s.HoursName, loc,
			t.NextOpen.In(loc).Format("2006-01-02 15:04 Mon"), momentWords(t.NextOpen, now, loc, lang))
	}
	if !t.AnswerBy.IsZero() {
		fmt.Fprintf(w, "answer by:   %s (%s of working time: %s)\n", t.AnswerBy.In(loc).Format("2006-01-02 15:04 Mon"),
			s.ResponseTime, momentWords(t.AnswerBy, now, loc, lang))
	}
	if dl := lb.Deadline(now); !dl.IsZero() {
		fmt.Fprintf(w, "deadline:    %s (task_deadline: the task's DEADLINE)\n", dl.In(loc).Format(time.RFC3339))
	}
	return lb, nil
}

func momentWords(t, now time.Time, loc *time.Location, lang string) string {
	return hours.Moment(t.In(loc), now.In(loc), lang)
}

// explainRender composes the acknowledgement as it would go at now and
// prints it decoded: the headers, the text part, the HTML part.
func explainRender(c *rules.Config, lb *letters.Mailbox, m *store.Message, pm *mailparse.Message, now time.Time, in ExplainInput, w io.Writer) error {
	contacts := NewContacts(c.Contacts.File)
	contacts.Load()
	d := replyData{To: m.From, Subject: pm.Subject}
	if strings.EqualFold(pm.From.Addr, m.From) {
		d.Name = pm.From.Name
	}
	data := explainGreeting(c, contacts, d)
	data.Subject = pm.Subject
	if strings.TrimSpace(data.Subject) == "" {
		data.Subject = c.Bitrix.TitleFallback
	}
	lb.Fill(&data, now)
	body, err := compose.AutoReply(compose.ReplyParams{Templates: lb.Ack, Data: data, Hostname: c.SMTP.Hostname,
		From: mail.Address{Address: lb.S.Address, Name: lb.S.Name}, To: m.From, OrigFrom: mail.Address{Name: pm.From.Name, Address: pm.From.Addr},
		InReplyToID: pm.MessageID, References: pm.References, InReplyTo: pm.InReplyTo, LoopID: loopID(c), Date: now})
	if err != nil {
		return err
	}
	out, err := mailparse.Parse(bytes.NewReader(body), mailparse.Limits{})
	if out == nil {
		return fmt.Errorf("the rendered reply does not parse: %v", err)
	}
	if in.HTML != nil {
		// A browser cannot follow cid: links: the images go in as data: URLs.
		h := out.HTML
		for _, a := range out.Attachments {
			if a.ContentID != "" {
				h = strings.ReplaceAll(h, "cid:"+a.ContentID, "data:"+a.ContentType+";base64,"+base64.StdEncoding.EncodeToString(a.Data))
			}
		}
		if _, err := io.WriteString(in.HTML, h); err != nil {
			return err
		}
	}
	if !in.Render {
		return nil
	}
	fmt.Fprintf(w, "greeting:    %q (order: %s)\n", data.Greeting, strings.Join(c.Autoreply.Greeting, ", "))
	fmt.Fprintln(w, "\n----- the reply that would be sent (decoded) -----")
	dec := new(mime.WordDecoder)
	for _, k := range []string{"From", "To", "Subject", "Date", "Message-Id", "In-Reply-To", "References", "Auto-Submitted", "Content-Type"} {
		v := out.Header.Get(k)
		if v == "" {
			continue
		}
		if dv, err := dec.DecodeHeader(v); err == nil {
			v = dv
		}
		fmt.Fprintf(w, "%s: %s\n", k, v)
	}
	var parts []string
	for _, a := range out.Attachments {
		parts = append(parts, fmt.Sprintf("%s %s (%d bytes, inline=%v)", a.ContentType, a.Filename, len(a.Data), a.Inline))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "Parts: %s\n", strings.Join(parts, "; "))
	}
	fmt.Fprintf(w, "\n----- text/plain -----\n%s\n----- text/html -----\n%s\n", strings.TrimRight(out.Text, "\n"), strings.TrimRight(out.HTML, "\n"))
	return nil
}

// explainGreeting is the greeting without asking the portal (a dry run
// calls nobody): the CRM step is skipped, said in the output.
func explainGreeting(c *rules.Config, contacts *Contacts, d replyData) compose.TemplateData {
	data := compose.TemplateData{Email: d.To, Name: d.Name}
	for _, src := range c.Autoreply.Greeting {
		name := ""
		switch src {
		case rules.GreetContacts:
			name = contacts.nameNow(d.To)
		case rules.GreetDisplayName:
			if PersonName(d.Name) {
				name = strings.Join(strings.Fields(d.Name), " ")
			}
		case rules.GreetAddress:
			data.Greeting = d.To
			return data
		}
		if name != "" {
			data.Greeting, data.Name = name, name
			return data
		}
	}
	data.Greeting = d.To
	return data
}
