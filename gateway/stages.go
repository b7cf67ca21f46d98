package gateway

import (
	"context"
	"net/http"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/pipeline"
	"supportgate/rules"
	"supportgate/store"
	"supportgate/tracker"
)

type storeTx = bolt.Tx

// setupStages builds the stages after the 250: Bitrix24 (tracker), then
// processing and auto-reply (pipeline), which queues the tracker's jobs.
func (g *Gateway) setupStages() error {
	tr, err := tracker.New(g.Cfg, g.Store, g.Runner, g.Log)
	if err != nil {
		return err
	}
	tr.Register()
	// Bitrix24 takes 2 requests a second, and a task job holds its whole
	// message (attachments included) in memory: two at a time is plenty.
	for _, k := range []string{tracker.KindTask, tracker.KindComment, tracker.KindNotify} {
		g.Runner.Limit(k, 2)
	}
	g.Tracker = tr
	p, err := pipeline.New(g.Cfg, g.Store, g.Runner, g.Log, tr)
	if err != nil {
		return err
	}
	p.Register()
	g.Pipeline = p
	return nil
}

// planMore adds the process job to an accepted message.
func (g *Gateway) planMore(c *rules.Config, m *store.Message) []*store.Job {
	return g.Pipeline.Plan(c, m)
}

// startMore starts the reconciler that finds specialist comments whose
// event was lost.
func (g *Gateway) startMore(ctx context.Context) {
	g.wg.Add(2)
	go func() { defer g.wg.Done(); g.Tracker.RunReconciler(ctx) }()
	go func() { defer g.wg.Done(); g.janitor(ctx) }()
}

// seenFor is how long dedup keys (mailed comments, handled events) are
// kept; the reconciler looks back far less.
const seenFor = 90 * 24 * time.Hour

// janitor prunes old dedup keys once an hour.
func (g *Gateway) janitor(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := g.Store.PruneSeen(time.Now().Add(-seenFor)); err != nil {
			g.Log.Warn("pruning dedup keys", "err", err)
		} else if n > 0 {
			g.Log.Info("pruned old dedup keys", "count", n)
		}
		g.pruneHistory()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// moreRoutes adds Bitrix24's event endpoint. (explain is on the console
// listener only: see console.go.)
func (g *Gateway) moreRoutes(mux *http.ServeMux) {
	mux.Handle("POST /bitrix/event", g.Tracker.EventHandler())
}

// reloadStages applies a new config to the stages; an error refuses the
// reload (the caller keeps the old config).
func (g *Gateway) reloadStages(c *rules.Config) error {
	if err := g.Pipeline.Reload(c); err != nil {
		return err
	}
	return g.Console.SetConfig(c)
}

// afterReload runs once the new config is in force.
func (g *Gateway) afterReload() {
	if err := g.Tracker.Reload(); err != nil {
		g.Log.Error("Bitrix24 client not rebuilt; the old one stays", "err", err)
	}
}
