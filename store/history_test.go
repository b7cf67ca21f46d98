package store

import (
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fill records n messages a minute apart, oldest first; every third is
// a no-reply from a robot, and message 5 has a forward still retrying.
func fill(t *testing.T, s *Store, n int) []string {
	t.Helper()
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.Local)
	var ids []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("m%04d", i) // time-ordered keys, as NewID's are
		ids = append(ids, id)
		h := &History{ID: id, Received: start.Add(time.Duration(i) * time.Minute), From: fmt.Sprintf("user%d@customer.test", i),
			To: []string{"support@example.com"}, Subject: fmt.Sprintf("Printer %d", i), Decision: "reply", Reason: "reply",
			Done: map[string]Outcome{"forward": {State: Done}}}
		if i%3 == 0 {
			h.From, h.Decision, h.Reason, h.Subject = "noreply@shop.test", "no-reply", "noreply-sender", fmt.Sprintf("Order %d shipped", i)
		}
		err := s.Update(func(tx *bolt.Tx) error {
			if i == 5 {
				delete(h.Done, "forward")
				m := &Message{ID: id, Received: h.Received}
				if err := PutMessage(tx, m, &Job{Kind: "forward", Attempts: 2, LastError: "451 try later"}); err != nil {
					return err
				}
			}
			return RecordHistory(tx, h)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func TestHistoryFilters(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fill(t, s, 30)
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.Local)
	for _, c := range []struct {
		name string
		f    HistoryFilter
		want int
	}{
		{"everything", HistoryFilter{}, 30},
		{"address, any case", HistoryFilter{Address: "NOREPLY@shop"}, 10},
		{"a recipient", HistoryFilter{Address: "support@example.com"}, 30},
		{"one sender", HistoryFilter{Address: "user7@"}, 1},
		{"reason", HistoryFilter{Reason: "noreply-sender"}, 10},
		{"reason exactly", HistoryFilter{Reason: "noreply"}, 0},
		{"subject", HistoryFilter{Subject: "printer 1"}, 8}, // 1, 10..19 less the orders 12, 15, 18
		{"subject and reason", HistoryFilter{Subject: "order", Reason: "reply"}, 0},
		{"retrying", HistoryFilter{State: "retrying"}, 1},
		{"pending", HistoryFilter{State: "pending"}, 1},
		{"failed", HistoryFilter{State: "failed"}, 0},
		{"done", HistoryFilter{State: "done"}, 29},
		{"an unknown state matches nothing", HistoryFilter{State: "bogus"}, 0},
		{"since", HistoryFilter{Since: day.Add(9*time.Hour + 20*time.Minute)}, 10},
		{"until", HistoryFilter{Until: day.Add(9*time.Hour + 20*time.Minute)}, 20},
		{"a day with nothing", HistoryFilter{Since: day.AddDate(0, 0, 1)}, 0},
		{"since and until", HistoryFilter{Since: day.Add(9*time.Hour + 10*time.Minute), Until: day.Add(9*time.Hour + 12*time.Minute)}, 2},
	} {
		p, err := s.ListHistory(c.f, "", MaxPage)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) != c.want {
			t.Errorf("%s: %d records, want %d", c.name, len(p.Entries), c.want)
		}
		for i := 1; i < len(p.Entries); i++ {
			if p.Entries[i].ID > p.Entries[i-1].ID {
				t.Errorf("%s: not newest first", c.name)
			}
		}
	}
	if e, _ := s.GetEntry("m0005"); e == nil || e.StateOf("forward") != "retrying" || !e.Kept {
		t.Errorf("m0005: %+v", e)
	}
}

func TestHistoryPagination(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := fill(t, s, 25)
	for _, c := range []struct {
		name   string
		before string
		limit  int
		first  string // newest on the page
		n      int
		next   bool
	}{
		{"first page", "", 10, "m0024", 10, true},
		{"no size means the default", "", 0, "m0024", 25, false},
		{"a negative size too", "", -5, "m0024", 25, false},
		{"too big is capped", "", 1 << 30, "m0024", 25, false},
		{"from a cursor", nextAfter([]byte("m0014")), 10, "m0014", 10, true},
		{"the last page", nextAfter([]byte("m0004")), 10, "m0004", 5, false},
		{"a cursor past the newest", "zzzz", 3, "m0024", 3, true},
		{"a cursor before the oldest", "a", 10, "", 0, false},
		{"a cursor between keys", "m0010x", 2, "m0010", 2, true},
	} {
		p, err := s.ListHistory(HistoryFilter{}, c.before, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		first := ""
		if len(p.Entries) > 0 {
			first = p.Entries[0].ID
		}
		if len(p.Entries) != c.n || first != c.first || (p.Next != "") != c.next {
			t.Errorf("%s: %d records from %q, next %q; want %d from %q, next %v", c.name, len(p.Entries), first, p.Next, c.n, c.first, c.next)
		}
	}
	// Walking the cursors visits every record once.
	seen := map[string]int{}
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		p, err := s.ListHistory(HistoryFilter{}, cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			seen[e.ID]++
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("%s seen %d times walking the pages", id, seen[id])
		}
	}
	if PageSize(0) != DefaultPage || PageSize(MaxPage+1) != MaxPage || PageSize(7) != 7 {
		t.Error("PageSize bounds")
	}
}

// A page reads at most MaxScan records: a filter that matches nothing
// ends the page early, with a cursor to go on.
func TestHistoryScanBound(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now().Add(-time.Hour)
	err = s.Update(func(tx *bolt.Tx) error {
		for i := 0; i < MaxScan+10; i++ {
			if err := RecordHistory(tx, &History{ID: fmt.Sprintf("k%06d", i), Received: start, Subject: "x"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.ListHistory(HistoryFilter{Subject: "no such"}, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Entries) != 0 || p.Next == "" {
		t.Fatalf("%d records, next %q: want none and a cursor", len(p.Entries), p.Next)
	}
	p, _ = s.ListHistory(HistoryFilter{Subject: "no such"}, p.Next, 10)
	if len(p.Entries) != 0 || p.Next != "" {
		t.Errorf("the rest: %d records, next %q", len(p.Entries), p.Next)
	}
}

// The record follows a message's jobs to their end (done, failed,
// dropped by whom), keeps the reply as sent, and is pruned in time.
func TestHistoryLifecycle(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := &Message{ID: NewID(), From: "ivan@customer.test", Rcpts: []string{"support@example.com"}, Received: time.Now().Add(-2 * time.Hour), Inline: true}
	fwd, proc, task := &Job{Kind: "forward"}, &Job{Kind: "process"}, &Job{Kind: "task"}
	if err := s.Commit(func(tx *bolt.Tx) error {
		if err := PutBody(tx, m.ID, []byte("Subject: hi\r\n\r\nbody\r\n")); err != nil {
			return err
		}
		return PutMessage(tx, m, fwd, proc, task)
	}); err != nil {
		t.Fatal(err)
	}
	// The forward ends before the process job writes the record.
	if err := s.Finish(fwd, nil); err != nil {
		t.Fatal(err)
	}
	out := &Job{Kind: "send"}
	var outID string
	if err := s.Finish(proc, func(tx *bolt.Tx) error {
		if err := RecordHistory(tx, &History{ID: m.ID, Received: m.Received, Subject: "hi", Decision: "reply", Reason: "reply"}); err != nil {
			return err
		}
		outID = NewID()
		om := &Message{ID: outID, Outbound: true, Received: time.Now()}
		if err := s.PutOutbound(tx, om, []byte("Subject: Re: hi\r\n\r\nthanks\r\n"), out); err != nil {
			return err
		}
		return NoteReply(tx, m.ID, outID, []byte("Subject: Re: hi\r\n\r\nthanks\r\n"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(out, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DropJob(task.ID, "olga"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DropJob(task.ID, "olga"); err != ErrNoJob {
		t.Errorf("dropping it again: %v, want ErrNoJob", err)
	}
	e, err := s.GetEntry(m.ID)
	if err != nil || e == nil {
		t.Fatal(e, err)
	}
	if e.StateOf("forward") != Done || e.StateOf("process") != Done || e.StateOf("send") != Done || e.StateOf("task") != Dropped || e.Job("task").By != "olga" {
		t.Errorf("jobs: %+v", e.Jobs)
	}
	// The queue gave up on the send after all (its observer says so
	// after Finish).
	if err := s.MarkFailed(&Job{Kind: "send", MsgID: outID, Attempts: 9}, "gave up after 5d: 451"); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.GetEntry(m.ID); e.StateOf("send") != Failed || e.Job("send").LastError != "gave up after 5d: 451" || !e.ReplySent.IsZero() {
		t.Errorf("after MarkFailed: %+v", e.Jobs)
	}
	if e.ReplySent.IsZero() || e.Kept {
		t.Errorf("reply sent %v, kept %v", e.ReplySent, e.Kept)
	}
	if r, _ := s.SentReply(m.ID); string(r) != "Subject: Re: hi\r\n\r\nthanks\r\n" {
		t.Errorf("reply as sent: %q", r)
	}
	if n, err := s.PruneHistory(time.Now().Add(-3 * time.Hour)); err != nil || n != 0 {
		t.Errorf("pruned %d (%v) of the newer records", n, err)
	}
	if n, err := s.PruneHistory(time.Now().Add(-time.Hour)); err != nil || n != 1 {
		t.Errorf("pruned %d (%v), want 1", n, err)
	}
	if e, _ := s.GetEntry(m.ID); e != nil {
		t.Error("the record outlived its keep time")
	}
	if r, _ := s.SentReply(m.ID); r != nil {
		t.Error("the reply outlived its record")
	}
}
