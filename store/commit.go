package store

import (
	"errors"

	bolt "go.etcd.io/bbolt"
)

// ErrClosed is returned by Commit after Close.
var ErrClosed = errors.New("store: closed")

type commitReq struct {
	fn      func(tx *bolt.Tx) error
	err     chan error
	syncDir bool
}

// maxGroup bounds how many transactions share one commit, so one commit's
// latency stays small under a flood.
const maxGroup = 256

// Commit runs fn in a transaction that may be shared with other callers'
// and returns once it is on disk (spool folder fsynced, bbolt committed).
// It is the one path to a durable accept: the caller has already fsynced
// its spool file.
//
// Unlike bbolt's Batch there is no timer: the writer takes whatever is
// waiting when it gets free, so a lone session pays one fsync and a crowd
// pays one per group. If one fn fails, the group is retried one by one so
// the others still commit and only the failing caller sees its error.
func (s *Store) Commit(fn func(tx *bolt.Tx) error) error { return s.group(fn, true) }

func (s *Store) group(fn func(tx *bolt.Tx) error, syncDir bool) error {
	r := &commitReq{fn: fn, err: make(chan error, 1), syncDir: syncDir}
	select {
	case s.reqs <- r:
	case <-s.done:
		return ErrClosed
	}
	return <-r.err
}

func (s *Store) writer() {
	defer s.wg.Done()
	for {
		var group []*commitReq
		select {
		case r := <-s.reqs:
			group = append(group, r)
		case <-s.done:
			s.drain()
			return
		}
	more:
		for len(group) < maxGroup {
			select {
			case r := <-s.reqs:
				group = append(group, r)
			default:
				break more
			}
		}
		s.commitGroup(group)
	}
}

// drain fails whatever is still queued at Close.
func (s *Store) drain() {
	for {
		select {
		case r := <-s.reqs:
			r.err <- ErrClosed
		default:
			return
		}
	}
}

var errRetrySingly = errors.New("retry singly")

func (s *Store) commitGroup(group []*commitReq) {
	// The spool files' names must be durable before the records that point
	// at them; one folder fsync covers every file of the group.
	needSync := false
	for _, r := range group {
		needSync = needSync || r.syncDir
	}
	if needSync {
		if err := s.SyncDir(s.SpoolDir()); err != nil {
			for _, r := range group {
				r.err <- err
			}
			return
		}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, r := range group {
			if err := r.fn(tx); err != nil {
				if len(group) == 1 {
					return err
				}
				return errRetrySingly
			}
		}
		return nil
	})
	if errors.Is(err, errRetrySingly) {
		for _, r := range group {
			e := s.db.Update(r.fn)
			r.err <- e
		}
		s.runHooks()
		return
	}
	for _, r := range group {
		r.err <- err
	}
	if err == nil {
		s.runHooks()
	}
}
