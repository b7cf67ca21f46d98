package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DBFile is the database's file name under storage.dir.
const DBFile = "supportgate.db"

// DamagedError is a database that cannot be trusted: it names the file
// and what the operator should do, instead of a Go panic or a silent new
// store.
type DamagedError struct {
	Path string
	Why  string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("database %s is damaged: %s. Nothing was changed. Stop here: run `supportgate db check -config FILE` for details, "+
		"then restore the last backup (README: Restoring a backup) or move the file away to start with an empty store (threads and queued jobs are lost)", e.Path, e.Why)
}

// ForeignError is a file that is not a supportgate database.
type ForeignError struct {
	Path string
	Why  string
}

func (e *ForeignError) Error() string {
	return fmt.Sprintf("%s is not a supportgate database (%s); refusing to use it. Check storage.dir, or move the file away", e.Path, e.Why)
}

// precheck refuses a database file that cannot be ours before bbolt
// touches it: an empty file is a truncated database unless the storage
// folder is new (nothing spooled); bbolt's own checks name the rest.
func precheck(dir, path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return &ForeignError{Path: path, Why: "not a regular file"}
	}
	if fi.Size() == 0 {
		if n, _ := spoolFiles(dir); n > 0 {
			return &DamagedError{Path: path, Why: fmt.Sprintf("the file is empty (0 bytes) but the spool holds %d message(s): it was truncated", n)}
		}
		if _, err := os.Stat(filepath.Join(dir, initMarker)); err == nil {
			return &DamagedError{Path: path, Why: "the file is empty (0 bytes) but this storage dir held a database before (" + initMarker + "): it was truncated"}
		}
		return nil // a new storage dir whose first open was cut short: bbolt initialises it
	}
	return nil
}

// initMarker is written beside a database once it has been opened: a
// later 0-byte database there is a truncated one, not a new store.
const initMarker = "supportgate.db.initialized"

func markInitialized(dir string) {
	p := filepath.Join(dir, initMarker)
	if _, err := os.Stat(p); err == nil {
		return
	}
	os.WriteFile(p, []byte("a supportgate database lives here; a 0-byte supportgate.db beside this file is refused as truncated\n"), 0o600)
}

func spoolFiles(dir string) (int, error) {
	ents, err := os.ReadDir(filepath.Join(dir, "spool"))
	return len(ents), err
}

// probe checks an existing database before the real open: read-only
// (bbolt then rebuilds no freelist at open, the step that panics on a
// truncated file, and a failed probe closes cleanly, releasing its lock
// and mapping), every page read once, and its buckets ours.
func probe(dir, path string) error {
	if err := precheck(dir, path); err != nil {
		return err
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		return nil // new
	}
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	if probs := walk(db); len(probs) > 0 {
		return &DamagedError{Path: path, Why: probs[0]}
	}
	return db.View(func(tx *bolt.Tx) error {
		if isForeign(tx) {
			return &ForeignError{Path: path, Why: "a bbolt file without supportgate's buckets"}
		}
		return nil
	})
}

// openBolt is bolt.Open that turns bbolt's panics (and memory faults on
// a truncated mmap) into a DamagedError, and its format errors into a
// ForeignError or DamagedError.
func openBolt(path string, opts *bolt.Options) (db *bolt.DB, err error) {
	// After a panic here the file stays open and mapped (bbolt keeps
	// both to itself): the read-only probe before it is what runs into
	// damage, and closes properly.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, &DamagedError{Path: path, Why: fmt.Sprintf("it cannot be opened (%v)", r)}
		}
	}()
	db, err = bolt.Open(path, 0o600, opts)
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, bolt.ErrInvalid), errors.Is(err, bolt.ErrVersionMismatch):
		return nil, &ForeignError{Path: path, Why: err.Error()}
	case errors.Is(err, bolt.ErrChecksum), errors.Is(err, bolt.ErrInvalidMapping):
		return nil, &DamagedError{Path: path, Why: err.Error()}
	}
	return nil, err
}

