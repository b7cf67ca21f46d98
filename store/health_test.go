package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// filled makes a store with a few thousand threads (many pages), closed.
func filled(t *testing.T) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *bolt.Tx) error {
		for i := 0; i < 3000; i++ {
			th := &Thread{Requester: "a@b.test", Subject: strings.Repeat("x", 200)}
			if err := PutThread(tx, th); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, filepath.Join(dir, DBFile)
}

func TestHalfTruncatedIsAClearError(t *testing.T) {
	dir, path := filled(t)
	fi, _ := os.Stat(path)
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err == nil {
		s.Close()
		t.Fatal("a half-truncated database opened")
	}
	t.Log(err)
	var de *DamagedError
	if !errors.As(err, &de) || de.Path != path || !strings.Contains(err.Error(), "db check") {
		t.Fatalf("error %q (%T): want a DamagedError naming %s and what to do", err, err, path)
	}
}

func TestEmptyFileRefusedUnlessNew(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "spool"), 0o750)
	os.WriteFile(filepath.Join(dir, DBFile), nil, 0o600)
	os.WriteFile(filepath.Join(dir, "spool", "abc"), []byte("x"), 0o600)
	if s, err := Open(dir); err == nil {
		s.Close()
		t.Fatal("a 0-byte database beside a non-empty spool opened as a new store")
	} else if !strings.Contains(err.Error(), "0 bytes") {
		t.Fatalf("error %q does not say the file is empty", err)
	}
	// A new storage dir (nothing spooled): the empty file is initialised.
	os.Remove(filepath.Join(dir, "spool", "abc"))
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("new dir with an empty file: %v", err)
	}
	s.Close()
	// Now the dir held a database: an empty file is a truncated one,
	// even with nothing spooled.
	os.Truncate(filepath.Join(dir, DBFile), 0)
	if s, err := Open(dir); err == nil {
		s.Close()
		t.Fatal("a 0-byte database in a used storage dir opened as a new store")
	}
}

func TestForeignFileRefused(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, DBFile), bytes.Repeat([]byte("not a database "), 2000), 0o600)
	if s, err := Open(dir); err == nil {
		s.Close()
		t.Fatal("a text file opened as the database")
	} else if !strings.Contains(err.Error(), DBFile) {
		t.Fatalf("error %q does not name the file", err)
	}
	// Another program's bbolt file.
	dir2 := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir2, DBFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
	db.Close()
	var fe *ForeignError
	if s, err := Open(dir2); !errors.As(err, &fe) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("another program's bbolt file: %v", err)
	}
}

// Damage in the middle (a page header scribbled over) is found by the
// check, and refused at open.
func TestCheckFindsDamage(t *testing.T) {
	dir, path := filled(t)
	if probs, err := CheckFile(path); err != nil || len(probs) != 0 {
		t.Fatalf("a sound database: %v %v", probs, err)
	}
	data, _ := os.ReadFile(path)
	ps := os.Getpagesize()
	// Scribble over the headers of pages in the middle.
	for p := len(data) / ps / 3; p < len(data)/ps*2/3; p += 7 {
		copy(data[p*ps:], bytes.Repeat([]byte{0xA5}, 16))
	}
	os.WriteFile(path, data, 0o600)
	probs, err := CheckFile(path)
	if err == nil && len(probs) == 0 {
		t.Fatal("check found nothing wrong with scribbled pages")
	}
	t.Logf("found: %v %v", err, probs)
	if s, err := Open(dir); err == nil {
		s.Close()
		t.Fatal("a damaged database opened")
	} else {
		t.Logf("open: %v", err)
	}
}

func TestBackupRestores(t *testing.T) {
	dir, _ := filled(t)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want *Thread
	s.Update(func(tx *bolt.Tx) error {
		want = &Thread{Requester: "keep@b.test", TaskID: 99}
		return PutThread(tx, want)
	})
	var buf bytes.Buffer
	var size int64
	if err := s.Backup(&buf, func(n int64) { size = n }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if int64(buf.Len()) != size {
		t.Errorf("backup %d bytes, announced %d", buf.Len(), size)
	}
	// Restore: the copy replaces the database of a new storage dir.
	dir2 := t.TempDir()
	os.WriteFile(filepath.Join(dir2, DBFile), buf.Bytes(), 0o600)
	if err := Verify(filepath.Join(dir2, DBFile)); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir2)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var got *Thread
	s2.View(func(tx *bolt.Tx) (err error) { got, err = ThreadByTask(tx, 99); return })
	if got == nil || got.Requester != "keep@b.test" {
		t.Fatalf("restored thread %+v", got)
	}
}

// A file cut to just below its high-water mark (the meta page's pgid ×
// the page size) is refused by check and by open, naming both sizes,
// even though every page still reachable lies below the cut.
func TestCutBelowHighWaterMark(t *testing.T) {
	dir, path := filled(t)
	// Free the newest pages: delete the threads written last, so the
	// pages at the top of the file are unreachable but still counted.
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketThreads)
		c := b.Cursor()
		n := 0
		for k, _ := c.Last(); k != nil && n < 2500; k, _ = c.Last() {
			c.Delete()
			n++
		}
		return nil
	})
	s.Close()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var hwm int64
	db.View(func(tx *bolt.Tx) error { hwm = tx.Size(); return nil })
	db.Close()
	cut := hwm - 1
	if err := os.Truncate(path, cut); err != nil {
		t.Fatal(err)
	}
	probs, err := CheckFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cut short", strconv.FormatInt(cut, 10) + " bytes", strconv.FormatInt(hwm, 10) + " bytes"}
	if len(probs) == 0 || !containsAll(probs[0], want) {
		t.Errorf("db check of a file cut to %d of %d bytes: %q", cut, hwm, probs)
	}
	if s, err := Open(dir); err == nil {
		s.Close()
		t.Fatal("a file cut below its high-water mark opened")
	} else if !containsAll(err.Error(), want) {
		t.Errorf("open: %v", err)
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
