// Command loadbench is the "real time under load" scenario of make bench
// (issue 8): supportgate in-process against the fake Bitrix24 portal at
// its real budget (a leaky bucket of 2 requests/s, burst 50, a batch
// counting as one), with loopback SMTP sinks as the team's mailbox and
// the smarthost.
//
//   - burst: 1,000 messages of 4 KB from one client IP over 20 sessions
//     (per-client limits lifted, as for a company relay), wait_for_task
//     1s; a specialist's comment made while the tasks back up;
//   - steady: 10 messages/s for two minutes (-steady to shorten).
//
// It reports, from each message's 250: forward and auto-reply latency
// p50/p99, the time until every task is filed and tasks/s, the portal
// requests made and refused, the specialist comment's time to the
// customer, and whether any task, comment or mail came twice (exit status
// 1 if so). Everything listens on 127.0.0.1 only.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"supportgate/bitrix/bitrixtest"
	"supportgate/gateway"
	"supportgate/rules"
)

const (
	mailbox  = "support@bench.test"
	appToken = "bench-token"
	vip      = "vip@cust.bench"
)

type options struct {
	n, sessions, size int
	rate              float64
	steady            time.Duration
	wait              time.Duration
	portalRate        float64
	portalBurst       int
	timeout           time.Duration
	asJSON            bool
	runBurst          bool
	runSteady         bool
	verbose           bool
	workers           int
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 1000, "messages in the burst")
	flag.IntVar(&o.sessions, "c", 20, "SMTP sessions (one client IP)")
	flag.IntVar(&o.size, "size", 4096, "message size in bytes")
	flag.Float64Var(&o.rate, "rate", 10, "steady run: messages per second")
	flag.DurationVar(&o.steady, "steady", 2*time.Minute, "steady run length (0 skips it)")
	flag.DurationVar(&o.wait, "wait", time.Second, "[autoreply] wait_for_task")
	flag.Float64Var(&o.portalRate, "portal-rate", 2, "the fake portal's leak rate, requests/s")
	flag.IntVar(&o.portalBurst, "portal-burst", 50, "the fake portal's bucket size")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up waiting for a run's tasks and mail after this")
	flag.BoolVar(&o.asJSON, "json", false, "print each run's report as one JSON line")
	flag.IntVar(&o.workers, "workers", rules.Defaults().Queue.Workers, "[queue] workers")
	flag.BoolVar(&o.verbose, "v", false, "gateway log at info level on stderr (default: warnings)")
	skipBurst := flag.Bool("no-burst", false, "skip the burst run")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the runs to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadbench:", err)
			os.Exit(2)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	o.runBurst, o.runSteady = !*skipBurst, o.steady > 0
	failed := false
	if o.runBurst {
		r, err := run(o, "burst")
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadbench burst:", err)
			os.Exit(2)
		}
		failed = r.print(o) || failed
	}
	if o.runSteady {
		r, err := run(o, "steady")
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadbench steady:", err)
			os.Exit(2)
		}
		failed = r.print(o) || failed
	}
	if failed {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// rig is one gateway with its portal and sinks.
type rig struct {
	dir    string
	portal *bitrixtest.Portal
	g      *gateway.Gateway
	up     *sink // the team's mailbox: forwards
	out    *sink // the smarthost: auto-replies, notifications
}

func newRig(o options) (*rig, error) {
	dir, err := os.MkdirTemp("", "loadbench")
	if err != nil {
		return nil, err
	}
	r := &rig{dir: dir}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.portal = bitrixtest.Listen(ln, bitrixtest.Options{UserID: 1, FolderID: 11, RateBurst: o.portalBurst, RatePerSec: o.portalRate})
	r.portal.AddUser(7, "Ольга Смирнова", "olga@bench.test")
	if r.up, err = startSink(); err != nil {
		return nil, err
	}
	if r.out, err = startSink(); err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`
[smtp]
listen = "127.0.0.1:0"
hostname = "bench.test"
max_message_bytes = 10485760
max_messages_per_sender = 0
max_connections_per_ip = 1000
max_connections_per_minute = 0
max_messages_per_connection = 0
max_messages_per_ip = 0

[http]
listen = "127.0.0.1:0"

[console]
listen = "127.0.0.1:0"

[storage]
dir = %q

[upstream]
address = %q

[outbound]
address = %q
tls = "none"

[queue]
workers = %d

[[mailbox]]
address = %q
forward_to = ["team@mail.bench.test"]

[autoreply]
wait_for_task = %q
max_per_sender = 0
max_per_client = 0

[auth]
autoreply = "off"

[bitrix]
webhook_url = %q
responsible_id = 7
application_token = %q
poll_interval = "1h"
rate_per_second = %g
burst = %d

[log]
level = "info"
`, filepath.Join(dir, "state"), r.up.addr, r.out.addr, o.workers, mailbox, o.wait.String(), r.portal.WebhookURL(), appToken, o.portalRate, o.portalBurst)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	c, err := rules.Load(path)
	if err != nil {
		return nil, err
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if r.g, err = gateway.New(c, log); err != nil {
		return nil, err
	}
	if err := r.g.Start(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rig) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.g.Stop(ctx)
	r.portal.Close()
	r.up.close()
	r.out.close()
	os.RemoveAll(r.dir)
}

// msg is one message of a run, by index.
type msg struct {
	id, from, subject string
	accepted          time.Time
}

func makeMsg(run string, i, size int) (msg, []byte) {
	m := msg{id: fmt.Sprintf("%s-%d@cust.bench", run, i), from: fmt.Sprintf("c%d-%s@cust.bench", i, run),
		subject: fmt.Sprintf("bench %s %d", run, i)}
	return m, body(m, size)
}

func body(m msg, size int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Customer <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		m.from, mailbox, m.subject, m.id, time.Now().Format(time.RFC1123Z))
	line := "Здравствуйте! Не печатает принтер в бухгалтерии, помогите.\r\n"
	for b.Len() < size-len(line) {
		b.WriteString(line)
	}
	return []byte(b.String())
}