// ourBuckets is what a supportgate database has; a bbolt file with
// buckets but none of ours belongs to another program.
func isForeign(tx *bolt.Tx) bool {
	any, ours := false, false
	tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		any = true
		if string(name) == string(bucketJobs) {
			ours = true
		}
		return nil
	})
	return any && !ours
}

// walk reads every bucket, key and value: a truncated or scribbled page
// makes bbolt panic (or fault) somewhere in here, which becomes a list
// entry instead of a crash.
func walk(db *bolt.DB) (problems []string) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			problems = append(problems, fmt.Sprintf("reading the tree failed: %v", r))
		}
	}()
	err := db.View(func(tx *bolt.Tx) error {
		if tx.Size() < int64(tx.DB().Info().PageSize)*2 {
			return errors.New("file smaller than its two meta pages")
		}
		if err := cutShort(tx); err != nil {
			return err
		}
		var sum byte
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walkBucket(b, &sum) })
	})
	if err != nil {
		problems = append(problems, err.Error())
	}
	return problems
}

// cutShort compares the file's size with its high-water mark: the meta
// page's pgid (one past the highest page ever allocated) × the page
// size, which is tx.Size(). bbolt grows the file before a commit uses a
// page, so a file shorter than that lost its tail, even when the pages
// still reachable from the root happen to lie below the cut (the walk
// then reads nothing missing, and the next allocation would write into
// a hole).
func cutShort(tx *bolt.Tx) error {
	fi, err := os.Stat(tx.DB().Path())
	if err != nil {
		return err
	}
	if hwm := tx.Size(); fi.Size() < hwm {
		return fmt.Errorf("the file was cut short: it is %d bytes, but its meta page says %d pages of %d bytes (%d bytes) are in use",
			fi.Size(), hwm/int64(tx.DB().Info().PageSize), tx.DB().Info().PageSize, hwm)
	}
	return nil
}

// walkBucket reads every value; sum keeps the reads from being
// optimised away.
func walkBucket(b *bolt.Bucket, sum *byte) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			if sub := b.Bucket(k); sub != nil {
				return walkBucket(sub, sum)
			}
			return nil
		}
		if len(v) > 0 {
			*sum ^= v[len(v)-1] // read the value's last byte: its page must be there
		}
		return nil
	})
}

// Check is the full consistency check: a walk of every page in use, then
// bbolt's own tx.Check (page accounting, freelist, key order). It runs
// in a read transaction; writers go on meanwhile.
func (s *Store) Check() ([]string, error) { return checkDB(s.db), nil }

func checkDB(db *bolt.DB) []string {
	if p := walk(db); len(p) > 0 {
		// bbolt's check runs in its own goroutine, where a panic on a
		// broken page could not be caught: the walk has said enough.
		return p
	}
	var problems []string
	db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			problems = append(problems, err.Error())
			if len(problems) >= 100 {
				problems = append(problems, "(more not shown)")
				break
			}
		}
		return nil
	})
	return problems
}

// CheckFile checks the database at path, which no gateway holds (the
// caller found the lock free), opened read-only.
func CheckFile(path string) ([]string, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: 500 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return checkDB(db), nil
}

// Backup writes a consistent copy of the database to w from one read
// transaction (bbolt's tx.WriteTo): the gateway goes on accepting mail
// meanwhile. size, if not nil, learns the copy's size before it is
// written.
func (s *Store) Backup(w io.Writer, size func(int64)) error {
	return s.db.View(func(tx *bolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		_, err := tx.WriteTo(w)
		return err
	})
}

// BackupFile copies the database at path (no gateway running) to out.
func BackupFile(path, out string) error {
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: 500 * time.Millisecond})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error { return tx.CopyFile(out, 0o600) })
}

// Verify opens a copy (a backup just written, a file to restore) and
// checks it.
func Verify(path string) error {
	probs, err := CheckFile(path)
	if err != nil {
		return err
	}
	if len(probs) > 0 {
		return &DamagedError{Path: path, Why: probs[0]}
	}
	return nil
}
