package pipeline

import (
	"context"
	"strings"
	"time"
	"unicode"

	"supportgate/compose"
	"supportgate/rules"
)

// greeting finds the name the acknowledgement greets, in the order of
// [autoreply] greeting: the contacts file, the CRM (learned names first,
// then the portal with a deadline no later than the task number's), the
// From display name when it looks like a person's, then the address.
// The seed's order is greeting = ["contacts", "crm", "address"].
func (p *Pipeline) greeting(ctx context.Context, c *rules.Config, contacts *Contacts, d replyData, arrived time.Time) compose.TemplateData {
	data := compose.TemplateData{Email: d.To, Name: d.Name}
	name := ""
	for _, src := range c.Autoreply.Greeting {
		switch src {
		case rules.GreetContacts:
			name = contacts.Name(d.To)
		case rules.GreetCRM:
			if !p.tasksEnabled() {
				continue
			}
			// The CRM lookup gets no longer than the task number does.
			lctx := ctx
			if w := c.Autoreply.WaitForTask.D(); w > 0 {
				var cancel context.CancelFunc
				lctx, cancel = context.WithDeadline(ctx, arrived.Add(w))
				defer cancel()
			}
			name = p.Tasks.ContactName(lctx, d.To)
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
	data.Greeting = d.To // no source named the address: still greet someone
	return data
}

// roleWords are From names that are a function, not a person: a
// greeting "Здравствуйте, Support!" reads as a form letter gone wrong.
var roleWords = map[string]bool{
	"info": true, "support": true, "noreply": true, "no-reply": true, "admin": true, "administrator": true,
	"sales": true, "office": true, "billing": true, "accounts": true, "accounting": true, "team": true,
	"help": true, "helpdesk": true, "service": true, "mail": true, "contact": true, "hr": true, "it": true,
	"webmaster": true, "postmaster": true, "marketing": true, "reception": true, "manager": true, "robot": true,
	"бухгалтерия": true, "поддержка": true, "офис": true, "отдел": true, "продажи": true, "приемная": true,
	"приёмная": true, "администратор": true, "канцелярия": true, "секретарь": true, "служба": true,
	"менеджер": true, "info-center": true, "клиент": true, "заказы": true, "снабжение": true,
}

// PersonName reports whether a From display name looks like a person's
// name: 1 to 4 words of letters (hyphens and apostrophes inside a word
// allowed), no address, no digits, no role word such as "info",
// "support" or "бухгалтерия".
func PersonName(s string) bool {
	words := strings.Fields(s)
	if len(words) == 0 || len(words) > 4 {
		return false
	}
	for _, w := range words {
		if roleWords[strings.ToLower(w)] {
			return false
		}
		letters := 0
		for i, r := range w {
			switch {
			case unicode.IsLetter(r):
				letters++
			case (r == '-' || r == '\'' || r == '’') && i > 0 && i < len(w)-1:
			case r == '.' && i == len(w)-1 && letters > 0: // an initial: "А."
			default:
				return false
			}
		}
		if letters == 0 {
			return false
		}
	}
	return true
}
