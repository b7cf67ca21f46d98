package gateway

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	toml "github.com/pelletier/go-toml/v2"
	bolt "go.etcd.io/bbolt"

	"supportgate/bitrix"
	"supportgate/console"
	"supportgate/pipeline"
	"supportgate/rules"
	"supportgate/store"
)

// consolePages puts the operator's web pages (issue 12) on the console
// listener and feeds them: the banner's health from job outcomes, the
// queue's failures into each message's record.
func (g *Gateway) consolePages(c *console.Server) {
	g.Pages = c.AddPages(console.Backend{
		Store:      g.Store,
		Config:     g.Cfg.Get,
		Explain:    g.explainStored,
		Check:      g.checkConfig,
		ConfigText: g.configText,
		TaskURL:    func(id int64) string { return pipeline.TaskURL(g.Cfg.Get(), id) },
		Redact:     g.redact,
		Kick:       g.Runner.Kick,
	})
	prev := g.Runner.Observe
	g.Runner.Observe = func(kind, outcome string, j *store.Job, took time.Duration) {
		if prev != nil {
			prev(kind, outcome, j, took)
		}
		g.jobOutcome(kind, outcome, j)
	}
}

// jobOutcome tells the health tracker, and marks a job the queue gave up
// on as failed in its message's record (Finish recorded it as done).
func (g *Gateway) jobOutcome(kind, outcome string, j *store.Job) {
	errText := j.LastError
	if outcome == "retry" {
		// The queue recorded this attempt's error in the store, not in j.
		g.Store.View(func(tx *bolt.Tx) error {
			if cur, _ := store.GetJob(tx, j.ID); cur != nil {
				errText = cur.LastError
			}
			return nil
		})
	}
	g.Pages.Health.Observe(kind, outcome, errText)
	if outcome == "failed" {
		if err := g.Store.MarkFailed(j, errText); err != nil {
			g.Log.Warn("console: failed job not recorded", "job", j.ID, "err", err)
		}
	}
}

// NoteReload records a reload's outcome for the console's config page.
func (g *Gateway) NoteReload(err error) { g.Pages.NoteReload(err) }

// explainStored is explain on a stored message, with the running config
// and the live thread state (the message itself is in that state now, so
// a processed message explains as a duplicate of itself).
func (g *Gateway) explainStored(ctx context.Context, id string, w io.Writer) error {
	var m *store.Message
	if err := g.Store.View(func(tx *bolt.Tx) (err error) { m, err = store.GetMessage(tx, id); return }); err != nil {
		return err
	}
	c := g.Cfg.Get()
	if m == nil {
		// The body is gone; the rules read mostly the header, which
		// the record keeps.
		e, err := g.Store.GetEntry(id)
		if err != nil || e == nil || e.Header == "" {
			return errors.New("the original is no longer kept")
		}
		io.WriteString(w, "(the body is no longer kept: this is the explain of the recorded header alone)\n\n")
		in := pipeline.ExplainInput{Raw: []byte(e.Header + "\r\n"), MailFrom: e.Envelope, ClientIP: e.ClientIP}
		if len(e.To) > 0 {
			in.Rcpt = e.To[0]
		}
		return g.Store.View(func(tx *bolt.Tx) error { return pipeline.Explain(ctx, tx, c, in, w) })
	}
	raw, err := g.Store.ReadBody(id)
	if err != nil {
		return err
	}
	if int64(len(raw)) > c.SMTP.MaxMessageBytes {
		raw = raw[:c.SMTP.MaxMessageBytes]
	}
	in := pipeline.ExplainInput{Raw: raw, MailFrom: m.From, ClientIP: m.ClientIP, Helo: m.Helo}
	if len(m.Rcpts) > 0 {
		in.Rcpt = m.Rcpts[0]
	}
	return g.Store.View(func(tx *bolt.Tx) error { return pipeline.Explain(ctx, tx, c, in, w) })
}

// checkConfig validates the running config's file as `supportgate check`
// does (strict decode, every key's problems, templates, contacts,
// console users): one line per problem, none when it is valid.
func (g *Gateway) checkConfig() []string {
	c, err := rules.Load(g.Cfg.Get().Path)
	if err != nil {
		return strings.Split(strings.TrimSpace(err.Error()), "\n")
	}
	var out []string
	if _, err := pipeline.LoadTemplates(c); err != nil {
		out = append(out, err.Error())
	}
	if c.Console.UsersFile != "" {
		if _, err := console.LoadUsers(c.Console.UsersFile); err != nil {
			out = append(out, "console.users_file: "+err.Error())
		}
	}
	if err := pipeline.NewContacts(c.Contacts.File).Load(); err != nil {
		out = append(out, err.Error())
	}
	return out
}

// configText is the config in force as TOML, secrets redacted.
func (g *Gateway) configText() string {
	r := g.Cfg.Get().Redacted()
	b, err := toml.Marshal(r)
	if err != nil {
		return "cannot show the config: " + err.Error()
	}
	return g.redact(string(b))
}

// redact hides secrets in text shown on the console: the webhook's
// secret path, tokens in URLs, the application token.
func (g *Gateway) redact(s string) string {
	c := g.Cfg.Get()
	for _, secret := range []string{c.Bitrix.WebhookURL, c.Bitrix.ApplicationToken} {
		if len(secret) >= 8 {
			s = strings.ReplaceAll(s, secret, "REDACTED")
		}
	}
	if i := strings.Index(c.Bitrix.WebhookURL, "/rest/"); i >= 0 {
		if path := strings.Trim(c.Bitrix.WebhookURL[i+len("/rest/"):], "/"); len(path) >= 8 {
			s = strings.ReplaceAll(s, path, "REDACTED")
		}
	}
	f := strings.Fields(s)
	for _, w := range f {
		if strings.Contains(w, "://") {
			s = strings.ReplaceAll(s, w, bitrix.Redact(strings.Trim(w, `"'<>(),`)))
		}
	}
	return s
}

// pruneHistory drops the console's records older than [console]
// keep_days (the janitor, hourly).
func (g *Gateway) pruneHistory() {
	days := g.Cfg.Get().Console.KeepDays
	if days <= 0 {
		return
	}
	if n, err := g.Store.PruneHistory(time.Now().AddDate(0, 0, -days)); err != nil {
		g.Log.Warn("pruning the console's records", "err", err)
	} else if n > 0 {
		g.Log.Info("pruned old console records", "count", n)
	}
}
