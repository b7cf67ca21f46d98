// Package tracker is the Bitrix24 side of supportgate: it turns a new
// customer thread into a task (job "task"), a customer's follow-up into a
// task comment (job "comment"), and a specialist's comment back into an
// email to the customer (event POST /bitrix/event → job "notify"). A
// reconciler polls active threads so that a comment whose event was lost
// is mailed anyway, exactly once.
//
// Every remote step is a durable queue job. Creates are not idempotent on
// the portal, so each job stores the result of every step in its Data
// (queue.Runner.Save) before the next one, and a create whose outcome is
// unknown (bitrix.AmbiguousError) is looked for before it is sent again.
//
// Dedup keys (store.Seen) used here:
//
//	bx:n:<task>:c<id> / bx:n:<task>:m<id>  comment handled: mailed, skipped, or our own
//	bx:q:<task>:c<id> / bx:q:<task>:m<id>  a notify job was queued for it
//
// ("c" = old-card forum comment id, "m" = new-card chat message id).
package tracker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"supportgate/bitrix"
	"supportgate/queue"
	"supportgate/rules"
	"supportgate/store"

	bolt "go.etcd.io/bbolt"
)

// Job kinds run by the tracker.
const (
	KindTask    = "task"    // create the task of a new thread
	KindComment = "comment" // add a customer's follow-up to the thread's task
	KindNotify  = "notify"  // mail a specialist's comment to the customer
)

// ErrNotConfigured is returned when [bitrix] webhook_url is not set.
var ErrNotConfigured = errors.New("tracker: bitrix24 is not configured (bitrix.webhook_url)")

// Tracker connects the store's threads with a Bitrix24 portal.
type Tracker struct {
	cfg *rules.Holder
	st  *store.Store
	run *queue.Runner
	log *slog.Logger

	// opts are the base options of the REST client; tests shorten the
	// timeouts. Set before Reload.
	opts bitrix.Options

	mu     sync.RWMutex
	client *bitrix.Client
	key    string // what client was built from: webhook URL and rate
	token  string // the outgoing webhook's application token

	waitMu   sync.Mutex
	diskMu   sync.Mutex              // makes the Drive folder for files once (folder.go)
	ack      Ack                     // the acknowledgement of a new task after a closed one (closed.go)
	waiters  map[string][]chan int64 // thread id → auto-replies waiting for its task
	comments map[string][]uint64     // thread id → comment jobs waiting for its task

	reconcileMu sync.Mutex // one reconcile pass at a time

	// busy counts task, comment and notify jobs running now: the
	// reconciler gives way to them, so a sweep of many threads never
	// takes the portal's request budget from a new customer's task.
	busy atomic.Int32

	badTokens badTokenLog // wrong-token events, logged once a minute

	// taskTook is the recent time from a task job's creation to its
	// task id, in ns (TaskSoon).
	taskTook atomic.Int64

	mem memBudget // large messages held by running jobs
}

// New builds the tracker for the config in force. A config without
// webhook_url gives a disabled tracker (Enabled false), not an error; an
// unreadable secret file or a malformed URL is an error.
func New(cfg *rules.Holder, st *store.Store, r *queue.Runner, log *slog.Logger) (*Tracker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{cfg: cfg, st: st, run: r, log: log.With("component", "tracker"), waiters: map[string][]chan int64{},
		comments: map[string][]uint64{}}
	if err := st.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		return nil, fmt.Errorf("tracker: %w", err)
	}
	if err := t.Reload(); err != nil {
		return nil, err
	}
	return t, nil
}

// Register installs the job handlers on the runner.
func (t *Tracker) Register() {
	t.run.Handle(KindTask, t.memoryGated(t.prioritised(t.handleTask, bitrix.PriorityNew)), t.failed)
	t.run.Handle(KindComment, t.memoryGated(t.prioritised(t.handleComment, bitrix.PriorityFollowUp)), t.failed)
	t.run.Handle(KindNotify, t.prioritised(t.handleNotify, bitrix.PriorityUrgent), t.failed)
	t.run.Handle(KindFiles, t.memoryGated(t.prioritised(t.handleFiles, bitrix.PriorityFiles)), t.failed)
}

// prioritised runs a job's handler with its calls marked with prio: in
// a shared batch a specialist's answer to mail goes before a new task.
func (t *Tracker) prioritised(h queue.Handler, prio int) queue.Handler {
	return func(ctx context.Context, j *store.Job) error {
		return h(bitrix.WithPriority(ctx, prio), j)
	}
}

// giveWay waits (at most max) while the portal's budget is contended —
// more calls waiting for a batch than one batch carries — then for two
// requests' share of the rate: a thread costs one or two calls, so the
// reconciler leaves the bucket room to refill for the jobs. (Its calls
// also ride last in every batch.)
func (t *Tracker) giveWay(ctx context.Context, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		c, err := t.bx()
		if err != nil || c.Backlog() < maxBatchCalls {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	rate := t.cfg.Get().Bitrix.RatePerSecond
	if rate <= 0 {
		rate = 2
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Duration(2 * float64(time.Second) / rate)):
	}
}

