package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/mailparse"
	"supportgate/rules"
	"supportgate/store"
)

func testConfig(t *testing.T) *rules.Config {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	os.WriteFile(p, []byte(`
[smtp]
hostname = "mx.example.com"
[upstream]
address = "127.0.0.1:1"
[outbound]
address = "127.0.0.1:1"
[[mailbox]]
address = "support@example.com"
[rules]
journal_address = "journal@example.com"
team_domains = ["example.com"]
`), 0o600)
	c, err := rules.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func parse(t *testing.T, raw string) *mailparse.Message {
	pm, err := mailparse.Parse(strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n")), mailparse.Limits{})
	if pm == nil {
		t.Fatal(err)
	}
	return pm
}

// Thread matching and the decision, against a store holding one thread:
// task 42, requester ann@customer.test, with our auto-reply and a
// specialist's journaled mail in it.
func TestEvaluate(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.Update(func(tx *bolt.Tx) error {
		th := &store.Thread{Mailbox: "support@example.com", Requester: "ann@customer.test", TaskID: 42}
		th.AddParticipant("ann@customer.test")
		th.AddParticipant("bob@customer.test") // was in Cc
		store.PutThread(tx, th)
		store.AddID(tx, th, "first@customer.test", store.IDIncoming)
		store.AddID(tx, th, "ack@mx.example.com", store.IDAutoReply)
		store.AddID(tx, th, "olga1@example.com", store.IDJournal)
		return store.PutThread(tx, th)
	})
	c := testConfig(t)
	cases := []struct {
		name, from, headers string
		match, task, reason string
	}{
		{"new", "new@customer.test", "Subject: hello", "", "create", "reply"},
		{"reply to our ack", "ann@customer.test", "Subject: Re: x\nIn-Reply-To: <ack@mx.example.com>", "message-id <ack@mx.example.com> (auto)", "comment", "known-thread"},
		{"only References, id in the middle", "ann@customer.test", "Subject: x\nReferences: <zzz@a> <first@customer.test> <yyy@b>", "message-id <first@customer.test> (in)", "comment", "known-thread"},
		{"In-Reply-To with free text", "ann@customer.test", "Subject: x\nIn-Reply-To: Your message of Monday <FIRST@customer.test>", "message-id <FIRST@customer.test> (in)", "comment", "known-thread"},
		{"answers the journaled specialist", "ann@customer.test", "Subject: x\nIn-Reply-To: <olga1@example.com>", "message-id <olga1@example.com> (journal)", "comment", "answers-specialist"},
		{"participant's subject tag", "bob@customer.test", "Subject: Re: printer [#42]", "subject tag [#42]", "comment", "known-thread"},
		{"stranger's subject tag", "mallory@evil.test", "Subject: Re: printer [#42]", "ignored subject tag [#42]: sender is not in that thread", "create", "reply"},
		{"answers an unknown team message", "carl@customer.test", "Subject: x\nIn-Reply-To: <other@mx.example.com>", "", "create", "answers-specialist"},
		{"robot outside a thread", "news@list.test", "Subject: x\nList-Id: <l.list.test>", "", "none", "list"},
		{"robot inside a thread", "ann@customer.test", "Subject: Automatic reply\nAuto-Submitted: auto-replied\nIn-Reply-To: <ack@mx.example.com>", "message-id <ack@mx.example.com> (auto)", "comment", "auto-submitted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := "From: " + tc.from + "\nTo: support@example.com\nMessage-ID: <m-" + strings.ReplaceAll(tc.name, " ", "-") + "@customer.test>\n" + tc.headers + "\n\nbody\n"
			m := &store.Message{ID: "x", From: tc.from, Rcpts: []string{"support@example.com"}}
			var ev *Evaluation
			err := st.View(func(tx *bolt.Tx) (err error) {
				ev, err = Evaluate(tx, c, m, parse(t, raw), rules.AuthVerdict{}, time.Now())
				return
			})
			if err != nil {
				t.Fatal(err)
			}
			if ev.Match != tc.match || ev.Decision.Task.String() != tc.task || ev.Decision.Reason != tc.reason {
				t.Errorf("match %q task %s reason %s; want %q %s %s", ev.Match, ev.Decision.Task, ev.Decision.Reason, tc.match, tc.task, tc.reason)
			}
		})
	}
}

func TestDuplicateAndJournal(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.Update(func(tx *bolt.Tx) error {
		th := &store.Thread{Requester: "ann@customer.test"}
		store.PutThread(tx, th)
		store.AddID(tx, th, "seen@customer.test", store.IDIncoming)
		return store.PutThread(tx, th)
	})
	c := testConfig(t)
	st.View(func(tx *bolt.Tx) error {
		ev, _ := Evaluate(tx, c, &store.Message{From: "ann@customer.test", Rcpts: []string{"support@example.com"}},
			parse(t, "From: ann@customer.test\nTo: support@example.com\nMessage-ID: <seen@customer.test>\nSubject: again\n\nx\n"), rules.AuthVerdict{}, time.Now())
		if !ev.Duplicate || ev.Decision.Reason != rules.ReasonDuplicate || ev.Decision.Task != rules.TaskNone || ev.Decision.AutoReply {
			t.Errorf("a Message-ID seen before: duplicate=%v %+v", ev.Duplicate, ev.Decision)
		}
		ev, _ = Evaluate(tx, c, &store.Message{From: "olga@example.com", Rcpts: []string{"journal@example.com"}},
			parse(t, "From: olga@example.com\nTo: kate@customer.test\nMessage-ID: <j1@example.com>\nSubject: x\n\nx\n"), rules.AuthVerdict{}, time.Now())
		if !ev.Journal || ev.Decision.AutoReply {
			t.Errorf("journal copy: %+v", ev.Decision)
		}
		return nil
	})
}

// A [#task] tag counts only from a proven sender: a participant's
// address with an unproven From starts a new thread, the tag refused.
func TestTagNeedsProvenSender(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.Update(func(tx *bolt.Tx) error {
		th := &store.Thread{Mailbox: "support@example.com", Requester: "ann@customer.test", TaskID: 42}
		th.AddParticipant("ann@customer.test")
		return store.PutThread(tx, th)
	})
	c := testConfig(t)
	raw := "From: ann@customer.test\nTo: support@example.com\nMessage-ID: <t1@customer.test>\nSubject: Re: [#42] bank\n\nbody\n"
	for _, tc := range []struct {
		auth    rules.AuthVerdict
		joins   bool
		refused bool
	}{
		{rules.AuthVerdict{Result: rules.AuthPass, Identity: rules.IdentityVerified}, true, false},
		{rules.AuthVerdict{Result: rules.AuthFail, Reason: "dmarc=fail", Identity: rules.IdentityUnverified}, false, true},
		{rules.AuthVerdict{Result: rules.AuthPass, Reason: "spf=none", Identity: rules.IdentityUnverified}, false, true},
		{rules.AuthVerdict{}, true, false}, // checks off: the participant rule alone
	} {
		var ev *Evaluation
		st.View(func(tx *bolt.Tx) (err error) {
			ev, err = Evaluate(tx, c, &store.Message{From: "x@loose.test", Rcpts: []string{"support@example.com"}}, parse(t, raw), tc.auth, time.Now())
			return
		})
		if (ev.Thread != nil) != tc.joins || ev.TagRefused != tc.refused {
			t.Errorf("%+v: joined=%v refused=%v (%s); want %v %v", tc.auth, ev.Thread != nil, ev.TagRefused, ev.Match, tc.joins, tc.refused)
		}
	}
}

// explain names the follow-up policies, and a reply that only thanks.
func TestExplainFollowUp(t *testing.T) {
	c := rules.Defaults()
	var b strings.Builder
	explainFollowUp(&c, &mailparse.Message{Text: "Большое спасибо!"}, rules.Decision{Task: rules.TaskComment}, &b)
	if !strings.Contains(b.String(), "comment-thanks") {
		t.Errorf("thanks: %q", b.String())
	}
	b.Reset()
	explainFollowUp(&c, &mailparse.Message{Text: "Опять сломалось"}, rules.Decision{Task: rules.TaskComment}, &b)
	for _, r := range []string{"comment-renewed", "new-task-after-closed", "new-task-after-deleted", "336h"} {
		if !strings.Contains(b.String(), r) {
			t.Errorf("no %s in %q", r, b.String())
		}
	}
	b.Reset()
	explainFollowUp(&c, &mailparse.Message{Text: "x"}, rules.Decision{Task: rules.TaskCreate}, &b)
	if b.Len() != 0 {
		t.Errorf("new thread: %q", b.String())
	}
}
