package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Message is one spooled message: something we accepted (to forward and
// process) or something we wrote (to send). Jobs refer to it by ID; the
// spool file goes when its last job is done.
type Message struct {
	ID       string    `json:"id"`
	From     string    `json:"from"`
	Rcpts    []string  `json:"rcpts"`
	Size     int64     `json:"size"`
	Received time.Time `json:"received"`
	// Outbound marks mail we composed (auto-replies, notifications, DSNs).
	Outbound bool `json:"outbound,omitempty"`
	// Inline: the body is in the database (see InlineMax), not a file.
	Inline   bool   `json:"inline,omitempty"`
	ClientIP string `json:"client_ip,omitempty"`
	Helo     string `json:"helo,omitempty"`
	// Relay is the trusted relay that handed the message over; ClientIP
	// and Helo are then the original client's, from its Received: line.
	Relay string `json:"relay,omitempty"`
	// AuthResults is our Authentication-Results field for the forwarded
	// copy, once the sender is checked ("-" when checked without result).
	AuthResults string `json:"auth_results,omitempty"`
	// SPF and DMARC are the results of the sender check (pass, fail,
	// none, …; "" before it): a DSN never goes to a sender that failed.
	SPF   string `json:"spf,omitempty"`
	DMARC string `json:"dmarc,omitempty"`
	// Pending counts the jobs still referring to the message.
	Pending int `json:"pending"`
	// Channel: "" for SMTP, "web" for a web-form appeal (set by the
	// gateway, never read from a header); Consent is a web appeal's
	// personal-data consent record (time, client IP, text version).
	Channel string `json:"channel,omitempty"`
	Consent string `json:"consent,omitempty"`
}

// Job states. Finished jobs are deleted; their outcome is in the log.
const (
	Queued  = "queued"
	Running = "running"
)

// Job is one durable step of work on a message.
type Job struct {
	ID        uint64          `json:"id"`
	Kind      string          `json:"kind"`
	MsgID     string          `json:"msg"`
	State     string          `json:"state"`
	Attempts  int             `json:"attempts"`
	Created   time.Time       `json:"created"`
	NextRun   time.Time       `json:"next_run"`
	LastError string          `json:"last_error,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// NewID makes a queue id: time-ordered (so ids sort by arrival, as
// Postfix's long queue ids do) with random bits against collisions.
func NewID() string {
	var b [5]byte
	rand.Read(b[:])
	return strconv.FormatInt(time.Now().UnixMicro(), 36) + hex.EncodeToString(b[:])
}

func dueKey(t time.Time, id uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano()))
	binary.BigEndian.PutUint64(k[8:], id)
	return k
}

func jobKey(id uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, id)
	return k
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

// PutMessage records m and its first jobs, in the caller's transaction.
func PutMessage(tx *bolt.Tx, m *Message, jobs ...*Job) error {
	m.Pending = 0
	if err := putJSON(tx.Bucket(bucketMsgs), []byte(m.ID), m); err != nil {
		return err
	}
	return AddJobs(tx, m.ID, jobs...)
}

// GetMessage reads a message record; nil when gone.
func GetMessage(tx *bolt.Tx, id string) (*Message, error) {
	v := tx.Bucket(bucketMsgs).Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	var m Message
	return &m, json.Unmarshal(v, &m)
}

// AddJobs queues jobs on message msgID, due at their NextRun (now when
// zero). An empty msgID makes jobs that belong to no message (a Bitrix24
// event to handle).
func AddJobs(tx *bolt.Tx, msgID string, jobs ...*Job) error {
	mb := tx.Bucket(bucketMsgs)
	var m *Message
	if msgID != "" {
		var err error
		if m, err = GetMessage(tx, msgID); err != nil {
			return err
		}
		if m == nil {
			return fmt.Errorf("store: no message %s", msgID)
		}
	}
	jb, db := tx.Bucket(bucketJobs), tx.Bucket(bucketDue)
	now := time.Now()
	for _, j := range jobs {
		id, err := jb.NextSequence()
		if err != nil {
			return err
		}
		j.ID, j.MsgID, j.State = id, msgID, Queued
		if j.Created.IsZero() {
			j.Created = now
		}
		if j.NextRun.IsZero() {
			j.NextRun = now
		}
		if err := putJSON(jb, jobKey(id), j); err != nil {
			return err
		}
		if err := db.Put(dueKey(j.NextRun, id), []byte(j.Kind)); err != nil {
			return err
		}
		if m != nil {
			m.Pending++
		}
	}
	if m == nil {
		return nil
	}
	return putJSON(mb, []byte(msgID), m)
}

// GetJob reads one job; nil when it is done.
func GetJob(tx *bolt.Tx, id uint64) (*Job, error) {
	v := tx.Bucket(bucketJobs).Get(jobKey(id))
	if v == nil {
		return nil, nil
	}
	var j Job
	return &j, json.Unmarshal(v, &j)
}

// Claim takes up to limit due jobs, marking each running, counting the
// attempt and moving its next run to now+lease(attempts) before anyone
// dials anything: a crash mid-attempt then backs off instead of
// hot-looping (mox's write-before-attempt).
func (s *Store) Claim(now time.Time, limit int, lease func(attempts int) time.Duration) ([]*Job, error) {
	// Look first: a write transaction costs an fsync even when it changes
	// nothing, and the dispatcher is woken after every commit.
	if next := s.NextDue(); next.IsZero() || next.After(now) {
		return nil, nil
	}
	var out []*Job
	err := s.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDue).Cursor()
		jb := tx.Bucket(bucketJobs)
		var stale [][]byte
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if int64(binary.BigEndian.Uint64(k)) > now.UnixNano() {
				break
			}
			id := binary.BigEndian.Uint64(k[8:])
			j, err := GetJob(tx, id)
			if err != nil {
				return err
			}
			stale = append(stale, append([]byte(nil), k...))
			if j == nil || j.State != Queued {
				continue
			}
			j.State = Running
			j.Attempts++
			j.NextRun = now.Add(lease(j.Attempts))
			if err := putJSON(jb, jobKey(id), j); err != nil {
				return err
			}
			out = append(out, j)
		}
		db := tx.Bucket(bucketDue)
		for _, k := range stale {
			if err := db.Delete(k); err != nil {
				return err
			}
		}
		for _, j := range out {
			if err := db.Put(dueKey(j.NextRun, j.ID), []byte(j.Kind)); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// NextDue is when the earliest queued job is due (zero when none).
func (s *Store) NextDue() time.Time {
	var t time.Time
	s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketDue).Cursor().First(); k != nil {
			t = time.Unix(0, int64(binary.BigEndian.Uint64(k)))
		}
		return nil
	})
	return t
}

// SetAuthResults records the Authentication-Results field of message id.
func (s *Store) SetAuthResults(id, field string) error { return s.SetAuth(id, field, "", "") }

// SetAuth records the sender check of message id: the field for the
// forwarded copy and the SPF and DMARC results ("" leaves them).
func (s *Store) SetAuth(id, field, spf, dmarc string) error {
	return s.Update(func(tx *bolt.Tx) error {
		m, err := GetMessage(tx, id)
		if err != nil || m == nil {
			return err
		}
		m.AuthResults = field
		if spf != "" {
			m.SPF = spf
		}
		if dmarc != "" {
			m.DMARC = dmarc
		}
		return putJSON(tx.Bucket(bucketMsgs), []byte(id), m)
	})
}