// failed logs a job that failed for good. Nothing else is queued: the
// message was forwarded to the team's mailbox anyway.
func (t *Tracker) failed(_ context.Context, j *store.Job, err error) func(tx *bolt.Tx) error {
	t.log.Error("bitrix24 job failed for good", "kind", j.Kind, "job", j.ID, "queue_id", j.MsgID,
		"data", string(j.Data), "err", err)
	return nil
}

// Reload rebuilds the REST client when the webhook URL or the rate
// changed, and re-reads the application token. On error the previous
// client and token stay in force.
func (t *Tracker) Reload() error {
	c := t.cfg.Get().Bitrix
	hook, err := rules.Secret(c.WebhookURL, c.WebhookURLFile)
	if err != nil {
		return fmt.Errorf("bitrix.webhook_url_file: %w", err)
	}
	token, err := rules.Secret(c.ApplicationToken, c.ApplicationTokenFile)
	if err != nil {
		return fmt.Errorf("bitrix.application_token_file: %w", err)
	}
	hook = strings.TrimSpace(hook)
	key := hook + "|" + strconv.FormatFloat(c.RatePerSecond, 'g', -1, 64) + "|" + strconv.Itoa(c.Burst)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.token = strings.TrimSpace(token)
	if key == t.key && (t.client != nil || hook == "") {
		return nil
	}
	if hook == "" {
		t.client, t.key = nil, key
		return nil
	}
	opts := t.opts
	if c.RatePerSecond > 0 {
		opts.RatePerSec = c.RatePerSecond
	}
	if c.Burst > 0 {
		// One unit of headroom: our pacer and the portal's bucket run
		// on different clocks, and a request that arrives a little
		// early must not find the bucket full.
		opts.Burst = max(c.Burst-1, 1)
	}
	// One pacer per portal, and the calls of concurrent jobs share
	// batches: 50 calls for one request of the portal's budget.
	opts.Batch = true
	if opts.OnRequest == nil {
		opts.OnRequest = observeRequest
	}
	if opts.OnBatch == nil {
		opts.OnBatch = observeBatch
	}
	if opts.Logger == nil {
		opts.Logger = t.log
	}
	cl, err := bitrix.New(hook, opts)
	if err != nil {
		return fmt.Errorf("bitrix.webhook_url: %w", err)
	}
	t.client, t.key = cl, key
	return nil
}

// Enabled reports whether a portal is configured (webhook_url set).
func (t *Tracker) Enabled() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.client != nil
}

func (t *Tracker) bx() (*bitrix.Client, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.client == nil {
		return nil, ErrNotConfigured
	}
	return t.client, nil
}

func (t *Tracker) appToken() string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.token
}

// Check calls user.current: the webhook URL, its secret and the user
// scope work (supportgate check -online).
func (t *Tracker) Check(ctx context.Context) error {
	c, err := t.bx()
	if err != nil {
		return err
	}
	u, err := c.CurrentUser(ctx)
	if err != nil {
		return err
	}
	t.log.Info("bitrix24 webhook works", "user_id", u.ID, "user", u.FullName())
	return nil
}

// TaskJob is the job the pipeline queues (on the incoming message) for a
// new thread.
func TaskJob(threadID string) *store.Job { return newJob(KindTask, threadID) }

// CommentJob is the job the pipeline queues (on the incoming message) for
// a customer's message in a thread that has (or will have) a task.
func CommentJob(threadID string) *store.Job { return newJob(KindComment, threadID) }

// TaskJob is the package function, as a method (pipeline.Tasks).
func (t *Tracker) TaskJob(threadID string) *store.Job { return TaskJob(threadID) }

// CommentJob is the package function, as a method (pipeline.Tasks).
func (t *Tracker) CommentJob(threadID string) *store.Job { return CommentJob(threadID) }

func newJob(kind, threadID string) *store.Job {
	data, _ := json.Marshal(struct {
		Thread string `json:"thread"`
	}{threadID})
	return &store.Job{Kind: kind, Data: data}
}

// notConfigured parks a job while the portal is not configured, and
// drops it after the queue's give-up time.
func (t *Tracker) notConfigured(j *store.Job) error {
	if time.Since(j.Created) > t.cfg.Get().Queue.GiveUpAfter.D() {
		return queue.Permanent(ErrNotConfigured)
	}
	return queue.Later(5*time.Minute, "bitrix24 not configured")
}

// remoteErr explains a portal error for the queue's log. Every portal
// error is retried with the queue's backoff (and dropped after
// give_up_after): auth errors and 4xx business errors usually need the
// admin to fix the config or the portal, which the retry then picks up;
// ambiguous creates are looked for on the next attempt.
func remoteErr(step string, err error) error {
	switch {
	case bitrix.IsAuth(err):
		return fmt.Errorf("%s: webhook not allowed (check bitrix.webhook_url and its scopes task, crm, disk, user, im): %w", step, err)
	case errors.Is(err, bitrix.ErrAmbiguous):
		return fmt.Errorf("%s: outcome unknown, will look before retrying: %w", step, err)
	}
	return fmt.Errorf("%s: %w", step, err)
}
