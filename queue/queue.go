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

// Runner dispatches due jobs to workers.
type Runner struct {
	st       *store.Store
	log      *slog.Logger
	workers  int
	mu       sync.RWMutex
	policy   Policy
	handlers map[string]Handler
	onFail   map[string]FailFunc
	kick     chan struct{}
	slots    map[string]chan struct{}
	// Observe, when set, is told of every finished attempt (for metrics).
	Observe func(kind, outcome string, j *store.Job, took time.Duration)
}

// New makes a runner on st with n workers.
func New(st *store.Store, log *slog.Logger, n int, p Policy) *Runner {
	r := &Runner{st: st, log: log, workers: n, policy: p,
		handlers: map[string]Handler{}, onFail: map[string]FailFunc{}, kick: make(chan struct{}, 1),
		slots: map[string]chan struct{}{}}
	st.OnCommit(r.Kick)
	return r
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

// Limit lets at most n jobs of kind run at once: the kinds that hold a
// whole message in memory (a task with its attachments) or call a
// rate-limited service would otherwise take every worker.
func (r *Runner) Limit(kind string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.slots[kind] = make(chan struct{}, n)
}

// SetPolicy changes the retry schedule (config reload).
func (r *Runner) SetPolicy(p Policy) { r.mu.Lock(); r.policy = p; r.mu.Unlock() }

func (r *Runner) pol() Policy { r.mu.RLock(); defer r.mu.RUnlock(); return r.policy }

// Kick wakes the dispatcher: new jobs run at once, not at the next tick.
func (r *Runner) Kick() {
	select {
	case r.kick <- struct{}{}:
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
	jobs := make(chan *store.Job)
	var wg sync.WaitGroup
	// Jobs get their own context: a shutdown lets running jobs finish
	// (bounded by the caller's grace period), not abort mid-delivery.
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	for range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r.runOne(jctx, j)
			}
		}()
	}
	defer func() { close(jobs); wg.Wait() }()

	for {
		claimed, err := r.st.Claim(time.Now(), r.workers, r.lease)
		if err != nil {
			r.log.Error("queue: claim", "err", err)
		}
		for _, j := range claimed {
			select {
			case jobs <- j:
			case <-ctx.Done():
				// Not started: make it due again for the next run.
				r.st.Reschedule(j, time.Now(), "", false)
			}
		}
		if len(claimed) == r.workers {
			continue // more may be due
		}
		wait := time.Second
		if next := r.st.NextDue(); !next.IsZero() {
			if d := time.Until(next); d < wait {
				wait = max(d, time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-r.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// lease is how long a claimed job stays claimed if we die mid-attempt.
func (r *Runner) lease(attempts int) time.Duration { return r.pol().Backoff(attempts) }
