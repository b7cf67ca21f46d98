package pipeline

import (
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/mailparse"
	"supportgate/rules"
	"supportgate/store"
)

// Evaluation is everything decided about one message, before anything is
// written: process applies it, explain prints it.
type Evaluation struct {
	Msg       *mailparse.Message
	Sender    string // the requester: From address, else the envelope sender
	Journal   bool   // sent to the journal address: the team's own mail
	Thread    *store.Thread
	Match     string // how the thread was found, for logs and explain
	Duplicate bool   // this Message-ID already arrived: do nothing twice
	// TagRefused: the subject named a thread's [#task], but the sender
	// is not proven, so the message starts a new, unverified thread.
	TagRefused bool
	Auth       rules.AuthVerdict
	Decision   rules.Decision
}

// Evaluate matches the thread and runs the rules. tx is read-only here.
func Evaluate(tx *bolt.Tx, c *rules.Config, m *store.Message, pm *mailparse.Message, auth rules.AuthVerdict, now time.Time) (*Evaluation, error) {
	ev := &Evaluation{Msg: pm, Auth: auth}
	ev.Sender = rules.Canonical(pm.From.Addr)
	if ev.Sender == "" {
		ev.Sender = rules.Canonical(m.From)
	}
	for _, r := range m.Rcpts {
		if c.IsJournal(r) {
			ev.Journal = true
		}
	}
	if pm.MessageID != "" {
		e, err := store.LookupID(tx, pm.MessageID)
		if err != nil {
			return nil, err
		}
		ev.Duplicate = e != nil && (e.Kind == store.IDIncoming || e.Kind == store.IDJournal)
	}
	answers, err := matchThread(tx, c, ev)
	if err != nil {
		return nil, err
	}
	recent := 0
	if c.Autoreply.MaxPerSender > 0 && m.From != "" {
		recent, err = store.CountRecent(tx, senderKey(m.From), now.Add(-c.Autoreply.Window.D()), false)
		if err != nil {
			return nil, err
		}
	}
	clientRecent := 0
	if k := clientKey(c, m.ClientIP); c.Autoreply.MaxPerClient > 0 && k != "" {
		if clientRecent, err = store.CountRecent(tx, k, now.Add(-c.Autoreply.Window.D()), false); err != nil {
			return nil, err
		}
	}
	in := rules.Input{
		EnvelopeFrom:        m.From,
		EnvelopeRcpts:       m.Rcpts,
		Header:              pm.Header,
		FromAddr:            pm.From.Addr,
		To:                  addrs(pm.To),
		Cc:                  addrs(pm.Cc),
		Subject:             pm.Subject,
		ContentType:         pm.ContentType,
		ReportType:          pm.ReportType,
		ThreadKnown:         ev.Thread != nil,
		AnswersSpecialist:   answers,
		SenderRecentReplies: recent,
		ClientRecentReplies: clientRecent,
		Auth:                auth,
	}
	if len(pm.ReplyTo) > 0 {
		in.ReplyTo = pm.ReplyTo[0].Addr
	}
	ev.Decision = rules.Decide(in, mailboxPolicy(c, threadMailbox(c, m, ev.Thread)))
	if ev.Duplicate {
		// Nothing is done twice (process stops here); say so, rather
		// than report what a first arrival would have got.
		ev.Decision = rules.Decision{Reason: rules.ReasonDuplicate, Task: rules.TaskNone}
	}
	return ev, nil
}

// policyOf turns the config into the decision's policy.
func policyOf(c *rules.Config) rules.Policy {
	own := []string{}
	for _, mb := range c.Mailbox {
		own = append(own, mb.Address)
	}
	if c.Rules.JournalAddress != "" {
		own = append(own, c.Rules.JournalAddress)
	}
	if c.Autoreply.MailFrom != "" {
		own = append(own, c.Autoreply.MailFrom)
	}
	return rules.Policy{
		OwnAddresses:          own,
		ExcludeDomains:        c.Rules.ExcludeDomains,
		ExcludeAddresses:      c.Rules.ExcludeAddresses,
		TeamDomains:           c.Rules.TeamDomains,
		MaxPerSender:          c.Autoreply.MaxPerSender,
		MaxPerClient:          c.Autoreply.MaxPerClient,
		ReplyToForwardedRules: c.Rules.ReplyToForwarded,
		LoopID:                loopID(c),
		TrustSpamHeaders:      c.Rules.TrustSpamHeaders,
		AuthPolicy:            c.Auth.Autoreply,
	}
}

