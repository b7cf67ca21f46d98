package store

import (
	bolt "go.etcd.io/bbolt"
)

// Snapshot is the part of the thread state one message's threading
// depends on: the Message-IDs it names and their threads, and the thread
// of its [#task] tag. The console hands it to `supportgate explain`
// trying a config other than the running one, which then evaluates
// locally against a throwaway store holding just this.
type Snapshot struct {
	IDs     map[string]IDEntry `json:"ids,omitempty"`
	Threads []*Thread          `json:"threads,omitempty"`
}

// TakeSnapshot collects the entries of msgIDs and of task (0: none).
func TakeSnapshot(tx *bolt.Tx, msgIDs []string, task int64) (*Snapshot, error) {
	s := &Snapshot{IDs: map[string]IDEntry{}}
	seen := map[string]bool{}
	add := func(id string) error {
		if id == "" || seen[id] {
			return nil
		}
		t, err := GetThread(tx, id)
		if err != nil || t == nil {
			return err
		}
		seen[id] = true
		s.Threads = append(s.Threads, t)
		return nil
	}
	for _, id := range msgIDs {
		e, err := LookupID(tx, id)
		if err != nil {
			return nil, err
		}
		if e == nil {
			continue
		}
		s.IDs[NormID(id)] = *e
		if err := add(e.Thread); err != nil {
			return nil, err
		}
	}
	if task != 0 {
		if v := tx.Bucket(bucketTasks).Get(taskKey(task)); v != nil {
			if err := add(string(v)); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// LoadSnapshot writes a snapshot into a (throwaway) store.
func LoadSnapshot(tx *bolt.Tx, s *Snapshot) error {
	for _, t := range s.Threads {
		if t == nil || t.ID == "" {
			continue
		}
		if err := PutThread(tx, t); err != nil {
			return err
		}
	}
	for id, e := range s.IDs {
		if err := putJSON(tx.Bucket(bucketIDs), []byte(NormID(id)), e); err != nil {
			return err
		}
	}
	return nil
}
