package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/mailparse"
	"supportgate/metrics"
	"supportgate/queue"
	"supportgate/rules"
	"supportgate/senderauth"
	"supportgate/store"
)

// process is the job every accepted message gets after the 250.
func (p *Pipeline) process(ctx context.Context, j *store.Job) error {
	c := p.Cfg.Get()
	log := p.Log.With("queue_id", j.MsgID)
	var m *store.Message
	if err := p.Store.View(func(tx *bolt.Tx) (err error) { m, err = store.GetMessage(tx, j.MsgID); return }); err != nil {
		return err
	}
	if m == nil {
		return queue.Permanent(errors.New("message record gone"))
	}
	log = withChannel(log, m)
	pm, err := p.parse(m)
	if err != nil {
		return err
	}
	_, checker, _ := p.parts()
	auth := p.authenticate(ctx, checker, c, m, log)

	var ev *Evaluation
	err = p.Store.View(func(tx *bolt.Tx) (err error) {
		ev, err = Evaluate(tx, c, m, pm, auth, time.Now())
		return
	})
	if err != nil {
		return err
	}
	metrics.AutoReplies.WithLabelValues(ev.Decision.Reason).Inc()
	log.Info("decided", "sender", ev.Sender, "subject", pm.Subject, "thread", ev.Match,
		"task", ev.Decision.Task.String(), "autoreply", ev.Decision.AutoReply, "reason", ev.Decision.Reason,
		"duplicate", ev.Duplicate, "journal", ev.Journal, "auth", auth.Reason, "identity", auth.Identity.String())
	h := p.historyOf(c, m, ev)
	if ev.Duplicate {
		return queue.Then(func(tx *bolt.Tx) error { return recordHistory(tx, h) })
	}
	return queue.Then(func(tx *bolt.Tx) error {
		if err := p.apply(tx, c, m, ev); err != nil {
			return err
		}
		return recordHistory(tx, h)
	})
}

// decideBytes is how much of a message the decision reads: the header and
// the text are at the start, and reading a 25 MB attachment into memory
// to decide on an auto-reply would make memory grow with message size
// times workers.
const decideBytes = 2 << 20

// parse reads the message for the decision. Broken MIME still gives a
// best-effort message; only an unreadable body is an error (retried).
func (p *Pipeline) parse(m *store.Message) (*mailparse.Message, error) {
	f, err := p.Store.OpenBody(m.ID)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pm, err := mailparse.Parse(f, mailparse.Limits{MaxTotalBytes: decideBytes})
	if pm == nil {
		if err == nil {
			err = errors.New("parse: no message")
		}
		return nil, queue.Permanent(err)
	}
	return pm, nil
}

// authenticate runs SPF/DKIM/DMARC when the policy needs it.
func (p *Pipeline) authenticate(ctx context.Context, checker *senderauth.Checker, c *rules.Config, m *store.Message, log interface{ Info(string, ...any) }) rules.AuthVerdict {
	if m.Channel == ChannelWeb {
		return webAuth()
	}
	if checker == nil || c.Auth.Autoreply == "off" {
		return rules.AuthVerdict{Result: rules.AuthUnknown, Reason: "auth off"}
	}
	res := checker.Check(ctx, senderauth.Input{
		IP: net.ParseIP(m.ClientIP), Helo: m.Helo, MailFrom: m.From,
		Message: func() (io.Reader, error) { return p.Store.OpenBody(m.ID) },
	})
	v := verdictOf(res, c.Auth.Autoreply)
	field := res.Header(c.SMTP.Hostname)
	if field == "" {
		field = "-"
	}
	if err := p.Store.SetAuth(m.ID, field, string(res.SPF), string(res.DMARC)); err != nil {
		log.Info("auth results not saved; the forward goes without", "err", err)
	}
	return v
}

