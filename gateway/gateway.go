// Package gateway wires supportgate together: store, queue, SMTP listener,
// HTTP listener and the job handlers of every stage. cmd/supportgate runs
// it; end-to-end tests start it in-process on random ports.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"supportgate/console"
	"supportgate/metrics"
	"supportgate/pipeline"
	"supportgate/queue"
	"supportgate/relay"
	"supportgate/rules"
	"supportgate/store"
	"supportgate/tracker"
	"supportgate/webform"
)

// Gateway is one running supportgate.
type Gateway struct {
	Cfg      *rules.Holder
	Log      *slog.Logger
	Store    *store.Store
	Webform  *webform.Handler
	Runner   *queue.Runner
	SMTP     *relay.Server
	Deliv    *relay.Deliverer
	Pipeline *pipeline.Pipeline
	Tracker  *tracker.Tracker
	// Console is the operator's listener (explain, db check/backup).
	Console *console.Server
	// Pages are the operator's web pages on it (issue 12).
	Pages *console.Pages

	httpSrv  *http.Server
	httpLn   net.Listener
	smtpAddr net.Addr

	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error
	ready  bool
	mu     sync.Mutex
}

// New opens the store and builds every part, listening on nothing yet.
func New(cfg *rules.Config, log *slog.Logger) (*Gateway, error) {
	st, err := store.Open(cfg.Storage.Dir)
	if err != nil {
		return nil, fmt.Errorf("storage.dir: %w", err)
	}
	if n, err := st.SweepSpool(); err != nil {
		st.Close()
		return nil, err
	} else if n > 0 {
		log.Info("removed spool files of messages never accepted", "count", n)
	}
	g := &Gateway{Cfg: rules.NewHolder(cfg), Log: log, Store: st, errs: make(chan error, 4)}
	g.Runner = queue.New(st, log, cfg.Queue.Workers, policyOf(cfg))
	g.Runner.Observe = observe
	g.Deliv = &relay.Deliverer{Cfg: g.Cfg, Store: st, Runner: g.Runner, Log: log, DSN: makeDSN}
	g.Deliv.Register()
	if err := g.setupStages(); err != nil {
		st.Close()
		return nil, err
	}
	g.SMTP, err = relay.NewServer(g.Cfg, st, log, g.plan)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("smtp.tls_cert: %w", err)
	}
	if g.Console, err = console.New(cfg, log); err != nil {
		st.Close()
		return nil, err
	}
	g.consoleRoutes(g.Console)
	metrics.WatchQueueOnce(st)
	metrics.WatchLanesOnce(g.Runner)
	return g, nil
}

func policyOf(c *rules.Config) queue.Policy {
	return queue.Policy{Initial: c.Queue.RetryInitial.D(), Max: c.Queue.RetryMax.D(), GiveUp: c.Queue.GiveUpAfter.D()}
}

func observe(kind, outcome string, j *store.Job, took time.Duration) {
	metrics.JobRuns.WithLabelValues(kind, outcome).Inc()
	if outcome == "done" {
		metrics.DeliveryLatency.WithLabelValues(kind).Observe(time.Since(j.Created).Seconds())
	}
}

// plan decides the first jobs of an accepted message: one forward to the
// upstream for all the mailboxes' targets. The journal copy is not
// forwarded (it is the team's own outgoing mail).
func (g *Gateway) plan(c *rules.Config, m *store.Message) []*store.Job {
	var fwd []string
	seen := map[string]bool{}
	for _, r := range m.Rcpts {
		mb := c.FindMailbox(r)
		if mb == nil {
			continue
		}
		for _, t := range mb.Forwards() {
			if k := rules.Canonical(t); !seen[k] {
				seen[k] = true
				fwd = append(fwd, t)
			}
		}
	}
	var jobs []*store.Job
	if len(fwd) > 0 {
		jobs = append(jobs, relay.ForwardJob(fwd))
	}
	jobs = append(jobs, g.planMore(c, m)...)
	return jobs
}

