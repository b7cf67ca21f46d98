package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// target is what every run of one invocation shares.
type target struct {
	addr, label string
	from, to    string
	ehlo        string
	mode        string // "conn" or "reuse"
	timeout     time.Duration
}

// runSpec is one cell of the matrix: one size at one concurrency.
type runSpec struct {
	conc, size int
	n          int           // total messages; 0 = no count limit
	dur        time.Duration // wall-clock limit; 0 = none
}

// result is one run; it is also the -json line.
type result struct {
	Target   string         `json:"target"`
	Addr     string         `json:"addr"`
	Mode     string         `json:"mode"`
	Size     int            `json:"size"`
	Conc     int            `json:"conc"`
	Sent     int64          `json:"sent"`
	Accepted int64          `json:"accepted"`
	Failed   int64          `json:"failed"`
	Seconds  float64        `json:"seconds"`
	MsgsPerS float64        `json:"msgs_per_s"`
	P50ms    float64        `json:"p50_ms"`
	P99ms    float64        `json:"p99_ms"`
	MaxMs    float64        `json:"max_ms"`
	Errors   map[string]int `json:"errors,omitempty"`
}

// worker state that must be merged after the run.
type tally struct {
	lat    []time.Duration
	errors map[string]int
}

// run executes one matrix cell. It stops after spec.n messages were started,
// after spec.dur, or when ctx is cancelled; a message in flight is bounded by
// t.timeout, so run always returns.
func run(ctx context.Context, t target, spec runSpec) result {
	if spec.dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, spec.dur)
		defer cancel()
	}
	gen := newMsgGen(t.from, t.to, spec.size)
	var next atomic.Int64
	// claim hands out message sequence numbers; false means stop.
	claim := func() (int, bool) {
		if ctx.Err() != nil {
			return 0, false
		}
		seq := next.Add(1)
		if spec.n > 0 && seq > int64(spec.n) {
			return 0, false
		}
		return int(seq), true
	}

	tallies := make([]tally, spec.conc)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range tallies {
		tallies[i].errors = map[string]int{}
		wg.Add(1)
		go func(tl *tally) {
			defer wg.Done()
			w := &worker{t: t, gen: gen, tl: tl}
			defer w.close()
			for {
				seq, ok := claim()
				if !ok {
					return
				}
				w.send(seq)
			}
		}(&tallies[i])
	}
	wg.Wait()
	elapsed := time.Since(start)

	res := result{Target: t.label, Addr: t.addr, Mode: t.mode, Size: spec.size, Conc: spec.conc,
		Seconds: elapsed.Seconds(), Errors: map[string]int{}}
	var lat []time.Duration
	for _, tl := range tallies {
		lat = append(lat, tl.lat...)
		for k, v := range tl.errors {
			res.Errors[k] += v
			res.Failed += int64(v)
		}
	}
	res.Accepted = int64(len(lat))
	res.Sent = res.Accepted + res.Failed
	if elapsed > 0 {
		res.MsgsPerS = float64(res.Accepted) / elapsed.Seconds()
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	res.P50ms, res.P99ms = ms(percentile(lat, 0.50)), ms(percentile(lat, 0.99))
	if len(lat) > 0 {
		res.MaxMs = ms(lat[len(lat)-1])
	}
	if len(res.Errors) == 0 {
		res.Errors = nil
	}
	return res
}

// percentile uses nearest rank on sorted d.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(p*float64(len(d))+0.999999) - 1
	return d[max(0, min(i, len(d)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// worker is one SMTP session slot. In reuse mode it keeps its client between
// messages; in conn mode every message gets a fresh TCP connection.
type worker struct {
	t   target
	gen *msgGen
	tl  *tally

	c    *smtp.Client
	conn net.Conn
}

func (w *worker) close() {
	if w.c != nil {
		_ = w.c.Quit()
		_ = w.c.Close()
		w.c = nil
	}
}

// dial connects and greets; the client then owns conn.
func (w *worker) dial() (string, error) {
	conn, err := net.DialTimeout("tcp", w.t.addr, w.t.timeout)
	if err != nil {
		return "connect", err
	}
	c := smtp.NewClient(conn)
	// go-smtp sets and clears per-command deadlines itself; these bound each
	// reply wait. The whole-message watchdog in send bounds body writes.
	c.CommandTimeout = w.t.timeout
	c.SubmissionTimeout = w.t.timeout
	w.c, w.conn = c, conn
	if err := c.Hello(w.t.ehlo); err != nil {
		return "EHLO", err
	}
	return "", nil
}

// send delivers message seq and records its latency or its failure.
func (w *worker) send(seq int) {
	start := time.Now() // conn mode: latency includes connect, greeting, EHLO
	if w.c == nil {
		if stage, err := w.dial(); err != nil {
			w.fail(stage, err, false)
			return
		}
	}
	if w.t.mode == "reuse" {
		start = time.Now() // reuse mode: latency starts at MAIL
	}
	// Watchdog: go-smtp puts no deadline on body writes, so a server that
	// stops reading would hang us; closing the conn unblocks everything.
	var fired atomic.Bool
	conn := w.conn
	dog := time.AfterFunc(w.t.timeout, func() { fired.Store(true); conn.Close() })
	stage, err := w.transaction(seq)
	dog.Stop()
	if err != nil {
		w.fail(stage, err, fired.Load())
		return
	}
	w.tl.lat = append(w.tl.lat, time.Since(start))
	if w.t.mode == "conn" {
		w.close() // QUIT is outside the latency, like smtp-source
	}
}

func (w *worker) transaction(seq int) (string, error) {
	c := w.c
	if err := c.Mail(w.t.from, nil); err != nil {
		return "MAIL", err
	}
	if err := c.Rcpt(w.t.to, nil); err != nil {
		return "RCPT", err
	}
	d, err := c.Data()
	if err != nil {
		return "DATA", err
	}
	hdr, body := w.gen.message(seq)
	if _, err := d.Write(hdr); err != nil {
		return "body", err
	}
	if _, err := d.Write(body); err != nil {
		return "body", err
	}
	if _, err := d.CloseWithResponse(); err != nil {
		return "DATA-end", err
	}
	return "", nil
}

// fail counts err under "<stage> <reply code>" (or timeout/net when there is
// no reply) and leaves the worker ready for the next message: a session the
// server answered is RSET and kept in reuse mode, anything else is dropped.
func (w *worker) fail(stage string, err error, timedOut bool) {
	var se *smtp.SMTPError
	var ne net.Error
	key := stage + " net"
	switch {
	case timedOut || errors.As(err, &ne) && ne.Timeout():
		key = stage + " timeout"
	case errors.As(err, &se):
		key = fmt.Sprintf("%s %d", stage, se.Code)
	}
	w.tl.errors[key]++
	if w.c == nil {
		return
	}
	// go-smtp's Reset makes the next command re-send EHLO, so RSET is used
	// only to recover from a refused transaction, not between good ones.
	if w.t.mode == "reuse" && se != nil && !timedOut && stage != "EHLO" && w.c.Reset() == nil {
		return
	}
	_ = w.c.Close()
	w.c = nil
}