// apply records the outcome and queues the follow-ups, in the
// transaction that finishes the process job.
func (p *Pipeline) apply(tx *bolt.Tx, c *rules.Config, m *store.Message, ev *Evaluation) error {
	pm, d := ev.Msg, ev.Decision
	t, err := fresh(tx, ev.Thread)
	if err != nil {
		return err
	}
	// The decision was made outside this transaction; two process jobs
	// run side by side, so what depends on other messages is checked
	// again here, where writes are serialised.
	if pm.MessageID != "" {
		if e, err := store.LookupID(tx, pm.MessageID); err != nil {
			return err
		} else if e != nil && (e.Kind == store.IDIncoming || e.Kind == store.IDJournal) {
			return nil // the same message processed meanwhile
		}
	}
	if ev.Journal {
		return p.recordJournal(tx, c, m, ev)
	}
	if t == nil && d.Task == rules.TaskNone {
		return nil // a robot outside any thread: forwarded, nothing else
	}
	var jobs []*store.Job
	// Identity before trust: only a sender whose From is proven (or
	// unchecked, when the admin turned the checks off) adds people to a
	// thread; their To/Cc become participants, who may use its [#tag].
	trusted := ev.Auth.Identity != rules.IdentityUnverified && ev.Auth.Result != rules.AuthFail
	if t == nil {
		t = &store.Thread{Mailbox: mailboxOf(c, m), Requester: ev.Sender, RequesterName: pm.From.Name, Subject: pm.Subject}
		if ev.Auth.Result == rules.AuthFail || ev.TagRefused {
			// Whoever wrote may not be who From says: the specialist's
			// answer goes to the envelope sender (the one who wrote
			// and would get a bounce), never to the From address.
			t.Unverified, t.AnswerAddr = true, rules.Canonical(m.From)
			t.Warning = unverifiedWarning(ev, m.From, c.SettingsFor(t.Mailbox).Language)
		}
	}
	if trusted {
		t.AddParticipant(ev.Sender)
		for _, a := range append(append([]mailparse.Address(nil), pm.To...), pm.Cc...) {
			if a.Addr != "" && c.FindMailbox(a.Addr) == nil && !c.IsJournal(a.Addr) {
				t.AddParticipant(rules.Canonical(a.Addr))
			}
		}
	}
	lang := c.SettingsFor(t.Mailbox).Language
	if ev.Auth.Result == rules.AuthFail && t.Warning == "" {
		t.Warning = say(lang, "not_authenticated") + ev.Auth.Reason
	}
	isNew := t.ID == ""
	if err := store.PutThread(tx, t); err != nil { // gives a new thread its id
		return err
	}
	if isNew {
		t.Created = p.now() // the task's DEADLINE counts from here (an injected clock in tests)
	}
	if err := store.AddID(tx, t, pm.MessageID, store.IDIncoming); err != nil {
		return err
	}
	markChannel(t, m)
	if err := store.PutThread(tx, t); err != nil {
		return err
	}
	if p.tasksEnabled() {
		switch d.Task {
		case rules.TaskCreate:
			jobs = append(jobs, p.Tasks.TaskJob(t.ID))
		case rules.TaskComment:
			warn := ""
			if ev.Auth.Result == rules.AuthFail {
				// It joined by a Message-ID, but the sender is not
				// proven: the specialist must see that first.
				warn = fmtSay(lang, "forged_comment", ev.Auth.Reason)
			}
			if warn != "" {
				jobs = append(jobs, p.Tasks.WarnedCommentJob(t.ID, warn))
			} else {
				jobs = append(jobs, p.Tasks.CommentJob(t.ID))
			}
		}
	}
	if d.AutoReply && c.SettingsFor(t.Mailbox).AutoreplyEnabled && m.From != "" {
		reason, err := replyCaps(tx, c, m, time.Now())
		if err != nil {
			return err
		}
		if reason == "" {
			jobs = append(jobs, autoReplyJob(t.ID, m, pm))
		} else {
			// Counted by a message processed meanwhile (the decision
			// saw the counters before it).
			p.Log.Info("no auto-reply", "queue_id", m.ID, "reason", reason, "client", m.ClientIP)
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	return store.AddJobs(tx, m.ID, jobs...)
}

// replyCaps applies the reply counters, in the writing transaction (two
// process jobs run side by side): per envelope sender, and per client
// IP, since 300 forged senders on one connection are one client. ""
// means the reply goes, and it is counted against both.
func replyCaps(tx *bolt.Tx, c *rules.Config, m *store.Message, now time.Time) (string, error) {
	since := now.Add(-c.Autoreply.Window.D())
	caps := []struct {
		max    int
		key    string
		reason string
	}{
		{c.Autoreply.MaxPerSender, senderKey(m.From), rules.ReasonRateLimit},
		{c.Autoreply.MaxPerClient, clientKey(c, m.ClientIP), rules.ReasonClientRateLimit},
	}
	for _, k := range caps {
		if k.max <= 0 || k.key == "" {
			continue
		}
		n, err := store.CountRecent(tx, k.key, since, false)
		if err != nil {
			return "", err
		}
		if n >= k.max {
			return k.reason, nil
		}
	}
	for _, k := range caps {
		if k.max > 0 && k.key != "" {
			if _, err := store.CountRecent(tx, k.key, since, true); err != nil {
				return "", err
			}
		}
	}
	return "", nil
}

// clientKey is the per-client reply counter's prefix ("" without an IP,
// or for a client exempt from per-IP limits: a relay of ours).
func clientKey(c *rules.Config, ip string) string {
	if ip == "" || !c.PerIPLimitsApply(ip) {
		return ""
	}
	return "arc:" + ip + ":"
}

// unverifiedWarning is the line a task of an unverified thread carries,
// in the mailbox's language.
func unverifiedWarning(ev *Evaluation, envelope, lang string) string {
	why := ev.Auth.Reason
	if ev.TagRefused {
		why = fmtSay(lang, "tag_unproven", why)
	}
	to := envelope
	if to == "" {
		to = say(lang, "no_envelope")
	}
	return fmtSay(lang, "unverified", ev.Sender, why, to)
}

// recordJournal files the team's own outgoing mail: its Message-ID joins
// the thread it answers, or starts one with the customer as requester, so
// that the customer's reply is known to answer a specialist.
func (p *Pipeline) recordJournal(tx *bolt.Tx, c *rules.Config, m *store.Message, ev *Evaluation) error {
	pm := ev.Msg
	t, err := fresh(tx, ev.Thread)
	if err != nil {
		return err
	}
	if t == nil {
		var to string
		for _, a := range append(append([]mailparse.Address(nil), pm.To...), pm.Cc...) {
			if c.FindMailbox(a.Addr) == nil && !c.IsJournal(a.Addr) && !inDomains(a.Addr, c.Rules.TeamDomains) {
				to = rules.Canonical(a.Addr)
				break
			}
		}
		if to == "" {
			return nil // internal mail: nothing to thread
		}
		t = &store.Thread{Mailbox: c.Mailbox[0].Address, Requester: to, Subject: pm.Subject}
		t.AddParticipant(to)
		if err := store.PutThread(tx, t); err != nil {
			return err
		}
	}
	if err := store.AddID(tx, t, pm.MessageID, store.IDJournal); err != nil {
		return err
	}
	return store.PutThread(tx, t)
}

// processFailed: a message we could not process is still forwarded (that
// is its own job); the operator sees the error in the log.
func (p *Pipeline) processFailed(ctx context.Context, j *store.Job, err error) func(tx *bolt.Tx) error {
	p.Log.Error("message not processed: no reply, no task", "queue_id", j.MsgID, "err", err)
	return func(tx *bolt.Tx) error {
		m, gerr := store.GetMessage(tx, j.MsgID)
		if gerr != nil || m == nil {
			return gerr
		}
		h := p.historyOf(p.Cfg.Get(), m, nil)
		h.Reason = err.Error()
		return store.RecordHistory(tx, h)
	}
}

func mailboxOf(c *rules.Config, m *store.Message) string {
	for _, r := range m.Rcpts {
		if mb := c.FindMailbox(r); mb != nil {
			return mb.Address
		}
	}
	return c.Mailbox[0].Address
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// fresh re-reads a thread inside the writing transaction: the copy read
// for the decision may be stale by now (the tracker sets the task id in
// between), and writing it back would undo that.
func fresh(tx *bolt.Tx, t *store.Thread) (*store.Thread, error) {
	if t == nil {
		return nil, nil
	}
	cur, err := store.GetThread(tx, t.ID)
	if err != nil || cur == nil {
		return t, err
	}
	return cur, nil
}

// verdictOf turns the checks into the decision's input under policy.
func verdictOf(res senderauth.Result, policy string) rules.AuthVerdict {
	allow, reason := senderauth.Verdict(res, policy)
	v := rules.AuthVerdict{Result: rules.AuthPass, Reason: fmt.Sprintf("spf=%s dkim=%s dmarc=%s", res.SPF, res.DKIM, res.DMARC),
		Identity: rules.IdentityUnverified}
	if res.Identified() {
		v.Identity = rules.IdentityVerified
	}
	switch {
	case allow && reason == senderauth.ReasonTempError:
		// Not checked (DNS trouble on our side): not a fail, so
		// not-fail lets the reply go; the reason says so.
		v.Result = rules.AuthUnknown
		v.Reason = reason + ", replied under not-fail (" + v.Reason + ")"
	case !allow:
		v.Result = rules.AuthFail
		if reason == senderauth.ReasonTempError {
			v.Result = rules.AuthTempError
		}
		v.Reason = reason + " (" + v.Reason + ")"
	}
	return v
}