// Start listens on both ports and runs the queue.
func (g *Gateway) Start() error {
	c := g.Cfg.Get()
	addr, err := g.SMTP.Listen()
	if err != nil {
		return fmt.Errorf("smtp.listen: %w", err)
	}
	g.smtpAddr = addr
	g.httpLn, err = net.Listen("tcp", c.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	if err := g.Console.Start(c.Console.Listen); err != nil {
		return fmt.Errorf("console.listen: %w", err)
	}
	g.httpSrv = &http.Server{Handler: g.routes(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	g.wg.Add(3)
	go func() { defer g.wg.Done(); g.report(g.Runner.Run(ctx)) }()
	go func() { defer g.wg.Done(); g.report(g.SMTP.Serve()) }()
	go func() {
		defer g.wg.Done()
		if err := g.httpSrv.Serve(g.httpLn); !errors.Is(err, http.ErrServerClosed) {
			g.report(err)
		}
	}()
	g.startMore(ctx)
	g.releaseHeld("started")
	g.mu.Lock()
	g.ready = true
	g.mu.Unlock()
	g.Log.Info("supportgate started", "smtp", addr.String(), "http", g.httpLn.Addr().String(), "console", g.Console.Addr(), "hostname", c.SMTP.Hostname)
	return nil
}

func (g *Gateway) report(err error) {
	if err != nil {
		select {
		case g.errs <- err:
		default:
		}
	}
}

// Errors delivers fatal errors of the listeners.
func (g *Gateway) Errors() <-chan error { return g.errs }

// SMTPAddr and HTTPAddr are where the listeners are.
func (g *Gateway) SMTPAddr() string { return g.smtpAddr.String() }
func (g *Gateway) HTTPAddr() string { return g.httpLn.Addr().String() }

// ConsoleAddr is where the operator's console listens.
func (g *Gateway) ConsoleAddr() string { return g.Console.Addr() }

// Stop is the graceful shutdown: stop accepting, let open sessions finish
// and running jobs complete within ctx, then close the store.
func (g *Gateway) Stop(ctx context.Context) error {
	g.mu.Lock()
	g.ready = false
	g.mu.Unlock()
	err := g.SMTP.Shutdown(ctx)
	if g.httpSrv != nil {
		g.httpSrv.Shutdown(ctx)
	}
	g.Console.Shutdown(ctx)
	if g.cancel != nil {
		g.cancel()
	}
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		g.Log.Warn("grace period over; jobs still running are recovered at the next start")
	}
	if cerr := g.Store.Close(); err == nil {
		err = cerr
	}
	g.Log.Info("supportgate stopped")
	return err
}

// Reload puts a new, already validated config in force. Templates and
// contacts are loaded first; if they fail the old config stays.
func (g *Gateway) Reload(c *rules.Config) error {
	if err := g.reloadStages(c); err != nil {
		return err
	}
	old := g.Cfg.Get()
	for _, k := range restartKeys(old, c) {
		g.Log.Warn("changed key takes effect only after a restart", "key", k)
	}
	g.Cfg.Set(c)
	g.Runner.SetPolicy(policyOf(c))
	g.SMTP.Reload()
	g.afterReload()
	g.Log.Info("config reloaded", "path", c.Path)
	g.releaseHeld("config reloaded")
	return nil
}

// releaseHeld retries the messages held for a configuration error (a
// forward_to the mailbox server refused): the new config may fix it.
func (g *Gateway) releaseHeld(why string) {
	n, err := g.Runner.ReleaseHeld()
	if err != nil {
		g.Log.Error("held messages not released", "err", err)
	} else if n > 0 {
		g.Log.Info("held messages retried", "why", why, "jobs", n)
	}
}

func (g *Gateway) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", g.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{}))
	g.moreRoutes(mux)
	return mux
}

func (g *Gateway) healthz(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	ready := g.ready
	g.mu.Unlock()
	err := g.Store.View(func(tx *storeTx) error { return nil })
	if !ready || err != nil {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintln(w, "ok")
}

// restartKeys lists the changed keys a running gateway cannot apply: the
// listening sockets, the database and the worker pool.
func restartKeys(old, c *rules.Config) []string {
	var out []string
	for _, k := range []struct {
		name string
		a, b any
	}{
		{"smtp.listen", old.SMTP.Listen, c.SMTP.Listen},
		{"http.listen", old.HTTP.Listen, c.HTTP.Listen},
		{"console.listen", old.Console.Listen, c.Console.Listen},
		{"storage.dir", old.Storage.Dir, c.Storage.Dir},
		{"queue.workers", old.Queue.Workers, c.Queue.Workers},
		{"queue.portal_workers", old.Queue.PortalWorkers, c.Queue.PortalWorkers},
	} {
		if k.a != k.b {
			out = append(out, k.name)
		}
	}
	return out
}
