package store

import (
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketNames holds names learned from the portal's CRM: address →
// LearnedName. Made on first use, so older databases need no migration.
var bucketNames = []byte("names")

// LearnedName is what a CRM lookup of an address said, until Expires: the
// contact's id and name (0 and "" when the CRM has no such contact, which
// is worth remembering too).
type LearnedName struct {
	ContactID int64     `json:"contact,omitempty"`
	Name      string    `json:"name,omitempty"`
	Expires   time.Time `json:"exp"`
}

// Learn records a CRM lookup's answer for addr (canonical form) until exp.
// The auto-reply's greeting then needs no portal call, and neither does
// the task's CRM binding.
func (s *Store) Learn(addr string, n LearnedName) error {
	return s.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketNames)
		if err != nil {
			return err
		}
		return putJSON(b, []byte(addr), n)
	})
}

// Learned is the unexpired answer learned for addr, if any.
func (s *Store) Learned(addr string, now time.Time) (LearnedName, bool) {
	var n LearnedName
	ok := false
	s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNames)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(addr))
		if v == nil || json.Unmarshal(v, &n) != nil {
			return nil
		}
		ok = now.Before(n.Expires)
		return nil
	})
	return n, ok
}

// PruneNames drops the names expired by now; it returns how many.
func (s *Store) PruneNames(now time.Time) (int, error) {
	n := 0
	err := s.Update(func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bucketNames)
		if b == nil {
			return nil
		}
		var old [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var ln LearnedName
			if json.Unmarshal(v, &ln) != nil || !now.Before(ln.Expires) {
				old = append(old, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	return n, err
}
