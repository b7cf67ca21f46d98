package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"supportgate/store"

	bolt "go.etcd.io/bbolt"
)

// runOne runs one claimed job and records its outcome.
func (r *Runner) runOne(ctx context.Context, j *store.Job) {
	log := r.log.With("queue_id", j.MsgID, "job", j.ID, "kind", j.Kind, "attempt", j.Attempts)
	r.mu.RLock()
	h := r.handlers[j.Kind]
	fail := r.onFail[j.Kind]
	r.mu.RUnlock()
	start := time.Now()
	var err error
	if h == nil {
		err = fmt.Errorf("no handler for job kind %q", j.Kind)
	} else {
		err = safeCall(ctx, h, j)
	}
	took := time.Since(start)
	outcome := "done"
	var l later
	var th then
	var hd hold
	switch {
	case err == nil || errors.As(err, &th):
		if ferr := r.st.Finish(j, th.fn); ferr != nil {
			log.Error("job done but not recorded; it will run again", "err", ferr)
		}
		log.Info("job done", "took_ms", took.Milliseconds())
	case errors.As(err, &l):
		outcome = "later"
		r.st.Reschedule(j, time.Now().Add(l.d), l.why, false)
		log.Debug("job waits", "for", l.d, "why", l.why)
	case errors.As(err, &hd):
		outcome = "held"
		if herr := r.st.Hold(j, hd.why, hd.fn); herr != nil {
			log.Error("job not held; it will run again", "err", herr)
		}
		log.Warn("job held until the config is reloaded or an admin drops it", "why", hd.why)
	case IsPermanent(err) || time.Since(j.Created) > r.pol().GiveUp:
		outcome = "failed"
		if !IsPermanent(err) {
			err = fmt.Errorf("gave up after %s: %w", r.pol().GiveUp, err)
		}
		log.Error("job failed for good", "err", err)
		var follow func(tx *bolt.Tx) error
		if fail != nil {
			follow = fail(ctx, j, err)
		}
		if ferr := r.st.Finish(j, follow); ferr != nil {
			log.Error("failed job not removed", "err", ferr)
		}
	default:
		outcome = "retry"
		next := time.Now().Add(r.pol().Backoff(j.Attempts))
		log.Warn("job will retry", "err", err, "next", next.Format(time.RFC3339))
		r.st.Reschedule(j, next, err.Error(), true)
	}
	if r.Observe != nil {
		r.Observe(j.Kind, outcome, j, took)
	}
}

// safeCall turns a handler's panic into an error: a bad message must not
// take the gateway down, and the job is retried (and eventually dropped)
// like any other failure.
func safeCall(ctx context.Context, h Handler, j *store.Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panic: %v", p)
		}
	}()
	return h(ctx, j)
}