// matchThread finds the conversation a message continues (docs/autoreply-rules.md
// §3, docs/CONTRACT.md §5): first the Message-IDs it answers (In-Reply-To, then
// References newest first), then a [#task] tag in the subject. A
// Message-ID is proof enough (ours are random, and a customer's are known
// only to those they wrote to); a tag is guessable, so it counts only
// when the sender is a participant of that thread: a stranger's tag
// starts a new thread instead of writing into someone else's task. It
// also reports whether the message answers a specialist (our
// notification, a journaled message, or a Message-ID of one of the
// team's domains).
func matchThread(tx *bolt.Tx, c *rules.Config, ev *Evaluation) (answersSpecialist bool, err error) {
	pm := ev.Msg
	ids := append([]string(nil), pm.InReplyTo...)
	for i := len(pm.References) - 1; i >= 0; i-- {
		ids = append(ids, pm.References[i])
	}
	for _, id := range ids {
		e, err := store.LookupID(tx, id)
		if err != nil {
			return false, err
		}
		if e == nil {
			// Not ours, but written in one of the team's domains: a
			// specialist's own mail client.
			if inDomains(id, c.Rules.TeamDomains) {
				answersSpecialist = true
			}
			continue
		}
		t, err := store.GetThread(tx, e.Thread)
		if err != nil || t == nil {
			continue
		}
		ev.Thread = t
		ev.Match = "message-id <" + id + "> (" + e.Kind + ")"
		switch {
		case ev.Auth.Result == rules.AuthFail:
			ev.Match += ", sender not authenticated: comment carries a warning, no participant added"
		case ev.Auth.Identity == rules.IdentityUnverified:
			ev.Match += ", sender not proven: no participant added"
		case !t.IsParticipant(ev.Sender):
			ev.Match += ", a new participant"
		}
		if e.Kind == store.IDNotification || e.Kind == store.IDJournal {
			answersSpecialist = true
		}
		return answersSpecialist, nil
	}
	if id, ok := mailparse.TaskTag(pm.Subject); ok {
		t, err := store.ThreadByTask(tx, id)
		if err != nil {
			return false, err
		}
		switch {
		case t == nil:
		case ev.Auth.Identity == rules.IdentityUnverified:
			// A forged From of a real participant is exactly the
			// hijack: the tag counts only from a proven sender.
			ev.TagRefused = true
			ev.Match = "ignored subject tag [#" + itoa(id) + "]: sender not authenticated (" + ev.Auth.Reason + "): a new, unverified thread"
		case t.IsParticipant(ev.Sender):
			ev.Thread = t
			ev.Match = "subject tag [#" + itoa(id) + "]"
		default:
			ev.Match = "ignored subject tag [#" + itoa(id) + "]: sender is not in that thread"
		}
	}
	return answersSpecialist, nil
}

func addrs(list []mailparse.Address) []string {
	var out []string
	for _, a := range list {
		out = append(out, a.Addr)
	}
	return out
}

// inDomains reports whether an address or Message-ID's right-hand side is
// one of domains or below it.
func inDomains(s string, domains []string) bool {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return false
	}
	d := strings.ToLower(strings.Trim(s[at+1:], "<> "))
	for _, x := range domains {
		x = strings.ToLower(x)
		if d == x || strings.HasSuffix(d, "."+x) {
			return true
		}
	}
	return false
}

func senderKey(from string) string { return "ar:" + rules.Canonical(from) + ":" }
