package bitrix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Batching (§1.7): the portal counts one `batch` of up to 50 calls as one
// request of its leaky bucket. With Options.Batch set, the calls that
// concurrent jobs make (CRM lookups, new tasks without files, comments,
// reads) are collected for a short window, or until 50 wait, and sent as
// one batch; each caller gets its own sub-call's result or error. A job
// stays the unit of durability: each still records its own steps, and an
// answer lost for the whole batch is, for each create in it, the same
// "outcome unknown" as for a single call (AmbiguousError).

// maxBatch is the portal's cap on the calls of one batch.
const maxBatch = 50

// batchable are the methods sent inside batch. Uploads and downloads
// cannot be (the portal refuses them, §1.7); they take their turn in the
// same pacer.
var batchable = map[string]bool{
	"crm.duplicate.findbycomm": true, "crm.contact.get": true,
	"tasks.task.add": true, "tasks.task.get": true, "tasks.task.list": true,
	"task.commentitem.add": true, "task.commentitem.get": true, "task.commentitem.getlist": true,
	"im.dialog.messages.get": true, "user.current": true,
	// issue 11: closed tasks, new-card chat, CRM organisation, Drive folder
	"tasks.task.renew": true, "tasks.task.update": true, "tasks.task.files.attach": true, "im.message.add": true,
	"crm.company.get": true, "crm.contact.add": true,
	"disk.storage.getlist": true, "disk.folder.getchildren": true, "disk.folder.addsubfolder": true,
}

// Priorities of calls waiting for a batch: lower goes first. The
// greeting's lookup and a specialist's answer to mail are waited for by
// a person; a backlog of new tasks is not.
const (
	PriorityUrgent     = 0 // notify: a specialist's answer to mail
	PriorityGreeting   = 1 // the auto-reply greeting's CRM lookup (it has a short deadline anyway)
	PriorityFollowUp   = 2 // a customer's follow-up comment
	PriorityNew        = 3 // new tasks (the default)
	PriorityFiles      = 4 // files of tasks already made (uploads and attaching)
	PriorityBackground = 5 // the reconciler
)

type prioKey struct{}

// WithPriority marks the calls made with ctx (see the Priority* values).
func WithPriority(ctx context.Context, p int) context.Context {
	return context.WithValue(ctx, prioKey{}, p)
}

func priorityOf(ctx context.Context) int {
	if p, ok := ctx.Value(prioKey{}).(int); ok {
		return p
	}
	return PriorityNew
}

// errBatchOff: the portal refused batch itself; the call goes on its own
// (nothing ran).
var errBatchOff = errors.New("batch not available")

// errNotSent: the caller gave up before its call left in a batch, so
// nothing happened on the portal (not ambiguous, even for a create).
var errNotSent = errors.New("not sent")

type pending struct {
	method, cmd string
	read        bool // safe to share with an identical call
	also        []*pending
	prio        int
	seq         uint64
	gone        atomic.Bool // the caller gave up
	sent        atomic.Bool
	done        chan result
}

type result struct {
	env *envelope
	err error
}

// batcher collects one Client's batchable calls.
type batcher struct {
	c        *Client
	window   time.Duration
	inflight chan struct{}

	mu      sync.Mutex
	queue   []*pending
	seq     uint64
	running bool
	full    chan struct{}
	pacing  *waiter // the pacer wait of the batch being formed

	// Stats, for metrics: requests sent, sub-calls in them.
	sizes func(n int)
	off   atomic.Bool // the portal refused batch: no more batching
}

func newBatcher(c *Client, window time.Duration) *batcher {
	if window <= 0 {
		window = 20 * time.Millisecond
	}
	return &batcher{c: c, window: window, inflight: make(chan struct{}, 4), full: make(chan struct{}, 1)}
}

