// Package store is supportgate's durable state in one bbolt file: the job
// queue, the messages in the spool that jobs refer to, and (for the later
// stages) threads.
//
// Writes that must be durable before an SMTP 250 go through Commit, which
// groups the transactions of sessions that arrive together into one bbolt
// commit (one fsync), the way a database does group commit. A bbolt commit
// costs about a third of a millisecond of fsync here; grouping is what lets
// many sessions share it.
package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketJobs = []byte("jobs")
	bucketDue  = []byte("due")
	bucketMsgs = []byte("msgs")
	bucketMeta = []byte("meta")
)

// Store is the open database.
type Store struct {
	db   *bolt.DB
	dir  string
	reqs chan *commitReq

	// hooks run after a Commit that touched the job queue, to wake workers.
	mu    sync.Mutex
	hooks []func()

	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup

	// SyncDir is called with the spool folder before each group commit;
	// tests replace it to check that it happens (and fail it).
	SyncDir func(dir string) error
}

// Open opens (creating if needed) the database and spool under dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "spool"), 0o750); err != nil {
		return nil, err
	}
	// The hashmap freelist, not synced: commits write less, and bbolt
	// rebuilds the freelist at open. Bodies come and go, so the freelist
	// is large and busy.
	path := filepath.Join(dir, DBFile)
	// A damaged file must stop us here, not be "survived by chance"
	// until a job reads the broken page.
	if err := probe(dir, path); err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open %s: the database is locked by another supportgate", dir)
		}
		return nil, err
	}
	db, err := openBolt(path, &bolt.Options{Timeout: 2 * time.Second,
		FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open %s: the database is locked by another supportgate", dir)
		}
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketJobs, bucketDue, bucketMsgs, bucketMeta, bucketThreads, bucketIDs, bucketTasks, bucketSeen, bucketBodies, bucketHistory, bucketHistReply, bucketHistOut} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	markInitialized(dir)
	s := &Store{db: db, dir: dir, reqs: make(chan *commitReq, 1024), done: make(chan struct{}), SyncDir: syncDir}
	s.wg.Add(1)
	go s.writer()
	return s, nil
}

// SpoolDir is where message files live.
func (s *Store) SpoolDir() string { return filepath.Join(s.dir, "spool") }

// SpoolPath is the file of message id.
func (s *Store) SpoolPath(id string) string { return filepath.Join(s.dir, "spool", id) }

// DB gives read access for packages that keep their own buckets.
func (s *Store) DB() *bolt.DB { return s.db }

// Close stops the writer and closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	s.wg.Wait()
	return s.db.Close()
}

// OnCommit registers f to run after each commit (not inside it).
func (s *Store) OnCommit(f func()) {
	s.mu.Lock()
	s.hooks = append(s.hooks, f)
	s.mu.Unlock()
}

// View runs a read-only transaction.
func (s *Store) View(fn func(tx *bolt.Tx) error) error { return s.db.View(fn) }

// Update runs fn in a write transaction, grouped like Commit (the queue's
// claims and finishes share fsyncs with the accepts), but without the
// spool folder fsync: it makes no new spool file durable.
func (s *Store) Update(fn func(tx *bolt.Tx) error) error { return s.group(fn, false) }

func (s *Store) runHooks() {
	s.mu.Lock()
	hooks := s.hooks
	s.mu.Unlock()
	for _, h := range hooks {
		h()
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
