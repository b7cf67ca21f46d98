// Package queue runs the durable jobs kept in the store: every step after
// the SMTP 250 (forwarding, processing, replies, tasks, notifications) is a
// job of some kind, retried with backoff until it succeeds or gives up.
//
// Handlers must be idempotent: a job may run again after a crash. A handler
// that does several remote steps stores each step's result in job.Data
// (Runner.Save) before the next, so a retry resumes where it stopped.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"supportgate/store"

	bolt "go.etcd.io/bbolt"
)

// Handler does one job. Return nil when done, Permanent(err) when retrying
// cannot help, Later(d, why) to look again after d without counting an
// attempt, and any other error to retry with backoff.
type Handler func(ctx context.Context, j *store.Job) error

// FailFunc is told of a job that failed for good (permanent error or past
// give-up). The function it returns (if any) runs in the transaction that
// removes the job, so a follow-up (a DSN) is queued exactly once.
type FailFunc func(ctx context.Context, j *store.Job, err error) func(tx *bolt.Tx) error

// Policy is the retry schedule.
type Policy struct {
	Initial, Max, GiveUp time.Duration
}

// Backoff is the delay before attempt n+1 after n failures: Initial
// doubling to Max, with ±10% jitter so jobs that failed together do not
// retry together. Computed in float seconds (maddy's integer truncation is
// the bug to avoid).
func (p Policy) Backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := float64(p.Initial)
	for i := 1; i < n && d < float64(p.Max); i++ {
		d *= 2
	}
	if d > float64(p.Max) {
		d = float64(p.Max)
	}
	d *= 0.9 + 0.2*rand.Float64()
	return time.Duration(d)
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return permanent{err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool { var p permanent; return errors.As(err, &p) }

type later struct {
	d   time.Duration
	why string
}

func (l later) Error() string { return "later: " + l.why }

type then struct{ fn func(tx *bolt.Tx) error }

func (then) Error() string { return "done, with follow-ups" }

// Then reports success and queues follow-up work in the same transaction
// that removes the job: a crash leaves either the job or its follow-ups.
func Then(fn func(tx *bolt.Tx) error) error { return then{fn} }

// Later asks to run the job again after d, without counting an attempt.
func Later(d time.Duration, why string) error { return later{d, why} }

type hold struct {
	why string
	fn  func(tx *bolt.Tx) error
}

func (h hold) Error() string { return "held: " + h.why }

// Hold parks the job (store.Held) until ReleaseHeld: a failure that is
// ours (configuration), where retrying cannot help and failing would
// blame the sender. fn, if any, runs in the transaction that parks it.
func Hold(why string, fn func(tx *bolt.Tx) error) error { return hold{why, fn} }

// ReleaseHeld makes every held job due again (after a config reload).
func (r *Runner) ReleaseHeld() (int, error) {
	n, err := r.st.ReleaseHeld()
	if n > 0 {
		r.Kick()
	}
	return n, err
}

// Runner dispatches due jobs to the workers of their lane.
//
// Jobs are grouped in lanes (Lane): each lane has its own workers and its
// own dispatcher, and claims only jobs it can start at once, so a backlog
// in one lane (tasks waiting for Bitrix24's request budget) never holds a
// worker of another (forwarding, auto-replies). Kinds not assigned to a
// lane run in the default lane, MainLane.
type Runner struct {
	st       *store.Store
	log      *slog.Logger
	mu       sync.RWMutex
	policy   Policy
	handlers map[string]Handler
	onFail   map[string]FailFunc
	lanes    map[string]*lane
	order    []*lane
	laneOf   map[string]*lane
	caps     map[string]int
	// Observe, when set, is told of every finished attempt (for metrics).
	Observe func(kind, outcome string, j *store.Job, took time.Duration)
}

// MainLane is the lane of every kind not assigned to another.
const MainLane = "mail"

// lane is one group of kinds with its own workers.
type lane struct {
	name    string
	workers int
	rank    map[string]int
	kick    chan struct{}
	warnLag time.Duration

	mu      sync.Mutex
	running int
	waiting int // due jobs left for lack of a worker, at the last look
	byKind  map[string]int
}

// New makes a runner on st whose main lane has n workers.
func New(st *store.Store, log *slog.Logger, n int, p Policy) *Runner {
	r := &Runner{st: st, log: log, policy: p,
		handlers: map[string]Handler{}, onFail: map[string]FailFunc{},
		lanes: map[string]*lane{}, laneOf: map[string]*lane{}, caps: map[string]int{}}
	r.Lane(MainLane, n)
	st.OnCommit(r.Kick)
	return r
}

// Lane makes (or resizes) a lane with n workers and assigns kinds to it,
// in priority order: when the lane has a free worker, due jobs of an
// earlier kind are claimed before those of a later one, however long the
// later ones have waited. Call before Run.
func (r *Runner) Lane(name string, n int, kinds ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lanes[name]
	if l == nil {
		l = &lane{name: name, rank: map[string]int{}, kick: make(chan struct{}, 1), byKind: map[string]int{}}
		r.lanes[name] = l
		r.order = append(r.order, l)
	}
	l.workers = max(n, 1)
	for _, k := range kinds {
		l.rank[k] = len(l.rank)
		r.laneOf[k] = l
	}
}

// WarnLag makes the runner log a warning while the oldest queued job of
// lane is older than d (checked every d/6, at most every 10s).
func (r *Runner) WarnLag(name string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.lanes[name]; l != nil {
		l.warnLag = d
	}
}

// LaneOf names the lane that runs kind.
func (r *Runner) LaneOf(kind string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if l := r.laneOf[kind]; l != nil {
		return l.name
	}
	return MainLane
}

// Lanes lists the lanes' names.
func (r *Runner) Lanes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for _, l := range r.order {
		out = append(out, l.name)
	}
	return out
}