// do sends one call in the next batch and waits for its own answer.
func (b *batcher) do(ctx context.Context, method, query string, k kind) (*envelope, error) {
	p := &pending{method: method, cmd: method + "?" + query, read: k == read, prio: priorityOf(ctx), done: make(chan result, 1)}
	b.mu.Lock()
	b.seq++
	p.seq = b.seq
	b.queue = append(b.queue, p)
	n := len(b.queue)
	if b.pacing != nil && p.prio < b.pacing.prio {
		b.c.lim.raise(b.pacing, p.prio)
	}
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	if n >= maxBatch {
		select {
		case b.full <- struct{}{}:
		default:
		}
	}
	select {
	case r := <-p.done:
		return r.env, r.err
	case <-ctx.Done():
		p.gone.Store(true)
		if !p.sent.Load() {
			b.mu.Lock()
			sent := p.sent.Load()
			if !sent {
				b.queue = slices.DeleteFunc(b.queue, func(q *pending) bool { return q == p })
			}
			b.mu.Unlock()
			if !sent {
				return nil, fmt.Errorf("bitrix %s: %w: %w", method, errNotSent, ctx.Err())
			}
		}
		return nil, ctx.Err()
	}
}

// loop sends batches while calls wait: it lets a window pass (or 50
// gather), waits for the pacer's token, then takes the 50 most urgent.
// Waiting for the token is what makes batches big under load: every call
// that arrives meanwhile joins the next one.
func (b *batcher) loop() {
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		n := len(b.queue)
		b.mu.Unlock()
		if n < maxBatch {
			t := time.NewTimer(b.window)
			select {
			case <-t.C:
			case <-b.full:
			}
			t.Stop()
		}
		// The batch waits for the pacer at the priority of its most
		// urgent call, so a specialist's answer is not queued behind
		// uploads of new tasks (which cannot be batched).
		w := &waiter{prio: b.urgent()}
		b.mu.Lock()
		b.pacing = w
		b.mu.Unlock()
		_ = b.c.lim.await(context.Background(), w)
		b.mu.Lock()
		b.pacing = nil
		b.mu.Unlock()
		b.inflight <- struct{}{}
		b.mu.Lock()
		slices.SortStableFunc(b.queue, func(x, y *pending) int {
			if x.prio != y.prio {
				return x.prio - y.prio
			}
			return int(x.seq - y.seq)
		})
		// Identical reads waiting together (the greeting's CRM lookup and
		// the task's, for one sender) share one sub-call.
		var take []*pending
		same := map[string]*pending{}
		rest := b.queue[:0]
		for _, p := range b.queue {
			if q := same[p.cmd]; q != nil && p.read {
				q.also = append(q.also, p)
				p.sent.Store(true)
				continue
			}
			if len(take) < maxBatch {
				take = append(take, p)
				p.sent.Store(true)
				if p.read {
					same[p.cmd] = p
				}
				continue
			}
			rest = append(rest, p)
		}
		b.queue = slices.Clone(rest)
		b.mu.Unlock()
		if len(take) == 0 {
			<-b.inflight
			continue
		}
		go func() {
			defer func() { <-b.inflight }()
			b.send(take)
		}()
	}
}

// urgent is the priority of the most urgent call waiting.
func (b *batcher) urgent() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := PriorityBackground
	for _, q := range b.queue {
		p = min(p, q.prio)
	}
	return p
}

// answer hands a call's result to its caller and to those sharing it.
func (p *pending) answer(r result) {
	p.done <- r
	for _, q := range p.also {
		q.done <- r
	}
}

