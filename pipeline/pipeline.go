// Package pipeline is what happens to an accepted message after the 250,
// read top to bottom:
//
//	process   parse → authenticate the sender → find the thread → decide
//	          (rules.Decide) → record the thread and queue the follow-ups,
//	          all in one transaction
//	autoreply compose the HTML acknowledgement (waiting briefly for the task
//	          number) and queue it for the smarthost
//
// Forwarding runs beside it (relay), the Bitrix24 task and comments after
// it (tracker).
package pipeline

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"supportgate/compose"
	"supportgate/letters"
	"supportgate/queue"
	"supportgate/rules"
	"supportgate/senderauth"
	"supportgate/store"
)

// Job kinds run here.
const (
	KindProcess   = "process"
	KindAutoReply = "autoreply"
)

// Tasks is the Bitrix24 side as the pipeline needs it (tracker implements
// it); nil or disabled when no portal is configured.
type Tasks interface {
	Enabled() bool
	TaskJob(threadID string) *store.Job
	CommentJob(threadID string) *store.Job
	// WarnedCommentJob is a comment whose text starts with warning.
	WarnedCommentJob(threadID, warning string) *store.Job
	ContactName(ctx context.Context, email string) string
	// WaitTask is the thread's task id, waiting up to d for it only when
	// it can come in that time (0: none yet).
	WaitTask(ctx context.Context, threadID string, d time.Duration) int64
}

// Pipeline holds what the stages share.
type Pipeline struct {
	Cfg    *rules.Holder
	Store  *store.Store
	Runner *queue.Runner
	Log    *slog.Logger
	Tasks  Tasks
	// Clock is "now" for the working-hours facts of a reply; nil is
	// time.Now (tests render at a given moment).
	Clock func() time.Time

	mu        sync.RWMutex
	templates *compose.Templates
	auth      *senderauth.Checker
	contacts  *Contacts
}

// New builds the pipeline for the config in force, failing (naming the key)
// when the templates or contacts do not load.
func New(cfg *rules.Holder, st *store.Store, r *queue.Runner, log *slog.Logger, tasks Tasks) (*Pipeline, error) {
	p := &Pipeline{Cfg: cfg, Store: st, Runner: r, Log: log, Tasks: tasks}
	if a, ok := tasks.(acker); ok && tasks != nil {
		a.SetAck(p.ackNewTask)
	}
	if err := p.Reload(cfg.Get()); err != nil {
		return nil, err
	}
	return p, nil
}

// Reload parses the templates and rebuilds the checker for c. On error the
// old ones stay (the caller refuses the whole reload).
func (p *Pipeline) Reload(c *rules.Config) error {
	t, err := LoadTemplates(c)
	if err != nil {
		return err
	}
	contacts := NewContacts(c.Contacts.File)
	if err := contacts.Load(); err != nil {
		return err
	}
	var auth *senderauth.Checker
	if c.Auth.Autoreply != "off" {
		auth = senderauth.New(senderauth.Options{Resolver: c.Auth.Resolver, Timeout: c.Auth.Timeout.D(), AuthservID: c.SMTP.Hostname})
	}
	p.mu.Lock()
	p.templates, p.auth, p.contacts = t, auth, contacts
	p.mu.Unlock()
	return nil
}

// LoadTemplates loads every mailbox's letters (templates, signature;
// the built-in ones where none is set) and returns the first mailbox's
// acknowledgement. An error names the key at fault, the mailbox's own
// ("mailbox[1].autoreply.template") when it is its file.
func LoadTemplates(c *rules.Config) (*compose.Templates, error) {
	set, err := letters.Of(c)
	if err != nil {
		return nil, err
	}
	return set.For("").Ack, nil
}

func (p *Pipeline) parts() (*compose.Templates, *senderauth.Checker, *Contacts) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.templates, p.auth, p.contacts
}

// Register installs the job handlers.
func (p *Pipeline) Register() {
	p.Runner.Handle(KindProcess, p.process, p.processFailed)
	p.Runner.Handle(KindAutoReply, p.autoreply, nil)
}

// Plan is the process job every accepted message gets.
func (p *Pipeline) Plan(c *rules.Config, m *store.Message) []*store.Job {
	return []*store.Job{{Kind: KindProcess}}
}

func (p *Pipeline) tasksEnabled() bool { return p.Tasks != nil && p.Tasks.Enabled() }

// loopID is our X-Loop value: replies carry it, and mail that comes back
// with it is our own.
func loopID(c *rules.Config) string { return "supportgate@" + c.SMTP.Hostname }

func (p *Pipeline) now() time.Time {
	if p.Clock != nil {
		return p.Clock()
	}
	return time.Now()
}
