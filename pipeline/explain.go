package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/mailparse"
	"supportgate/relay"
	"supportgate/rules"
	"supportgate/senderauth"
	"supportgate/store"
)

// ExplainInput is one message for a dry run.
type ExplainInput struct {
	Raw      []byte
	MailFrom string // "" → Return-Path, else From
	Rcpt     string // "" → the first mailbox
	ClientIP string // for SPF; "" skips sender authentication
	Helo     string
	Render   bool // also compose the reply that would be sent
	// At is the moment evaluated (zero: now): working hours, the
	// promise, the deadline.
	At time.Time
	// HTML, when set, gets the rendered reply's HTML part (-html FILE).
	HTML io.Writer
}

// Explain runs the rules on one message inside tx without writing
// anything, and writes a report for a person.
func Explain(ctx context.Context, tx *bolt.Tx, c *rules.Config, in ExplainInput, w io.Writer) error {
	pm, err := mailparse.Parse(bytes.NewReader(in.Raw), mailparse.Limits{})
	if pm == nil {
		return fmt.Errorf("cannot parse the message: %v", err)
	}
	m := &store.Message{ID: "explain", From: in.MailFrom, Rcpts: []string{in.Rcpt}, ClientIP: in.ClientIP, Helo: in.Helo}
	if m.From == "" {
		if rp := mailparse.MessageIDs(pm.Header.Get("Return-Path")); pm.Header.Has("Return-Path") {
			m.From = strings.Trim(strings.TrimSpace(pm.Header.Get("Return-Path")), "<>")
			_ = rp
		} else {
			m.From = pm.From.Addr
		}
	}
	if in.Rcpt == "" {
		m.Rcpts = []string{c.Mailbox[0].Address}
	}
	auth := rules.AuthVerdict{Result: rules.AuthUnknown, Reason: "not checked (give -ip to check SPF/DKIM/DMARC)"}
	if c.Auth.Autoreply == "off" {
		auth.Reason = "auth.autoreply = off"
	} else if ip := net.ParseIP(in.ClientIP); ip != nil {
		checked, helo := explainOrigin(c, in, w)
		ch := senderauth.New(senderauth.Options{Resolver: c.Auth.Resolver, Timeout: c.Auth.Timeout.D(), AuthservID: c.SMTP.Hostname})
		res := ch.Check(ctx, senderauth.Input{IP: net.ParseIP(checked), Helo: helo, MailFrom: m.From, Message: senderauth.Bytes(in.Raw)})
		auth = verdictOf(res, c.Auth.Autoreply)
		auth.Reason += " for " + checked
	}
	channel := explainChannel(pm, m)
	if m.Channel == ChannelWeb {
		auth = webAuth()
	}
	now := in.At
	if now.IsZero() {
		now = time.Now()
	}
	ev, err := Evaluate(tx, c, m, pm, auth, now)
	if err != nil {
		return err
	}
	d := ev.Decision
	fmt.Fprintf(w, "channel:     %s\n", channel)
	fmt.Fprintf(w, "envelope:    MAIL FROM:<%s> RCPT TO:<%s>\n", m.From, m.Rcpts[0])
	fmt.Fprintf(w, "from:        %s\nsubject:     %s\nmessage-id:  %s\n", pm.From.Addr, pm.Subject, pm.MessageID)
	if pm.Broken {
		fmt.Fprintf(w, "mime:        broken (best effort): %s\n", strings.Join(pm.Warnings, "; "))
	}
	switch {
	case ev.Journal:
		fmt.Fprintln(w, "journal:     yes: recorded as the team's own mail, not forwarded, not answered")
	case c.FindMailbox(m.Rcpts[0]) == nil:
		fmt.Fprintf(w, "recipient:   %s is not a [[mailbox]]: the SMTP session would refuse it (550 5.1.1)\n", m.Rcpts[0])
	}
	match := ev.Match
	if ev.Thread == nil && match == "" {
		match = "none: a new thread"
	} else if ev.Thread != nil {
		match = fmt.Sprintf("%s → thread %s (task %d, requester %s)", ev.Match, ev.Thread.ID, ev.Thread.TaskID, ev.Thread.Requester)
	}
	fmt.Fprintf(w, "thread:      %s\n", match)
	if ev.Duplicate {
		fmt.Fprintln(w, "duplicate:   this Message-ID already arrived: nothing would be done again")
	}
	fmt.Fprintf(w, "auth:        %s\n", auth.Reason)
	fmt.Fprintf(w, "identity:    %s\n", identityLine(auth))
	task := d.Task.String()
	if d.Task != rules.TaskNone && c.Bitrix.WebhookURL == "" && c.Bitrix.WebhookURLFile == "" {
		task += " (but [bitrix] webhook_url is not set)"
	}
	fmt.Fprintf(w, "task:        %s\n", task)
	explainFollowUp(c, pm, d, w)
	reply := "no (" + d.Reason + ")"
	if d.AutoReply {
		reply = "yes"
		if !c.SettingsFor(threadMailbox(c, m, ev.Thread)).AutoreplyEnabled {
			reply = "no ([autoreply] enabled = false)"
		}
	}
	fmt.Fprintf(w, "auto-reply:  %s\nreason:      %s: %s\n", reply, d.Reason, reasonMeaning(d.Reason))
	lb, err := explainMailbox(c, threadMailbox(c, m, ev.Thread), now, w)
	if err != nil {
		return err
	}
	if (in.Render || in.HTML != nil) && d.AutoReply {
		return explainRender(c, lb, m, pm, now, in, w)
	}
	return nil
}

// identityLine says what the From's proof means for threading.
func identityLine(a rules.AuthVerdict) string {
	switch a.Identity {
	case rules.IdentityVerified:
		return "verified (DMARC pass, or SPF/DKIM aligned with From): a [#task] tag of a thread it is in joins it"
	case rules.IdentityUnverified:
		return "unverified: a [#task] tag starts a new, unverified thread; no To/Cc becomes a participant"
	}
	return "not checked: a [#task] tag joins a thread the sender is in (give -ip to check)"
}

func reasonMeaning(code string) string {
	for _, r := range rules.Reasons {
		if r.Code == code {
			return r.Meaning
		}
	}
	return ""
}

// nameNow reads the contacts file once (explain runs once).
func (c *Contacts) nameNow(email string) string {
	if c.Load() != nil {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.names[rules.Canonical(email)]
}

// explainOrigin is the address SPF checks for a message from in.ClientIP:
// behind a trusted relay, the original client from the Received: lines
// (as the SMTP session finds it), said in the report.
func explainOrigin(c *rules.Config, in ExplainInput, w io.Writer) (ip, helo string) {
	if !relay.Trusted(c, in.ClientIP) {
		return in.ClientIP, in.Helo
	}
	o := relay.OriginOfMessage(c, in.ClientIP, in.Helo, in.Raw)
	if o.Fallback != "" {
		fmt.Fprintf(w, "client:      %s is a trusted relay, but %s: the relay's address is checked\n", in.ClientIP, o.Fallback)
	} else {
		fmt.Fprintf(w, "client:      %s (HELO %s), from the Received: line of trusted relay %s (%d hop(s))\n", o.IP, o.Helo, in.ClientIP, o.Hops)
	}
	return o.IP, o.Helo
}
