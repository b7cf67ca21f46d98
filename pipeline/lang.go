package pipeline

import (
	"fmt"

	"supportgate/rules"
	"supportgate/store"
)

// lines are the words the pipeline writes into a task (the thread's
// warning, a warned comment), per mailbox language: a Russian task
// must not read "Внимание: sender not authenticated".
var lines = map[string]map[string]string{
	"ru": {
		"not_authenticated": "отправитель не прошёл проверку подлинности: ",
		"forged_comment":    "Внимание: отправитель не прошёл проверку подлинности (%s); письмо может быть подделано.",
		"tag_unproven":      "метку обращения в теме прислал отправитель, чья подлинность не подтверждена (%s)",
		"no_envelope":       "(нет: письма не отправляются)",
		"unverified":        "отправитель не подтверждён: адрес From %s не доказан (%s). Ответы по этой задаче уходят на адрес конверта %s, а не на адрес From.",
	},
	"en": {
		"not_authenticated": "sender not authenticated: ",
		"forged_comment":    "Warning: the sender failed authentication (%s); the message may be forged.",
		"tag_unproven":      "the subject tag came from a sender who is not proven (%s)",
		"no_envelope":       "(none: nothing will be mailed)",
		"unverified":        "unverified sender: From %s is not proven (%s). Answers to this task go to the envelope sender %s, not to the From address.",
	},
}

func say(lang, key string) string {
	if l, ok := lines[lang]; ok {
		return l[key]
	}
	return lines["ru"][key]
}

func fmtSay(lang, key string, a ...any) string { return fmt.Sprintf(say(lang, key), a...) }

// threadMailbox is the mailbox whose rules apply: the thread's (a
// follow-up stays with the mailbox its conversation started in), else
// the one the message was sent to.
func threadMailbox(c *rules.Config, m *store.Message, t *store.Thread) string {
	if t != nil && t.Mailbox != "" {
		return t.Mailbox
	}
	return mailboxOf(c, m)
}

// mailboxPolicy is policyOf with the mailbox's own exclusions added.
func mailboxPolicy(c *rules.Config, mailbox string) rules.Policy {
	p := policyOf(c)
	s := c.SettingsFor(mailbox)
	p.ExcludeDomains, p.ExcludeAddresses = s.ExcludeDomains, s.ExcludeAddresses
	return p
}