// Running is how many jobs of lane run now.
func (r *Runner) Running(name string) int {
	r.mu.RLock()
	l := r.lanes[name]
	r.mu.RUnlock()
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running
}

// Waiting is how many due jobs of lane found no free worker at its last
// look: more than 0 means the lane has a backlog.
func (r *Runner) Waiting(name string) int {
	r.mu.RLock()
	l := r.lanes[name]
	r.mu.RUnlock()
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waiting
}

// LaneStat is one lane's backlog, for metrics.
type LaneStat struct {
	Lane            string
	Queued, Running int
	OldestQueued    time.Time // zero when none is queued
}

// LaneStats reads every lane's backlog in one pass over the queue.
func (r *Runner) LaneStats() ([]LaneStat, error) {
	ks, err := r.st.KindStats()
	if err != nil {
		return nil, err
	}
	idx := map[string]*LaneStat{}
	var out []LaneStat
	for _, name := range r.Lanes() {
		out = append(out, LaneStat{Lane: name})
	}
	for i := range out {
		idx[out[i].Lane] = &out[i]
	}
	for k, s := range ks {
		ls := idx[r.LaneOf(k)]
		if ls == nil {
			continue
		}
		ls.Queued += s.Queued
		if !s.Oldest.IsZero() && (ls.OldestQueued.IsZero() || s.Oldest.Before(ls.OldestQueued)) {
			ls.OldestQueued = s.Oldest
		}
	}
	for i := range out {
		out[i].Running = r.Running(out[i].Lane)
	}
	return out, nil
}

// Handle registers the handler (and an optional failure hook) of a kind.
func (r *Runner) Handle(kind string, h Handler, fail FailFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers[kind] = h
	if fail != nil {
		r.onFail[kind] = fail
	}
}

// Limit lets at most n jobs of kind run at once within its lane: the
// kinds that hold a whole message in memory would otherwise take every
// worker of the lane. A job over the limit is not claimed (it stays
// queued), so it never holds a worker either.
func (r *Runner) Limit(kind string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.caps[kind] = n
}

// SetPolicy changes the retry schedule (config reload).
func (r *Runner) SetPolicy(p Policy) { r.mu.Lock(); r.policy = p; r.mu.Unlock() }

func (r *Runner) pol() Policy { r.mu.RLock(); defer r.mu.RUnlock(); return r.policy }

// Kick wakes the dispatchers: new jobs run at once, not at the next tick.
func (r *Runner) Kick() {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, l := range r.order {
		l.wake()
	}
}

