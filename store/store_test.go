package store

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func putMsg(t *testing.T, s *Store, jobs ...*Job) *Message {
	t.Helper()
	m := &Message{ID: NewID(), From: "a@b.test", Rcpts: []string{"s@x.test"}, Size: 5}
	if err := os.WriteFile(s.SpoolPath(m.ID), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(func(tx *bolt.Tx) error { return PutMessage(tx, m, jobs...) }); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGroupCommitIsolatesAFailure(t *testing.T) {
	s := open(t)
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Commit(func(tx *bolt.Tx) error {
				if i == 7 {
					return errors.New("boom")
				}
				m := &Message{ID: NewID()}
				return PutMessage(tx, m, &Job{Kind: "k"})
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 7) != (err != nil) {
			t.Errorf("commit %d: err = %v", i, err)
		}
	}
	jobs, _ := s.Jobs()
	if len(jobs) != 49 {
		t.Errorf("%d jobs committed, want 49", len(jobs))
	}
}

// The spool folder is fsynced before every commit; if that fails, nothing
// is committed and the caller (the SMTP session) gets the error.
func TestCommitSyncsSpoolDirFirst(t *testing.T) {
	s := open(t)
	calls := 0
	s.SyncDir = func(dir string) error {
		calls++
		if dir != s.SpoolDir() {
			t.Errorf("synced %s, want the spool dir", dir)
		}
		return errors.New("disk gone")
	}
	err := s.Commit(func(tx *bolt.Tx) error { return PutMessage(tx, &Message{ID: "x"}, &Job{Kind: "k"}) })
	if err == nil || calls != 1 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
	if jobs, _ := s.Jobs(); len(jobs) != 0 {
		t.Errorf("a job was committed although the folder fsync failed")
	}
}

func TestClaimFinishRemovesSpool(t *testing.T) {
	s := open(t)
	m := putMsg(t, s, &Job{Kind: "a"}, &Job{Kind: "b"})
	jobs, err := s.Claim(time.Now(), 10, func(int) time.Duration { return time.Minute })
	if err != nil || len(jobs) != 2 {
		t.Fatalf("claimed %d, err %v", len(jobs), err)
	}
	if again, _ := s.Claim(time.Now(), 10, func(int) time.Duration { return time.Minute }); len(again) != 0 {
		t.Fatalf("claimed running jobs again: %d", len(again))
	}
	if jobs[0].Attempts != 1 || jobs[0].State != Running {
		t.Errorf("claim did not record the attempt: %+v", jobs[0])
	}
	s.Finish(jobs[0], nil)
	if _, err := os.Stat(s.SpoolPath(m.ID)); err != nil {
		t.Fatal("spool file removed while a job still needs it")
	}
	s.Finish(jobs[1], nil)
	s.Finish(jobs[1], nil) // twice: harmless
	if _, err := os.Stat(s.SpoolPath(m.ID)); !os.IsNotExist(err) {
		t.Error("spool file kept after the last job")
	}
	st, _ := s.Stats()
	if st.Messages != 0 || len(st.Jobs) != 0 {
		t.Errorf("leftovers: %+v", st)
	}
}

// A crash leaves jobs running; Recover makes them due again, keeping the
// attempt count, and orphan spool files of never-committed messages go.
func TestRecoverAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := &Message{ID: NewID()}
	os.WriteFile(s.SpoolPath(m.ID), []byte("x"), 0o600)
	os.WriteFile(s.SpoolPath("orphan"), []byte("x"), 0o600)
	s.Commit(func(tx *bolt.Tx) error { return PutMessage(tx, m, &Job{Kind: "a"}) })
	if j, _ := s.Claim(time.Now(), 1, func(int) time.Duration { return time.Hour }); len(j) != 1 {
		t.Fatal("no claim")
	}
	s.Close() // the "crash": the job stays running on disk

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _ := s.SweepSpool(); n != 1 {
		t.Errorf("swept %d orphans, want 1", n)
	}
	if _, err := os.Stat(s.SpoolPath(m.ID)); err != nil {
		t.Error("swept a committed message")
	}
	if n, _ := s.Recover(); n != 1 {
		t.Fatalf("recovered %d", n)
	}
	jobs, _ := s.Claim(time.Now(), 1, func(int) time.Duration { return time.Hour })
	if len(jobs) != 1 || jobs[0].Attempts != 2 {
		t.Fatalf("after recovery: %+v", jobs)
	}
}

func TestRescheduleAndSaveProgress(t *testing.T) {
	s := open(t)
	putMsg(t, s, &Job{Kind: "a"})
	jobs, _ := s.Claim(time.Now(), 1, func(int) time.Duration { return time.Hour })
	j := jobs[0]
	j.Data = []byte(`{"task":42}`)
	if err := s.SaveProgress(j); err != nil {
		t.Fatal(err)
	}
	s.Reschedule(j, time.Now().Add(time.Hour), "later", false)
	if got, _ := s.Claim(time.Now(), 1, func(int) time.Duration { return 0 }); len(got) != 0 {
		t.Fatal("claimed a job not yet due")
	}
	got, _ := s.Claim(time.Now().Add(2*time.Hour), 1, func(int) time.Duration { return 0 })
	if len(got) != 1 || string(got[0].Data) != `{"task":42}` || got[0].Attempts != 1 {
		t.Fatalf("progress or attempt count lost: %+v", got)
	}
}

func BenchmarkSpoolAndCommit(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := make([]byte, 4096)
	b.SetBytes(int64(len(body)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := NewID()
			f, _ := os.Create(s.SpoolPath(id))
			f.Write(body)
			f.Sync()
			f.Close()
			m := &Message{ID: id, Size: int64(len(body))}
			if err := s.Commit(func(tx *bolt.Tx) error { return PutMessage(tx, m, &Job{Kind: "forward"}) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestPruneSeen(t *testing.T) {
	s := open(t)
	s.Update(func(tx *bolt.Tx) error {
		Seen(tx, "new")
		tx.Bucket(bucketSeen).Put([]byte("old-seconds"), []byte("1000000000"))
		tx.Bucket(bucketSeen).Put([]byte("old-nanos"), []byte("1000000000000000000"))
		return nil
	})
	n, err := s.PruneSeen(time.Now().Add(-time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, err %v; want 2", n, err)
	}
	s.View(func(tx *bolt.Tx) error {
		if !WasSeen(tx, "new") || WasSeen(tx, "old-seconds") {
			t.Error("pruned the wrong keys")
		}
		return nil
	})
}

func TestAddIDKeepsReferencesUnique(t *testing.T) {
	s := open(t)
	s.Update(func(tx *bolt.Tx) error {
		th := &Thread{}
		PutThread(tx, th)
		for _, id := range []string{"a@x", "b@x", "<a@x>", "c@x", "c@x"} {
			AddID(tx, th, id, IDIncoming)
		}
		if got := strings.Join(th.References, " "); got != "a@x b@x c@x" || th.LastID != "c@x" || th.RootID != "a@x" {
			t.Errorf("References %q, last %q, root %q", got, th.LastID, th.RootID)
		}
		return nil
	})
}
