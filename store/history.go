package store

import (
	"encoding/json"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The operator's history (issue 12): one record per accepted message,
// kept [console] keep_days after the message itself is gone, so that
// "did Ivanov's mail get an answer, and why not?" has an answer without
// grepping logs. Records are written in transactions the pipeline and the
// queue already make (the process job's finish, each job's finish), never
// on the SMTP accept path, and read in View transactions.
var (
	bucketHistory   = []byte("history")   // message id (time-ordered) → History
	bucketHistReply = []byte("histreply") // message id → the auto-reply as sent
	bucketHistOut   = []byte("histout")   // outbound message id → message id it answers
)

// History is what the console shows of one message.
type History struct {
	ID       string    `json:"id"`
	Received time.Time `json:"received"`
	// Channel is how the message came: "mail" (SMTP) unless the
	// message record says otherwise (web appeals, issue 9).
	Channel   string   `json:"channel,omitempty"`
	From      string   `json:"from,omitempty"`     // the author (From:, else the envelope)
	Envelope  string   `json:"envelope,omitempty"` // MAIL FROM
	To        []string `json:"to,omitempty"`       // the envelope recipients
	Subject   string   `json:"subject,omitempty"`  // decoded
	MessageID string   `json:"message_id,omitempty"`
	ClientIP  string   `json:"client_ip,omitempty"`
	// Decision is reply, no-reply, duplicate, journal or error (not
	// processed); Reason the rules' reason code (README table).
	Decision string `json:"decision,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Task     string `json:"task,omitempty"` // the task action: create, comment, none
	Thread   string `json:"thread,omitempty"`
	// Header is the message's header block (capped), for its page after
	// the body is gone.
	Header string `json:"header,omitempty"`
	// Done holds the finished jobs of the message by kind: the jobs
	// themselves are deleted when they finish.
	Done map[string]Outcome `json:"done,omitempty"`
	// The auto-reply: its outbound message, when it was queued and when
	// the smarthost took it.
	ReplyID     string    `json:"reply_id,omitempty"`
	ReplyQueued time.Time `json:"reply_queued,omitempty"`
	ReplySent   time.Time `json:"reply_sent,omitempty"`
}

// Outcome is how a job ended.
type Outcome struct {
	State    string    `json:"state"` // done, failed, dropped
	Created  time.Time `json:"created,omitempty"`
	At       time.Time `json:"at"`
	Attempts int       `json:"attempts,omitempty"`
	Error    string    `json:"error,omitempty"`
	By       string    `json:"by,omitempty"` // who dropped it
}

// Terminal job states kept in History.Done (live jobs are Queued,
// Running or Held).
const (
	Done    = "done"
	Failed  = "failed"
	Dropped = "dropped"
)

// maxHeader caps the header block kept per record.
const maxHeader = 16 << 10

// RecordHistory writes h in the caller's transaction (the process job's
// finish), keeping the outcomes of jobs that finished before it.
func RecordHistory(tx *bolt.Tx, h *History) error {
	b := tx.Bucket(bucketHistory)
	if old := getHistory(b, h.ID); old != nil {
		if h.Done == nil {
			h.Done = map[string]Outcome{}
		}
		for k, v := range old.Done {
			if _, ok := h.Done[k]; !ok {
				h.Done[k] = v
			}
		}
		if h.ReplyID == "" {
			h.ReplyID, h.ReplyQueued, h.ReplySent = old.ReplyID, old.ReplyQueued, old.ReplySent
		}
	}
	if h.Channel == "" {
		h.Channel = channelOf(tx, h.ID)
	}
	if len(h.Header) > maxHeader {
		h.Header = h.Header[:maxHeader]
	}
	return putJSON(b, []byte(h.ID), h)
}

// NoteReply records, in the auto-reply job's transaction, the outbound
// message that answers msgID and keeps its body: the reply as sent, for
// the console, after the spool copy is gone.
func NoteReply(tx *bolt.Tx, msgID, outID string, body []byte) error {
	if err := tx.Bucket(bucketHistOut).Put([]byte(outID), []byte(msgID)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketHistReply).Put([]byte(msgID), body); err != nil {
		return err
	}
	b := tx.Bucket(bucketHistory)
	h := getHistory(b, msgID)
	if h == nil {
		h = &History{ID: msgID, Received: time.Now()}
	}
	h.ReplyID, h.ReplyQueued = outID, time.Now()
	return putJSON(b, []byte(msgID), h)
}

func getHistory(b *bolt.Bucket, id string) *History {
	v := b.Get([]byte(id))
	if v == nil {
		return nil
	}
	var h History
	if json.Unmarshal(v, &h) != nil {
		return nil
	}
	return &h
}

// historyFinish notes a finished job in its message's record, inside the
// finishing transaction (Finish): m is the job's message.
func historyFinish(tx *bolt.Tx, j *Job, m *Message, o Outcome) error {
	b := tx.Bucket(bucketHistory)
	if m.Outbound {
		orig := tx.Bucket(bucketHistOut).Get([]byte(m.ID))
		if orig == nil {
			return nil // not an auto-reply: a notification, a DSN
		}
		h := getHistory(b, string(orig))
		if h == nil {
			return nil
		}
		if o.State == Done {
			h.ReplySent = o.At
		}
		setOutcome(h, j.Kind, o)
		return putJSON(b, []byte(h.ID), h)
	}
	h := getHistory(b, m.ID)
	if h == nil {
		// The forward may finish before the process job writes the
		// record: start it, the process job fills it in.
		h = &History{ID: m.ID, Received: m.Received}
	}
	setOutcome(h, j.Kind, o)
	return putJSON(b, []byte(h.ID), h)
}

func setOutcome(h *History, kind string, o Outcome) {
	if h.Done == nil {
		h.Done = map[string]Outcome{}
	}
	h.Done[kind] = o
}

// MarkFailed corrects the outcome of a job that the queue gave up on
// (Finish recorded it done; the queue's observer knows better). Rare: one
// extra write per job failed for good.
func (s *Store) MarkFailed(j *Job, errText string) error {
	return s.Update(func(tx *bolt.Tx) error {
		id := j.MsgID
		if id == "" {
			return nil
		}
		reply := false
		if orig := tx.Bucket(bucketHistOut).Get([]byte(id)); orig != nil {
			id, reply = string(orig), true
		}
		b := tx.Bucket(bucketHistory)
		h := getHistory(b, id)
		if h == nil {
			return nil
		}
		if reply {
			h.ReplySent = time.Time{} // it never reached the smarthost
		}
		setOutcome(h, j.Kind, Outcome{State: Failed, Created: j.Created, At: time.Now(), Attempts: j.Attempts, Error: errText})
		return putJSON(b, []byte(id), h)
	})
}

// PruneHistory deletes the records of messages received before cutoff,
// with their kept replies (the janitor, beside the dedup keys).
func (s *Store) PruneHistory(cutoff time.Time) (int, error) {
	var old []*History
	err := s.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketHistory).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var h History
			if json.Unmarshal(v, &h) != nil {
				old = append(old, &History{ID: string(k)})
				continue
			}
			if !h.Received.Before(cutoff) {
				break // keys are time-ordered: the rest is newer
			}
			old = append(old, &History{ID: h.ID, ReplyID: h.ReplyID})
		}
		return nil
	})
	if err != nil || len(old) == 0 {
		return 0, err
	}
	return len(old), s.Update(func(tx *bolt.Tx) error {
		for _, h := range old {
			for _, d := range []struct {
				b []byte
				k string
			}{{bucketHistory, h.ID}, {bucketHistReply, h.ID}, {bucketHistOut, h.ReplyID}} {
				if d.k == "" {
					continue
				}
				if err := tx.Bucket(d.b).Delete([]byte(d.k)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// JobView is one job of a message as the console shows it: live (queued,
// running, held: from the queue) or finished (from the record).
type JobView struct {
	ID        uint64    `json:"id,omitempty"` // 0 once finished
	Kind      string    `json:"kind"`
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	Created   time.Time `json:"created,omitempty"`
	NextRun   time.Time `json:"next_run,omitempty"`
	At        time.Time `json:"at,omitempty"` // when it finished
	LastError string    `json:"last_error,omitempty"`
	By        string    `json:"by,omitempty"`
}

// Live reports whether the job is still in the queue.
func (j JobView) Live() bool { return j.ID != 0 }

// Retrying: queued again after a failed attempt.
func (j JobView) Retrying() bool { return j.State == Queued && j.LastError != "" && j.Attempts > 0 }

// Entry is a record with its jobs and its thread's task.
type Entry struct {
	History
	Jobs   []JobView
	TaskID int64
	// Kept: the original is still in the spool (downloadable).
	Kept bool
}

// Job returns the entry's job of kind (the reply's send job is "send").
func (e *Entry) Job(kind string) *JobView {
	for i := range e.Jobs {
		if e.Jobs[i].Kind == kind {
			return &e.Jobs[i]
		}
	}
	return nil
}

// StateOf is the summary state of the entry's job of kind: "" when it has
// none, else queued, running, retrying, held, done, failed or dropped.
func (e *Entry) StateOf(kind string) string {
	j := e.Job(kind)
	if j == nil {
		return ""
	}
	if j.Retrying() {
		return "retrying"
	}
	return j.State
}

// liveJobs indexes the queue by message.
func liveJobs(tx *bolt.Tx) map[string][]*Job {
	out := map[string][]*Job{}
	tx.Bucket(bucketJobs).ForEach(func(k, v []byte) error {
		var j Job
		if json.Unmarshal(v, &j) == nil && j.MsgID != "" {
			out[j.MsgID] = append(out[j.MsgID], &j)
		}
		return nil
	})
	return out
}

func entryOf(tx *bolt.Tx, h *History, live map[string][]*Job) *Entry {
	e := &Entry{History: *h}
	seen := map[string]bool{}
	add := func(jobs []*Job) {
		for _, j := range jobs {
			seen[j.Kind] = true
			e.Jobs = append(e.Jobs, JobView{ID: j.ID, Kind: j.Kind, State: j.State, Attempts: j.Attempts,
				Created: j.Created, NextRun: j.NextRun, LastError: j.LastError})
		}
	}
	add(live[h.ID])
	if h.ReplyID != "" {
		add(live[h.ReplyID])
	}
	for _, k := range sortedKinds(h.Done) {
		if seen[k] {
			continue
		}
		o := h.Done[k]
		e.Jobs = append(e.Jobs, JobView{Kind: k, State: o.State, Attempts: o.Attempts, Created: o.Created, At: o.At, LastError: o.Error, By: o.By})
	}
	if h.Thread != "" {
		if t, _ := GetThread(tx, h.Thread); t != nil {
			e.TaskID = t.TaskID
		}
	}
	e.Kept = tx.Bucket(bucketMsgs).Get([]byte(h.ID)) != nil
	return e
}

// kindOrder is the order jobs are listed in: the message's way through.
var kindOrder = []string{"forward", "process", "task", "comment", "autoreply", "send"}

func sortedKinds(m map[string]Outcome) []string {
	var out []string
	for _, k := range kindOrder {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	for k := range m {
		known := false
		for _, o := range kindOrder {
			known = known || o == k
		}
		if !known {
			out = append(out, k)
		}
	}
	return out
}

// HistoryFilter selects records. Empty fields match everything.
type HistoryFilter struct {
	Address string // a substring of From, the envelope sender or a recipient
	Reason  string // a reason code, exactly
	// State: "pending" (a job in the queue), "retrying", "held",
	// "failed" (a job failed for good or dropped), "done" (all finished
	// well).
	State   string
	Subject string    // a substring of the subject, case-insensitive
	Since   time.Time // received at or after
	Until   time.Time // received before
}

// Match reports whether the entry passes the filter.
func (f HistoryFilter) Match(e *Entry) bool {
	return f.matchRecord(&e.History) && f.matchState(e)
}

// matchRecord is the part of the filter the record alone decides: it
// runs before the record's jobs and thread are looked up.
func (f HistoryFilter) matchRecord(e *History) bool {
	if a := strings.ToLower(strings.TrimSpace(f.Address)); a != "" {
		hit := strings.Contains(strings.ToLower(e.From), a) || strings.Contains(strings.ToLower(e.Envelope), a)
		for _, t := range e.To {
			hit = hit || strings.Contains(strings.ToLower(t), a)
		}
		if !hit {
			return false
		}
	}
	if f.Reason != "" && e.Reason != f.Reason {
		return false
	}
	if s := strings.ToLower(strings.TrimSpace(f.Subject)); s != "" && !strings.Contains(strings.ToLower(e.Subject), s) {
		return false
	}
	if !f.Since.IsZero() && e.Received.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !e.Received.Before(f.Until) {
		return false
	}
	return true
}

func (f HistoryFilter) matchState(e *Entry) bool {
	if f.State == "" {
		return true
	}
	has := func(pred func(JobView) bool) bool {
		for _, j := range e.Jobs {
			if pred(j) {
				return true
			}
		}
		return false
	}
	switch f.State {
	case "pending":
		return has(func(j JobView) bool { return j.Live() && j.State != Held })
	case "retrying":
		return has(func(j JobView) bool { return j.Retrying() })
	case "held":
		return has(func(j JobView) bool { return j.State == Held })
	case "failed":
		return has(func(j JobView) bool { return j.State == Failed || j.State == Dropped })
	case "done":
		return !has(func(j JobView) bool { return j.State != Done })
	}
	return false
}

// Page bounds: a page holds at most MaxPage records, and one query reads
// at most MaxScan records (a filter matching little cannot make a
// request walk the whole history: the page then ends early, with a
// cursor to go on from).
const (
	DefaultPage = 50
	MaxPage     = 200
	MaxScan     = 5000
)

// PageSize bounds a requested page size.
func PageSize(n int) int {
	switch {
	case n <= 0:
		return DefaultPage
	case n > MaxPage:
		return MaxPage
	}
	return n
}

// HistoryPage is one page of records, newest first; Next is the cursor
// for the following (older) page, "" at the end.
type HistoryPage struct {
	Entries []*Entry
	Next    string
}

// ListHistory reads up to limit records older than the cursor before
// ("" for the newest) that pass f, in one read transaction.
func (s *Store) ListHistory(f HistoryFilter, before string, limit int) (*HistoryPage, error) {
	limit = PageSize(limit)
	p := &HistoryPage{}
	err := s.View(func(tx *bolt.Tx) error {
		live := liveJobs(tx)
		c := tx.Bucket(bucketHistory).Cursor()
		var k, v []byte
		if before == "" {
			k, v = c.Last()
		} else {
			k, v = c.Seek([]byte(before))
			if k == nil {
				k, v = c.Last()
			}
			if k != nil && string(k) >= before {
				k, v = c.Prev()
			}
		}
		for scanned := 0; k != nil; k, v = c.Prev() {
			if scanned == MaxScan || len(p.Entries) == limit {
				// The cursor is exclusive: the record at k comes next.
				p.Next = nextAfter(k)
				return nil
			}
			scanned++
			var h History
			if json.Unmarshal(v, &h) != nil {
				continue
			}
			if !f.Since.IsZero() && h.Received.Before(f.Since) {
				return nil // older ones are older still
			}
			if !f.matchRecord(&h) {
				continue
			}
			if e := entryOf(tx, &h, live); f.matchState(e) {
				p.Entries = append(p.Entries, e)
			}
		}
		return nil
	})
	return p, err
}

// nextAfter is the smallest key greater than k: a cursor that lists k
// first (the list is read backwards from below the cursor).
func nextAfter(k []byte) string { return string(k) + "\x00" }

// GetEntry reads one record with its jobs; nil when unknown.
func (s *Store) GetEntry(id string) (*Entry, error) {
	var e *Entry
	err := s.View(func(tx *bolt.Tx) error {
		h := getHistory(tx.Bucket(bucketHistory), id)
		if h == nil {
			return nil
		}
		e = entryOf(tx, h, liveJobs(tx))
		return nil
	})
	return e, err
}

// SentReply is the auto-reply sent for message id, as it went (nil when
// none was sent, or it is pruned).
func (s *Store) SentReply(id string) ([]byte, error) {
	var out []byte
	err := s.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketHistReply).Get([]byte(id)); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out, err
}

// ThreadView is a thread with its messages, in and out.
type ThreadView struct {
	Thread *Thread
	// Entries: the customer's messages we have records of, oldest first.
	Entries []*Entry
	// IDs: the thread's Message-IDs we keep (capped), with how each came
	// (in, auto, notify = a specialist's comment mailed, journal).
	IDs []ThreadID
}

// ThreadID is one Message-ID of a thread and its kind.
type ThreadID struct{ ID, Kind string }

// GetThreadView reads thread id and the records that belong to it,
// scanning at most MaxScan records back from the newest.
func (s *Store) GetThreadView(id string) (*ThreadView, error) {
	var tv *ThreadView
	err := s.View(func(tx *bolt.Tx) error {
		t, err := GetThread(tx, id)
		if err != nil || t == nil {
			return err
		}
		tv = &ThreadView{Thread: t}
		live := liveJobs(tx)
		c := tx.Bucket(bucketHistory).Cursor()
		n := 0
		for k, v := c.Last(); k != nil && n < MaxScan; k, v = c.Prev() {
			n++
			var h History
			if json.Unmarshal(v, &h) != nil || h.Thread != id {
				continue
			}
			tv.Entries = append([]*Entry{entryOf(tx, &h, live)}, tv.Entries...)
			if h.Received.Before(t.Created.Add(-time.Minute)) {
				break
			}
		}
		for _, r := range t.References {
			kind := ""
			if e, _ := LookupID(tx, r); e != nil {
				kind = e.Kind
			}
			tv.IDs = append(tv.IDs, ThreadID{ID: r, Kind: kind})
		}
		return nil
	})
	return tv, err
}

// Series are per-hour counts for the console's pictures.
type Series struct {
	Start time.Time // the first hour
	Hours int
	// ByDecision: decision → count per hour.
	ByDecision map[string][]int
	// ReplyLatency: per hour, the seconds from accept to the smarthost's
	// 250 of each auto-reply sent in that hour.
	ReplyLatency [][]float64
}

// HourlySeries counts the records of the hours hours before now.
func (s *Store) HourlySeries(now time.Time, hours int) (*Series, error) {
	end := now.Truncate(time.Hour).Add(time.Hour)
	st := &Series{Start: end.Add(-time.Duration(hours) * time.Hour), Hours: hours,
		ByDecision: map[string][]int{}, ReplyLatency: make([][]float64, hours)}
	err := s.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketHistory).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			// Only the fields counted: decoding the rest (the header)
			// for a week of records is what would make this slow.
			var h struct {
				Received  time.Time `json:"received"`
				Decision  string    `json:"decision"`
				ReplySent time.Time `json:"reply_sent"`
			}
			if json.Unmarshal(v, &h) != nil {
				continue
			}
			if h.Received.Before(st.Start) {
				return nil
			}
			i := int(h.Received.Sub(st.Start) / time.Hour)
			if i < 0 || i >= hours {
				continue
			}
			d := h.Decision
			if d == "" {
				d = "pending"
			}
			if st.ByDecision[d] == nil {
				st.ByDecision[d] = make([]int, hours)
			}
			st.ByDecision[d][i]++
			if !h.ReplySent.IsZero() {
				st.ReplyLatency[i] = append(st.ReplyLatency[i], h.ReplySent.Sub(h.Received).Seconds())
			}
		}
		return nil
	})
	return st, err
}

// channelOf reads the channel of message id from its record ("mail"
// when it names none): web appeals (issue 9) carry one.
func channelOf(tx *bolt.Tx, id string) string {
	var m struct {
		Channel string `json:"channel"`
	}
	if v := tx.Bucket(bucketMsgs).Get([]byte(id)); v != nil {
		json.Unmarshal(v, &m)
	}
	if m.Channel == "" {
		return "mail"
	}
	return m.Channel
}