// sender is one SMTP session that sends many messages (MAIL per message).
type sender struct {
	addr string
	c    *smtp.Client
}

func (s *sender) send(from string, data []byte) error {
	if s.c == nil {
		c, err := smtp.Dial(s.addr)
		if err != nil {
			return err
		}
		if err := c.Hello("relay.cust.bench"); err != nil {
			c.Close()
			return err
		}
		s.c = c
	}
	err := func() error {
		if err := s.c.Mail(from, nil); err != nil {
			return err
		}
		if err := s.c.Rcpt(mailbox, nil); err != nil {
			return err
		}
		w, err := s.c.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
		return w.Close()
	}()
	if err != nil {
		s.c.Close()
		s.c = nil
	}
	return err
}

func (s *sender) close() {
	if s.c != nil {
		s.c.Quit()
	}
}

// taskWatch records when each task title first shows up on the portal.
type taskWatch struct {
	mu    sync.Mutex
	first map[string]time.Time
	count map[string]int
	ids   map[string]int64
}

func watchTasks(ctx context.Context, p *bitrixtest.Portal) *taskWatch {
	w := &taskWatch{first: map[string]time.Time{}, count: map[string]int{}, ids: map[string]int64{}}
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			now := time.Now()
			tasks := p.Tasks()
			w.mu.Lock()
			clear(w.count)
			for _, tk := range tasks {
				if _, ok := w.first[tk.Title]; !ok {
					w.first[tk.Title] = now
					w.ids[tk.Title] = tk.ID
				}
				w.count[tk.Title]++
			}
			w.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *taskWatch) seen(title string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at, ok := w.first[title]
	return at, ok
}

