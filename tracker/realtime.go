package tracker

import (
	"context"
	"slices"
	"sync"
	"time"

	"supportgate/bitrix"
	"supportgate/metrics"
	"supportgate/queue"
	"supportgate/rules"
	"supportgate/store"

	bolt "go.etcd.io/bbolt"
)

// Lane is the queue lane of the tracker's jobs (gateway makes it).
const Lane = "portal"

// How long CRM answers are reused: a contact's name rarely changes, and
// "no such contact" may change when the team adds one.
const (
	learnFound   = 7 * 24 * time.Hour
	learnMissing = time.Hour
)

// greetingDeadline bounds the CRM lookup for the auto-reply's greeting:
// the customer's reply must not wait on the portal.
var greetingDeadline = 700 * time.Millisecond

// ContactName is the name of the CRM contact with this e-mail for the
// auto-reply's greeting: learned from an earlier lookup (kept in the
// store until it expires), else asked of the portal with a short
// deadline (greetingDeadline, or ctx's if sooner) — not at all when more
// calls wait for the portal than one batch carries, as the answer could
// not come in time. "" when there is none, no portal, or no answer in
// time.
func (t *Tracker) ContactName(ctx context.Context, email string) string {
	email = rules.Canonical(email)
	c, err := t.bx()
	if err != nil || email == "" {
		return ""
	}
	if ln, ok := t.st.Learned(learnKey(c.Origin(), email), time.Now()); ok {
		return ln.Name
	}
	if c.Backlog() >= maxBatchCalls {
		return ""
	}
	ctx, cancel := context.WithTimeout(bitrix.WithPriority(ctx, bitrix.PriorityGreeting), greetingDeadline)
	defer cancel()
	id, name, err := c.FindContactByEmail(ctx, email)
	if err != nil {
		t.log.Info("CRM lookup for the greeting not answered in time; greeting by address", "err", err)
		return ""
	}
	t.learn(c, email, id, name)
	return name
}

// learnKey names what the portal at origin said of email: a contact id
// means nothing on another portal (the webhook may be changed).
func learnKey(origin, email string) string { return origin + " " + rules.Canonical(email) }

// learn keeps a CRM lookup's answer, so the task's CRM binding and the
// next greeting ask the portal nothing.
func (t *Tracker) learn(c *bitrix.Client, email string, id int64, name string) {
	ttl := learnFound
	if id == 0 {
		ttl = learnMissing
	}
	if err := t.st.Learn(learnKey(c.Origin(), email), store.LearnedName{ContactID: id, Name: name, Expires: time.Now().Add(ttl)}); err != nil {
		t.log.Warn("CRM answer not kept", "err", err)
	}
}

// lookupContact is the task's CRM contact: learned, or looked up (and
// learned). An error is the lookup's (IsRetryable says whether to retry).
func (t *Tracker) lookupContact(ctx context.Context, c *bitrix.Client, email string) (int64, error) {
	if ln, ok := t.st.Learned(learnKey(c.Origin(), email), time.Now()); ok {
		return ln.ContactID, nil
	}
	id, name, err := c.FindContactByEmail(ctx, email)
	if err == nil {
		t.learn(c, email, id, name)
	}
	return id, err
}

// WaitTask returns the task id of thread, waiting up to d for it, but
// only when the task can actually come in that time: with a backlog of
// portal jobs (or calls) the answer is 0 at once. The wait is in memory:
// the task job wakes it when it records the task, no polling.
func (t *Tracker) WaitTask(ctx context.Context, threadID string, d time.Duration) int64 {
	ch := make(chan int64, 1)
	t.waitMu.Lock()
	t.waiters[threadID] = append(t.waiters[threadID], ch)
	t.waitMu.Unlock()
	defer t.unwait(threadID, ch)
	if id := t.recordedTask(threadID); id != 0 || d <= 0 {
		return id
	}
	if !t.TaskSoon(d) {
		return 0
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case id := <-ch:
		return id
	case <-timer.C:
		return t.recordedTask(threadID)
	case <-ctx.Done():
		return 0
	}
}

