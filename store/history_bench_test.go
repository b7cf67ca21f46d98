package store

import (
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// benchHistory is a store with n records over the last week (a busy
// month of a support mailbox is about 20k).
func benchHistory(b *testing.B, n int) *Store {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	start := time.Now().Add(-7 * 24 * time.Hour)
	step := 7 * 24 * time.Hour / time.Duration(n)
	hdr := "Received: from client.test\r\nFrom: Ivan <ivan@customer.test>\r\nTo: support@example.com\r\nSubject: Printer\r\nMessage-ID: <x@customer.test>\r\n"
	for done := 0; done < n; {
		err := s.Update(func(tx *bolt.Tx) error {
			for i := 0; i < 1000 && done < n; i, done = i+1, done+1 {
				at := start.Add(time.Duration(done) * step)
				h := &History{ID: fmt.Sprintf("%012d", at.UnixMicro()), Received: at, From: fmt.Sprintf("u%d@customer.test", done%500),
					To: []string{"support@example.com"}, Subject: fmt.Sprintf("Printer %d", done), Decision: "reply", Reason: "reply",
					Header: hdr, Done: map[string]Outcome{"forward": {State: Done}, "process": {State: Done}}, ReplySent: at.Add(time.Second)}
				if err := RecordHistory(tx, h); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkListHistory(b *testing.B) {
	s := benchHistory(b, 20000)
	for _, c := range []struct {
		name string
		f    HistoryFilter
	}{{"newest-50", HistoryFilter{}}, {"filter-matching-nothing", HistoryFilter{Subject: "no such"}}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.ListHistory(c.f, "", 50); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("hourly-7d", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.HourlySeries(time.Now(), 7*24); err != nil {
				b.Fatal(err)
			}
		}
	})
}
