package store

import (
	"bytes"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"
)

// InlineMax is the largest body kept inside the database instead of a
// spool file. Most support mail is a few kilobytes; keeping it in bbolt
// means its fsync is the group commit's, with no file to create, fsync
// and unlink (on ext4 those directory operations cost more CPU than the
// rest of the accept path together). Bigger bodies stream to a file, so a
// 25 MB message never sits in memory.
const InlineMax = 128 << 10

var bucketBodies = []byte("bodies")

// PutBody stores an inline body for message id (Message.Inline must be
// set), in the caller's transaction.
func PutBody(tx *bolt.Tx, id string, body []byte) error {
	return tx.Bucket(bucketBodies).Put([]byte(id), body)
}

// OpenBody opens the body of message id, wherever it is kept.
func (s *Store) OpenBody(id string) (io.ReadCloser, error) {
	var data []byte
	err := s.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketBodies).Get([]byte(id)); v != nil {
			data = append([]byte(nil), v...) // v is only valid inside the tx
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if data != nil {
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	return os.Open(s.SpoolPath(id))
}

// ReadBody returns the whole body of message id.
func (s *Store) ReadBody(id string) ([]byte, error) {
	r, err := s.OpenBody(id)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// PutOutbound records a message we wrote (a reply, a notification, a
// DSN) and its jobs: inline when small, else written and fsynced to a
// spool file first (a crash before tx commits leaves an orphan file, swept
// at the next start).
func (s *Store) PutOutbound(tx *bolt.Tx, m *Message, body []byte, jobs ...*Job) error {
	m.Size = int64(len(body))
	if len(body) <= InlineMax {
		m.Inline = true
		if err := PutBody(tx, m.ID, body); err != nil {
			return err
		}
	} else {
		if err := writeFileSync(s.SpoolPath(m.ID), body); err != nil {
			return err
		}
		if err := s.SyncDir(s.SpoolDir()); err != nil {
			return err
		}
	}
	return PutMessage(tx, m, jobs...)
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