// report is one run's figures.
type report struct {
	Run             string  `json:"run"`
	Messages        int     `json:"messages"`
	Accepted        int     `json:"accepted"`
	AcceptSeconds   float64 `json:"accept_s"`
	ForwardP50      float64 `json:"forward_p50_s"`
	ForwardP99      float64 `json:"forward_p99_s"`
	Forwarded       int     `json:"forwarded"`
	AutoReplyP50    float64 `json:"autoreply_p50_s"`
	AutoReplyP99    float64 `json:"autoreply_p99_s"`
	AutoReplies     int     `json:"autoreplies"`
	WithTaskNumber  int     `json:"autoreplies_with_task_number"`
	TaskP50         float64 `json:"task_p50_s"`
	TaskP99         float64 `json:"task_p99_s"`
	Tasks           int     `json:"tasks"`
	AllTasksAfter   float64 `json:"all_tasks_after_last_250_s"`
	TasksPerSecond  float64 `json:"tasks_per_s"`
	Requests        int     `json:"portal_requests"`
	Refused         int     `json:"portal_refused"`
	Batches         int     `json:"batches"`
	MeanBatch       float64 `json:"mean_batch_calls"`
	CommentSeconds  float64 `json:"specialist_comment_s,omitempty"`
	CommentBacklog  int     `json:"tasks_pending_at_comment,omitempty"`
	DupTasks        int     `json:"duplicate_tasks"`
	DupForwards     int     `json:"duplicate_forwards"`
	DupAutoReplies  int     `json:"duplicate_autoreplies"`
	DupNotification int     `json:"duplicate_notifications"`
	DupComments     int     `json:"duplicate_comments"`
	Missing         int     `json:"missing"`
	WaitForTask     float64 `json:"wait_for_task_s"`
	// WithFiles: tasks of the run whose files (at least the .eml) were
	// attached when its forwards, replies and tasks were all in; uploads
	// go on after, at the budget's pace (they cannot be batched).
	WithFiles int `json:"tasks_with_files_at_end"`
}

