package bitrixtest

import (
	"context"
	"strconv"
	"strings"
)

func init() {
	methods["batch"] = batch
}

// maxBatch is the portal's cap on sub-calls of one batch (§1.7).
const maxBatch = 50

// notInBatch are the methods the portal refuses inside batch: batch
// itself and uploads (§1.7).
var notInBatch = map[string]bool{
	"batch": true, "disk.folder.uploadfile": true, "disk.storage.uploadfile": true,
}

// batch runs up to 50 "method?query" sub-calls (§1.7). The whole batch
// is one request for the leaky bucket (checked in dispatch). Each sub-call
// answers on its own: its result under result[key] (with result_total /
// result_next for lists), its error under result_error[key]. Empty
// sections are PHP's empty array: []. With halt set, the first error stops
// the rest. Sub-calls are logged as calls of their own method (Batch set)
// so tests count creations the same way with or without batching.
func batch(c *call) (any, *apiError) {
	p := c.p
	v, _ := c.params.get("cmd")
	cmd, ok := v.(*omap)
	if !ok || len(cmd.keys) == 0 {
		return nil, &apiError{400, "ERROR_ARGUMENT", "cmd is required"}
	}
	if len(cmd.keys) > maxBatch {
		return nil, &apiError{400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded"}
	}
	halt := false
	if h, ok := c.params.get("halt"); ok {
		s, _ := toString(h)
		halt = s == "1" || strings.EqualFold(s, "true") || strings.EqualFold(s, "Y")
	}
	type sub struct {
		key, method string
		params      *omap
	}
	var subs []sub
	for _, k := range cmd.keys {
		s, _ := toString(cmd.m[k])
		method, query, _ := strings.Cut(s, "?")
		method = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(method), ".json"))
		if notInBatch[method] {
			return nil, &apiError{405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage"}
		}
		params := newOmap()
		params.addForm(query)
		subs = append(subs, sub{k, method, params})
	}
	p.batches = append(p.batches, len(subs))
	results, errs, totals, nexts := newOmap(), newOmap(), newOmap(), newOmap()
	for i, s := range subs {
		if p.batchCut >= 0 && i >= p.batchCut {
			// Injected: the portal ran this much, then the answer is lost.
			p.batchStall = true
			p.batchCut = -1
			break
		}
		res, aerr := p.runSub(s.method, s.params)
		if aerr != nil {
			errs.set(s.key, map[string]any{"error": aerr.code, "error_description": aerr.desc})
			if halt {
				break
			}
			continue
		}
		if l, ok := res.(listResult); ok {
			results.set(s.key, l.items)
			totals.set(s.key, l.total)
			if l.next > 0 {
				nexts.set(s.key, l.next)
			}
			continue
		}
		results.set(s.key, res)
	}
	return map[string]any{
		"result": section(results), "result_error": section(errs),
		"result_total": section(totals), "result_next": section(nexts), "result_time": []any{},
	}, nil
}

// runSub runs one sub-call under p.mu: injected failures first, as for a
// request of its own, then the method.
func (p *Portal) runSub(method string, params *omap) (any, *apiError) {
	rec := Call{Method: method, HTTPMethod: "BATCH", Params: plain(params).(map[string]any), Args: params.values(), Batch: true}
	for i, a := range rec.Args {
		rec.Args[i] = plain(a)
	}
	res, aerr := func() (any, *apiError) {
		h, ok := methods[method]
		if !ok {
			return nil, &apiError{404, "ERROR_METHOD_NOT_FOUND", "Method not found!"}
		}
		if f := p.fails[method]; len(f) > 0 {
			p.fails[method] = f[1:]
			return nil, &apiError{f[0].status, f[0].code, f[0].desc}
		}
		res, aerr := h(&call{p: p, params: params})
		if st := p.stalls[method]; len(st) > 0 {
			// CreateThenTimeout for a method sent inside a batch: it
			// ran, and the whole batch's answer is lost.
			p.stalls[method] = st[1:]
			p.batchStall = true
		}
		return res, aerr
	}()
	rec.Status = 200
	if aerr != nil {
		rec.Status = aerr.status
	}
	p.calls = append(p.calls, rec)
	return res, aerr
}

// section renders an omap of sub-call answers; PHP sends an empty one as
// [] (§1.7), and a list-shaped one (cmd given as an array) as an array.
func section(o *omap) any {
	if len(o.keys) == 0 {
		return []any{}
	}
	seq := true
	for i, k := range o.keys {
		if k != strconv.Itoa(i) {
			seq = false
			break
		}
	}
	if seq {
		return o.values()
	}
	m := make(map[string]any, len(o.keys))
	for _, k := range o.keys {
		m[k] = o.m[k]
	}
	return m
}

// BatchTimeoutAfter makes the next batch of more than n sub-calls run
// only its first n (the tasks they create exist) and then answer nothing
// until the client gives up: an ambiguous batch.
func (p *Portal) BatchTimeoutAfter(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.batchCut = n
}

// Batches lists the sizes of the batches run so far.
func (p *Portal) Batches() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.batches...)
}

// Hold makes every REST call wait (the portal stalls) until release is
// called; the calls then run in the order they came. Held tells how
// many wait now.
func (p *Portal) Hold() (release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := make(chan struct{})
	p.hold = ch
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.hold == ch {
			p.hold = nil
			close(ch)
		}
	}
}

// Held is how many calls are held by Hold now.
func (p *Portal) Held() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

// waitHold blocks while the portal is held; false if the client gave up.
func (p *Portal) waitHold(ctx context.Context) bool {
	p.mu.Lock()
	h := p.hold
	if h != nil {
		p.held++
	}
	p.mu.Unlock()
	if h == nil {
		return true
	}
	defer func() { p.mu.Lock(); p.held--; p.mu.Unlock() }()
	select {
	case <-h:
		return true
	case <-ctx.Done():
		return false
	case <-p.stop:
		return false
	}
}

// Budget is what the leaky bucket saw: requests admitted and refused.
func (p *Portal) Budget() (requests, refused int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.admitted, p.refused
}
