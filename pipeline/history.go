package pipeline

import (
	"bufio"
	"bytes"

	bolt "go.etcd.io/bbolt"

	"supportgate/rules"
	"supportgate/store"
)

// The operator's history record (issue 12) of a processed message. It
// is written in the transaction that finishes the process job, which
// exists anyway: the SMTP accept path writes nothing more.

// Decisions as the console shows them.
const (
	DecisionReply     = "reply"
	DecisionNoReply   = "no-reply"
	DecisionDuplicate = "duplicate"
	DecisionJournal   = "journal"
	DecisionError     = "error"
)

// historyOf is the record of m decided as ev (ev nil: not processed).
func (p *Pipeline) historyOf(c *rules.Config, m *store.Message, ev *Evaluation) *store.History {
	h := &store.History{ID: m.ID, Received: m.Received, Envelope: m.From, To: m.Rcpts, ClientIP: m.ClientIP,
		From: m.From, Header: p.headerOf(m.ID)}
	if ev == nil {
		h.Decision = DecisionError
		return h
	}
	pm, d := ev.Msg, ev.Decision
	h.From, h.Subject, h.MessageID, h.Reason, h.Task = ev.Sender, pm.Subject, pm.MessageID, d.Reason, d.Task.String()
	switch {
	case ev.Duplicate:
		h.Decision, h.Reason = DecisionDuplicate, rules.ReasonDuplicate
	case ev.Journal:
		h.Decision = DecisionJournal
	case d.AutoReply && c.Autoreply.Enabled && m.From != "":
		h.Decision = DecisionReply
	default:
		h.Decision = DecisionNoReply
	}
	if ev.Thread != nil {
		h.Thread = ev.Thread.ID
	}
	return h
}

// recordHistory writes h in tx, after apply: the thread a new message
// started is known by then.
func recordHistory(tx *bolt.Tx, h *store.History) error {
	if h.Thread == "" && h.MessageID != "" {
		if e, err := store.LookupID(tx, h.MessageID); err == nil && e != nil {
			h.Thread = e.Thread
		}
	}
	return store.RecordHistory(tx, h)
}

// headerOf reads the header block of message id (capped), for its page
// after the body is gone.
func (p *Pipeline) headerOf(id string) string {
	f, err := p.Store.OpenBody(id)
	if err != nil {
		return ""
	}
	defer f.Close()
	var out bytes.Buffer
	r := bufio.NewReaderSize(f, 4096)
	for out.Len() < 16<<10 {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		out.Write(line)
		if err != nil {
			break
		}
	}
	return out.String()
}

// TaskURL is the task's page in the portal, as the auto-reply links it
// (the console links the same page).
func TaskURL(c *rules.Config, id int64) string { return taskURL(c, c.Bitrix.ResponsibleID, id) }