// send makes one batch request and hands each caller its answer.
func (b *batcher) send(calls []*pending) {
	cmd := make(map[string]string, len(calls))
	for i, p := range calls {
		cmd["q"+strconv.Itoa(i)] = p.cmd
	}
	body, _ := json.Marshal(map[string]any{"halt": 0, "cmd": cmd})
	if b.sizes != nil {
		b.sizes(len(calls))
	}
	env, err := b.c.do(context.Background(), "batch", body)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && isRateLimit(e) {
			b.c.lim.drain()
		}
		if errors.As(err, &e) && e.codeIs("ERROR_METHOD_NOT_FOUND", "ERROR_BATCH_METHOD_NOT_ALLOWED") {
			// A portal without batch (or refusing one of our methods in
			// it): refused before anything ran; go one by one from now on.
			b.off.Store(true)
			b.c.log.Warn("bitrix: batch refused; calls go one by one", "err", err)
			for _, p := range calls {
				p.answer(result{err: errBatchOff})
			}
			return
		}
		for _, p := range calls {
			p.answer(result{err: rebrand(err, p.method)})
		}
		return
	}
	var sec struct {
		Result json.RawMessage `json:"result"`
		Errors json.RawMessage `json:"result_error"`
		Total  json.RawMessage `json:"result_total"`
		Next   json.RawMessage `json:"result_next"`
	}
	if uerr := json.Unmarshal(env.Result, &sec); uerr != nil {
		for _, p := range calls {
			p.answer(result{err: &Error{Method: p.method, Description: "batch answer unreadable: " + uerr.Error(), HTTPStatus: 500}})
		}
		return
	}
	results, errs, totals, nexts := keyed(sec.Result), keyed(sec.Errors), keyed(sec.Total), keyed(sec.Next)
	for i, p := range calls {
		k := "q" + strconv.Itoa(i)
		if raw, ok := errs[k]; ok {
			var w struct {
				Err  json.RawMessage `json:"error"`
				Desc flexString      `json:"error_description"`
			}
			_ = json.Unmarshal(raw, &w)
			p.answer(result{err: &Error{Method: p.method, Code: b.c.scrub(errCode(w.Err)), Description: b.c.scrub(string(w.Desc))}})
			continue
		}
		raw, ok := results[k]
		if !ok {
			// Neither a result nor an error: we cannot tell whether it ran.
			p.answer(result{err: &Error{Method: p.method, Description: "batch answer lacks this call", HTTPStatus: 500}})
			continue
		}
		e := &envelope{Result: raw}
		if t, ok := totals[k]; ok {
			var id ID
			if json.Unmarshal(t, &id) == nil {
				e.Total = &id
			}
		}
		if n, ok := nexts[k]; ok {
			var id ID
			if json.Unmarshal(n, &id) == nil {
				e.Next = &id
			}
		}
		p.answer(result{env: e})
	}
}

// rebrand names the sub-call's method in a whole-batch error, so logs
// and AmbiguousError say what was unknown.
func rebrand(err error, method string) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Method = method
		c.Description = strings.TrimSpace("batch: " + c.Description)
		return &c
	}
	return fmt.Errorf("bitrix %s (in batch): %w", method, err)
}

// keyed reads a batch section: an object by key, or [] when empty.
func keyed(raw json.RawMessage) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '{' {
		return nil
	}
	_ = json.Unmarshal(raw, &m)
	return m
}

// encodeQuery writes params as the "method?query" of a batch command:
// PHP's http_build_query, nested keys in brackets, in the order the JSON
// encoding has them (struct field order: task.commentitem.* reads its
// arguments by position, §1.3). Empty arrays and nulls are left out, as
// PHP does; true and false are 1 and 0.
func encodeQuery(params any) (string, error) {
	raw, err := json.Marshal(params)
	if err != nil {
		return "", err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return "", errors.New("params must be an object")
	}
	var parts []string
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return "", err
		}
		k, _ := kt.(string)
		if err := encodeValue(dec, url.QueryEscape(k), &parts); err != nil {
			return "", err
		}
	}
	return strings.Join(parts, "&"), nil
}

func encodeValue(dec *json.Decoder, key string, parts *[]string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		i := 0
		for dec.More() {
			sub := strconv.Itoa(i)
			if t == '{' {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				s, _ := kt.(string)
				sub = url.QueryEscape(s)
			}
			if err := encodeValue(dec, key+"["+sub+"]", parts); err != nil {
				return err
			}
			i++
		}
		_, err := dec.Token() // the closing delimiter
		return err
	case string:
		*parts = append(*parts, key+"="+url.QueryEscape(t))
	case json.Number:
		*parts = append(*parts, key+"="+t.String())
	case bool:
		v := "0"
		if t {
			v = "1"
		}
		*parts = append(*parts, key+"="+v)
	case nil:
	}
	return nil
}

// Delay estimates how long a call made now waits before it leaves: the
// batch window and the pacer's wait for the batches queued ahead of it.
func (c *Client) Delay() time.Duration {
	if c.bat == nil {
		return c.lim.delay(1)
	}
	c.bat.mu.Lock()
	ahead := len(c.bat.queue)
	c.bat.mu.Unlock()
	return c.bat.window + c.lim.delay(ahead/maxBatch+1)
}

// Backlog is how many calls wait for a batch now.
func (c *Client) Backlog() int {
	if c.bat == nil {
		return 0
	}
	c.bat.mu.Lock()
	defer c.bat.mu.Unlock()
	return len(c.bat.queue)
}
