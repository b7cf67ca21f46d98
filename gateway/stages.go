package gateway

import (
	"context"
	"net/http"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/pipeline"
	"supportgate/queue"
	"supportgate/relay"
	"supportgate/rules"
	"supportgate/store"
	"supportgate/tracker"
)

type storeTx = bolt.Tx

// ReplyLane is the queue lane of the auto-replies; replyWorkers many may
// wait for their task number at once (a goroutine each, no store polls).
const (
	ReplyLane = "reply"
	// filesAtOnce is how many files jobs (tracker.KindFiles) run at once.
	filesAtOnce  = 4
	replyWorkers = 256
	ForwardLane  = "forward"
)

// setupStages builds the stages after the 250: Bitrix24 (tracker), then
// processing and auto-reply (pipeline), which queues the tracker's jobs.
func (g *Gateway) setupStages() error {
	tr, err := tracker.New(g.Cfg, g.Store, g.Runner, g.Log)
	if err != nil {
		return err
	}
	tr.Register()
	// The portal's jobs get a lane of their own: they wait for Bitrix24's
	// request budget, and must never hold the workers that forward mail
	// and send replies. Many run at once so that their calls share one
	// `batch` request; a specialist's comment to mail (notify) and a
	// customer's follow-up go ahead of a backlog of new tasks.
	g.Runner.Lane(tracker.Lane, g.Cfg.Get().Queue.PortalWorkers, tracker.KindNotify, tracker.KindComment, tracker.KindTask, tracker.KindFiles)
	g.Runner.WarnLag(tracker.Lane, time.Minute)
	// Uploads go one request each at the budget's pace, after everything
	// else: a few files jobs at a time keep the budget busy, and the other
	// workers stay free for the tasks, comments and answers that batch.
	g.Runner.Limit(tracker.KindFiles, filesAtOnce)
	// Auto-replies may wait (in memory, bounded by wait_for_task) for the
	// task number; they wait in a lane of their own so forwarding never
	// waits behind them.
	g.Runner.Lane(ReplyLane, replyWorkers, pipeline.KindAutoReply)
	// Forwarding to the team's mailbox is what must never wait: it gets
	// workers of its own. The main lane (processing, sending our mail,
	// DSNs) finishes what is under way before it starts new messages.
	w := g.Cfg.Get().Queue.Workers
	g.Runner.Lane(ForwardLane, w, relay.KindForward)
	g.Runner.Lane(queue.MainLane, w, relay.KindSend, pipeline.KindProcess)
	g.Tracker = tr
	p, err := pipeline.New(g.Cfg, g.Store, g.Runner, g.Log, tr)
	if err != nil {
		return err
	}
	p.Register()
	g.Pipeline = p
	return g.setupWebform()
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
		if _, err := g.Store.PruneNames(time.Now()); err != nil {
			g.Log.Warn("pruning learned CRM names", "err", err)
		}
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
	g.webformRoutes(mux)
	mux.Handle("POST /bitrix/event", g.Tracker.EventHandler())
}

// reloadStages applies a new config to the stages; an error refuses the
// reload (the caller keeps the old config).
func (g *Gateway) reloadStages(c *rules.Config) error {
	if err := g.reloadWebform(c); err != nil {
		return err
	}
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