func (l *lane) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Save stores j.Data now (a step's result) so a retry resumes after it.
func (r *Runner) Save(j *store.Job) error { return r.st.SaveProgress(j) }

// Run dispatches until ctx is done, then waits for running jobs to finish.
// Jobs left running by a crash are made due first.
func (r *Runner) Run(ctx context.Context) error {
	if n, err := r.st.Recover(); err != nil {
		return fmt.Errorf("queue: recover: %w", err)
	} else if n > 0 {
		r.log.Info("recovered jobs left running", "count", n)
	}
	var wg sync.WaitGroup
	// Jobs get their own context: a shutdown lets running jobs finish
	// (bounded by the caller's grace period), not abort mid-delivery.
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	r.mu.RLock()
	lanes := append([]*lane(nil), r.order...)
	r.mu.RUnlock()
	var dwg sync.WaitGroup
	for _, l := range lanes {
		dwg.Add(1)
		go func() { defer dwg.Done(); r.dispatch(ctx, jctx, l, &wg) }()
		if l.warnLag > 0 {
			dwg.Add(1)
			go func() { defer dwg.Done(); r.watchLag(ctx, l) }()
		}
	}
	dwg.Wait()
	wg.Wait()
	return nil
}

// dispatch is one lane's loop: claim what the lane can start, start it,
// sleep until a job is due, a commit kicks, or a worker frees up.
func (r *Runner) dispatch(ctx, jctx context.Context, l *lane, wg *sync.WaitGroup) {
	var last time.Time
	for ctx.Err() == nil {
		// Kicks come with every commit; one look per scanGap takes in
		// all that came meanwhile (a look reads the whole due index).
		if d := scanGap - time.Since(last); d > 0 {
			sleep(ctx, d)
		}
		last = time.Now()
		l.mu.Lock()
		free := l.workers - l.running
		l.mu.Unlock()
		// A full lane still looks (a read, no write): how many due jobs
		// wait for a worker is its backlog, which others ask about.
		var capped int
		claimed, next, waiting, err := r.st.ClaimLane(time.Now(), r.laneClaim(l, free, &capped), r.lease)
		l.mu.Lock()
		// Jobs held back by their kind's cap (Limit) wait by design, not
		// for a worker: they are not the lane's backlog.
		l.waiting = max(0, waiting-capped)
		l.mu.Unlock()
		if err != nil {
			r.log.Error("queue: claim", "lane", l.name, "err", err)
		}
		for _, j := range claimed {
			l.mu.Lock()
			l.running++
			l.byKind[j.Kind]++
			l.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.runOne(jctx, j)
				l.mu.Lock()
				l.running--
				l.byKind[j.Kind]--
				l.mu.Unlock()
				l.wake()
			}()
		}
		if len(claimed) > 0 && len(claimed) == free {
			continue // more may be due
		}
		wait := time.Second
		if !next.IsZero() {
			if d := time.Until(next); d < wait {
				wait = max(d, time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-l.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// scanGap is the least time between two looks of a lane at the queue.
const scanGap = 5 * time.Millisecond

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// laneClaim tells the store which due jobs lane l can start now: its own
// kinds (or every unassigned kind, for the main lane), at most free of
// them, each kind within its Limit.
func (r *Runner) laneClaim(l *lane, free int, capped *int) store.LaneClaim {
	r.mu.RLock()
	caps := make(map[string]int, len(r.caps))
	for k, n := range r.caps {
		caps[k] = n
	}
	r.mu.RUnlock()
	l.mu.Lock()
	taken := make(map[string]int, len(l.byKind))
	for k, n := range l.byKind {
		taken[k] = n
	}
	l.mu.Unlock()
	main := l.name == MainLane
	return store.LaneClaim{
		Rank: func(kind string) int {
			if n, ok := l.rank[kind]; ok {
				return n
			}
			if main && r.LaneOf(kind) == MainLane {
				return len(l.rank)
			}
			return -1
		},
		Take: func(kind string) bool {
			if c, ok := caps[kind]; ok && taken[kind] >= c {
				*capped++
				return false
			}
			if free <= 0 {
				return false
			}
			free--
			taken[kind]++
			return true
		},
	}
}

// watchLag warns while the lane's oldest queued job is older than its
// warnLag: the operator sees the portal falling behind before customers
// say so.
func (r *Runner) watchLag(ctx context.Context, l *lane) {
	every := min(max(l.warnLag/6, time.Second), 10*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		lag, depth := r.Lag(l.name)
		if lag > l.warnLag {
			r.log.Warn("queue lane is behind", "lane", l.name, "oldest_queued", lag.Round(time.Second).String(),
				"queued", depth, "running", r.Running(l.name))
		}
	}
}

// Lag is the age of the lane's oldest queued job and how many are queued.
func (r *Runner) Lag(name string) (time.Duration, int) {
	stats, err := r.LaneStats()
	if err != nil {
		return 0, 0
	}
	for _, ls := range stats {
		if ls.Lane == name && !ls.OldestQueued.IsZero() {
			return time.Since(ls.OldestQueued), ls.Queued
		}
	}
	return 0, 0
}

// lease is how long a claimed job stays claimed if we die mid-attempt.
func (r *Runner) lease(attempts int) time.Duration { return r.pol().Backoff(attempts) }