func (t *Tracker) unwait(threadID string, ch chan int64) {
	t.waitMu.Lock()
	defer t.waitMu.Unlock()
	list := t.waiters[threadID]
	for i, c := range list {
		if c == ch {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(t.waiters, threadID)
	} else {
		t.waiters[threadID] = list
	}
}

// taskReady wakes the auto-replies waiting for thread's task, and makes
// the thread's comment jobs that wait for it due.
func (t *Tracker) taskReady(threadID string, id int64) {
	t.waitMu.Lock()
	for _, ch := range t.waiters[threadID] {
		select {
		case ch <- id:
		default:
		}
	}
	jobs := t.comments[threadID]
	delete(t.comments, threadID)
	t.waitMu.Unlock()
	for _, jid := range jobs {
		if err := t.st.Wake(jid); err != nil {
			t.log.Warn("comment job not woken; it looks again later", "job", jid, "err", err)
		}
	}
}

// wakeOnTask remembers (in memory: after a restart the job's own next
// look is the fallback) that comment job jid waits for thread's task.
func (t *Tracker) wakeOnTask(threadID string, jid uint64) {
	t.waitMu.Lock()
	defer t.waitMu.Unlock()
	if !slices.Contains(t.comments[threadID], jid) {
		t.comments[threadID] = append(t.comments[threadID], jid)
	}
}

func (t *Tracker) recordedTask(threadID string) int64 {
	var id int64
	t.st.View(func(tx *bolt.Tx) error {
		th, err := store.GetThread(tx, threadID)
		if err != nil || th == nil {
			return err
		}
		id, err = threadTask(tx, th)
		return err
	})
	return id
}

// TaskSoon reports whether a task queued now is likely filed within d:
// no portal job is waiting for a worker, no more calls wait for the
// portal than one batch carries, and recent tasks took less than d from
// their job's creation to their id.
func (t *Tracker) TaskSoon(d time.Duration) bool {
	if t.run.Waiting(Lane) > 0 {
		return false
	}
	c, err := t.bx()
	if err != nil || c.Backlog() >= maxBatchCalls {
		return false
	}
	return time.Duration(t.taskTook.Load()) < d
}

// maxBatchCalls: more calls waiting than one batch carries means the
// next task's calls go in a later batch, behind the portal's pacing.
const maxBatchCalls = 50

// tookTask folds how long a task took (from its job's creation) into
// the running estimate TaskSoon uses (a moving average, weight 1/5).
func (t *Tracker) tookTask(d time.Duration) {
	for {
		old := t.taskTook.Load()
		n := old + (int64(d)-old)/5
		if old == 0 {
			n = int64(d)
		}
		if t.taskTook.CompareAndSwap(old, n) {
			return
		}
	}
}

// observeRequest and observeBatch feed the portal budget metrics.
func observeRequest(method, outcome string) {
	kind := "single"
	switch method {
	case "batch":
		kind = "batch"
	case "disk.folder.uploadfile", "im.v2.File.upload":
		kind = "upload" // never batched: each one a unit of the budget
	}
	metrics.PortalRequests.WithLabelValues(kind, outcome).Inc()
	metrics.Bitrix.WithLabelValues(method, outcome).Inc()
}

func observeBatch(n int) { metrics.PortalBatchCalls.Observe(float64(n)) }

// Many portal jobs run at once (their calls share batches), and a task or
// comment job holds its whole message while it runs. Large messages are
// therefore admitted against a byte budget; the small ones that make up a
// support queue are not counted.
const (
	bigMessage = 1 << 20  // messages from this size on are counted
	bigBudget  = 32 << 20 // bytes of large messages held at once (peak RSS under 150 MB with 50 × 20 MB, bench/rss-tasks.sh)
)

type memBudget struct {
	mu   sync.Mutex
	used int64
}

// take admits size bytes; a message larger than the whole budget is
// admitted alone.
func (b *memBudget) take(size int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used > 0 && b.used+size > bigBudget {
		return false
	}
	b.used += size
	return true
}

func (b *memBudget) give(size int64) { b.mu.Lock(); b.used -= size; b.mu.Unlock() }

// memoryGated runs h once the job's message fits the budget; until then
// the job waits in the queue (it holds no worker).
func (t *Tracker) memoryGated(h queue.Handler) queue.Handler {
	return func(ctx context.Context, j *store.Job) error {
		var size int64
		t.st.View(func(tx *bolt.Tx) error {
			if m, err := store.GetMessage(tx, j.MsgID); err == nil && m != nil {
				size = m.Size
			}
			return nil
		})
		if size < bigMessage {
			return h(ctx, j)
		}
		if !t.mem.take(size) {
			return queue.Later(2*time.Second, "waiting for memory: other large messages are being filed")
		}
		defer t.mem.give(size)
		return h(ctx, j)
	}
}