func run(o options, kind string) (*report, error) {
	r, err := newRig(o)
	if err != nil {
		return nil, err
	}
	defer r.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tw := watchTasks(ctx, r.portal)
	rep := &report{Run: kind, WaitForTask: o.wait.Seconds()}

	// The customer whose specialist answers during the backlog writes
	// first, so the task exists.
	vm := msg{id: "vip-1@cust.bench", from: vip, subject: "bench vip " + kind}
	vs := &sender{addr: r.g.SMTPAddr()}
	if err := vs.send(vm.from, body(vm, o.size)); err != nil {
		return nil, fmt.Errorf("vip message: %w", err)
	}
	vs.close()
	var vipTask int64
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && vipTask == 0; time.Sleep(20 * time.Millisecond) {
		tw.mu.Lock()
		vipTask = tw.ids[vm.subject]
		tw.mu.Unlock()
	}
	if vipTask == 0 {
		return nil, fmt.Errorf("the first task never came")
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && r.out.count() < 1; time.Sleep(20 * time.Millisecond) {
	}
	r.portal.ResetCalls()
	req0, ref0 := r.portal.Budget()
	batches0 := len(r.portal.Batches())

	n := o.n
	if kind == "steady" {
		n = int(o.rate * o.steady.Seconds())
	}
	msgs := make([]msg, n)
	datas := make([][]byte, n)
	for i := range n {
		msgs[i], datas[i] = makeMsg(kind, i, o.size)
	}
	var mu sync.Mutex
	accepted := 0
	var first, last time.Time
	work := make(chan int, n)
	var wg sync.WaitGroup
	for range o.sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &sender{addr: r.g.SMTPAddr()}
			defer s.close()
			for i := range work {
				if err := s.send(msgs[i].from, datas[i]); err != nil {
					fmt.Fprintf(os.Stderr, "loadbench: message %d: %v\n", i, err)
					continue
				}
				now := time.Now()
				mu.Lock()
				msgs[i].accepted = now
				accepted++
				if first.IsZero() || now.Before(first) {
					first = now
				}
				if now.After(last) {
					last = now
				}
				mu.Unlock()
			}
		}()
	}
	if kind == "burst" {
		for i := range n {
			work <- i
		}
	} else {
		tick := time.NewTicker(time.Duration(float64(time.Second) / o.rate))
		for i := range n {
			<-tick.C
			work <- i
		}
		tick.Stop()
	}
	close(work)
	wg.Wait()
	rep.Messages, rep.Accepted = n, accepted
	rep.AcceptSeconds = last.Sub(first).Seconds()

	// The specialist answers while the tasks back up.
	var commentAt time.Time
	if kind == "burst" {
		time.Sleep(time.Second)
		tw.mu.Lock()
		filed := len(tw.first) - 1
		tw.mu.Unlock()
		rep.CommentBacklog = n - filed
		cid := r.portal.AddSpecialistComment(vipTask, 7, "Замените картридж, пожалуйста.", nil)
		commentAt = time.Now()
		resp, err := r.portal.FireCommentEvent("http://"+r.g.HTTPAddr()+"/bitrix/event", appToken, vipTask, cid)
		if err != nil {
			return nil, fmt.Errorf("comment event: %w", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	// Wait for every forward, auto-reply and task (bounded).
	done := func() bool {
		if r.up.count() < accepted+1 || r.out.count() < accepted+1 {
			return false
		}
		if !commentAt.IsZero() && r.out.count() < accepted+2 {
			return false
		}
		for _, m := range msgs {
			if _, ok := tw.seen(m.subject); !ok && !m.accepted.IsZero() {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(o.timeout); time.Now().Before(deadline) && !done(); time.Sleep(50 * time.Millisecond) {
	}
	time.Sleep(500 * time.Millisecond) // a duplicate would come right behind

	fwdAt := map[string][]time.Time{}
	for _, g := range r.up.all() {
		fwdAt[g.messageID] = append(fwdAt[g.messageID], g.at)
	}
	ours := map[string]bool{}
	for _, m := range msgs {
		ours[m.id] = true
	}
	arAt := map[string][]time.Time{}
	notes := 0
	var noteAt time.Time
	for _, g := range r.out.all() {
		if g.autoReply {
			arAt[g.inReplyTo] = append(arAt[g.inReplyTo], g.at)
			if g.taskLink && ours[g.inReplyTo] {
				rep.WithTaskNumber++
			}
		} else if slices.Contains(g.rcpts, vip) {
			notes++
			if noteAt.IsZero() {
				noteAt = g.at
			}
		}
	}
	var fwd, ar, tk []float64
	var lastTask time.Time
	for _, m := range msgs {
		if m.accepted.IsZero() {
			continue
		}
		if ts := fwdAt[m.id]; len(ts) > 0 {
			fwd = append(fwd, ts[0].Sub(m.accepted).Seconds())
			rep.DupForwards += len(ts) - 1
		} else {
			rep.Missing++
		}
		if ts := arAt[m.id]; len(ts) > 0 {
			ar = append(ar, ts[0].Sub(m.accepted).Seconds())
			rep.DupAutoReplies += len(ts) - 1
		} else {
			rep.Missing++
		}
		if at, ok := tw.seen(m.subject); ok {
			tk = append(tk, at.Sub(m.accepted).Seconds())
			if at.After(lastTask) {
				lastTask = at
			}
		} else {
			rep.Missing++
		}
	}
	tw.mu.Lock()
	for _, c := range tw.count {
		if c > 1 {
			rep.DupTasks += c - 1
		}
	}
	tw.mu.Unlock()
	rep.Forwarded, rep.AutoReplies, rep.Tasks = len(fwd), len(ar), len(tk)
	subjects := map[string]bool{}
	for _, m := range msgs {
		subjects[m.subject] = true
	}
	for _, t := range r.portal.Tasks() {
		if subjects[t.Title] && len(t.Files) > 0 {
			rep.WithFiles++
		}
	}
	rep.ForwardP50, rep.ForwardP99 = pct(fwd, 50), pct(fwd, 99)
	rep.AutoReplyP50, rep.AutoReplyP99 = pct(ar, 50), pct(ar, 99)
	rep.TaskP50, rep.TaskP99 = pct(tk, 50), pct(tk, 99)
	if !lastTask.IsZero() {
		rep.AllTasksAfter = lastTask.Sub(last).Seconds()
		if d := lastTask.Sub(first).Seconds(); d > 0 {
			rep.TasksPerSecond = float64(len(tk)) / d
		}
	}
	req, ref := r.portal.Budget()
	rep.Requests, rep.Refused = req-req0, ref-ref0
	sizes := r.portal.Batches()[batches0:]
	rep.Batches = len(sizes)
	total := 0
	for _, s := range sizes {
		total += s
	}
	if len(sizes) > 0 {
		rep.MeanBatch = float64(total) / float64(len(sizes))
	}
	if !commentAt.IsZero() {
		if !noteAt.IsZero() {
			rep.CommentSeconds = noteAt.Sub(commentAt).Seconds()
		} else {
			rep.Missing++
		}
		rep.DupNotification = max(0, notes-1)
		// Only the specialist's comment may be on the task: we added none.
		rep.DupComments = max(0, len(r.portal.Comments(vipTask))-1)
	}
	return rep, nil
}

// pct is the p-th percentile of xs (nearest rank).
func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// print writes the report; it returns true when something came twice or
// never came (the bench's correctness failure).
func (r *report) print(o options) bool {
	bad := r.DupTasks+r.DupForwards+r.DupAutoReplies+r.DupNotification+r.DupComments+r.Missing > 0
	if o.asJSON {
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
		return bad
	}
	ok := func(b bool) string {
		if b {
			return "ok"
		}
		return "MISSED"
	}
	fmt.Printf("== %s: %d messages of %d B over %d sessions (accepted %d in %.1fs), wait_for_task %gs, portal %g req/s burst %d\n",
		r.Run, r.Messages, o.size, o.sessions, r.Accepted, r.AcceptSeconds, r.WaitForTask, o.portalRate, o.portalBurst)
	fmt.Printf("forward latency     p50 %6.3fs  p99 %6.3fs  (%d)   target p99 < 1s: %s\n", r.ForwardP50, r.ForwardP99, r.Forwarded, ok(r.ForwardP99 < 1))
	fmt.Printf("auto-reply latency  p50 %6.3fs  p99 %6.3fs  (%d, %d with the task number)   target p99 < %gs: %s\n",
		r.AutoReplyP50, r.AutoReplyP99, r.AutoReplies, r.WithTaskNumber, r.WaitForTask+1, ok(r.AutoReplyP99 < r.WaitForTask+1))
	fmt.Printf("task filed          p50 %6.3fs  p99 %6.3fs  (%d)\n", r.TaskP50, r.TaskP99, r.Tasks)
	fmt.Printf("all tasks filed %.1fs after the last 250, %.1f tasks/s   target <= 60s: %s\n", r.AllTasksAfter, r.TasksPerSecond, ok(r.AllTasksAfter <= 60))
	fmt.Printf("portal: %d requests, %d refused, %d batches of %.1f calls on average\n", r.Requests, r.Refused, r.Batches, r.MeanBatch)
	fmt.Printf("files: %d of %d tasks had theirs attached by then (uploads follow the tasks, one request each)\n", r.WithFiles, r.Tasks)
	if r.Run == "burst" {
		fmt.Printf("specialist comment (made with %d tasks still to file) mailed after %.2fs   target <= 5s: %s\n",
			r.CommentBacklog, r.CommentSeconds, ok(r.CommentSeconds > 0 && r.CommentSeconds <= 5))
	}
	fmt.Printf("duplicates: tasks %d, forwards %d, auto-replies %d, notifications %d, comments %d; missing %d   %s\n",
		r.DupTasks, r.DupForwards, r.DupAutoReplies, r.DupNotification, r.DupComments, r.Missing, ok(!bad))
	return bad
}
