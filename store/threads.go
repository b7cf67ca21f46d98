package store

import (
	"encoding/binary"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Thread is one customer conversation: the requester, every Message-ID
// seen or sent in it, and its Bitrix24 task once there is one.
type Thread struct {
	ID            string   `json:"id"`
	Mailbox       string   `json:"mailbox"`   // the support address written to
	Requester     string   `json:"requester"` // canonical address
	RequesterName string   `json:"requester_name,omitempty"`
	Subject       string   `json:"subject"` // decoded, as first written
	Participants  []string `json:"participants"`
	TaskID        int64    `json:"task_id,omitempty"`
	ChatID        int64    `json:"chat_id,omitempty"`
	RootID        string   `json:"root_id,omitempty"`      // the first message's Message-ID
	LastID        string   `json:"last_id,omitempty"`      // the newest Message-ID, for In-Reply-To
	References    []string `json:"refs,omitempty"`         // for our References: (capped)
	LastComment   int64    `json:"last_comment,omitempty"` // newest comment mailed or seen
	// Channel is where the first message came from ("" mail, "web" the
	// web form); Consent its personal-data consent record (web only).
	Channel string `json:"channel,omitempty"`
	Consent string `json:"consent,omitempty"`
	// Warning is shown in the task text (a sender that failed
	// authentication, for instance).
	Warning string `json:"warning,omitempty"`
	// Unverified: the thread was started by a message whose From is not
	// proven (it failed authentication, or used a thread's tag without
	// proof). Answers then go to AnswerAddr, the envelope sender: the
	// one who actually wrote, never a forged From.
	Unverified bool      `json:"unverified,omitempty"`
	AnswerAddr string    `json:"answer_addr,omitempty"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
}

// How a Message-ID came to be in a thread.
const (
	IDIncoming     = "in"      // a customer's message
	IDAutoReply    = "auto"    // our acknowledgement
	IDNotification = "notify"  // a specialist's comment mailed by us
	IDJournal      = "journal" // the team's own mail seen on the journal address
)

// IDEntry is what the Message-ID index holds.
type IDEntry struct {
	Thread string `json:"t"`
	Kind   string `json:"k"`
}

// maxRefs caps the References we keep per thread: enough for any client
// to find the conversation, small enough for a header.
const maxRefs = 20

// NormID is the index form of a Message-ID: no brackets, lower case (the
// domain is case-insensitive and clients are sloppy with the rest).
func NormID(id string) string { return strings.ToLower(strings.Trim(strings.TrimSpace(id), "<>")) }

// LookupID finds the thread that a Message-ID belongs to.
func LookupID(tx *bolt.Tx, msgID string) (*IDEntry, error) {
	v := tx.Bucket(bucketIDs).Get([]byte(NormID(msgID)))
	if v == nil {
		return nil, nil
	}
	var e IDEntry
	return &e, json.Unmarshal(v, &e)
}

// GetThread reads a thread; nil when unknown.
func GetThread(tx *bolt.Tx, id string) (*Thread, error) {
	v := tx.Bucket(bucketThreads).Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	var t Thread
	return &t, json.Unmarshal(v, &t)
}

// PutThread writes a thread (creating its id when new).
func PutThread(tx *bolt.Tx, t *Thread) error {
	if t.ID == "" {
		t.ID = NewID()
		t.Created = time.Now()
	}
	t.Updated = time.Now()
	if err := putJSON(tx.Bucket(bucketThreads), []byte(t.ID), t); err != nil {
		return err
	}
	if t.TaskID != 0 {
		return tx.Bucket(bucketTasks).Put(taskKey(t.TaskID), []byte(t.ID))
	}
	return nil
}

// AddID indexes msgID under thread t with its kind, and makes it the
// thread's newest message.
func AddID(tx *bolt.Tx, t *Thread, msgID, kind string) error {
	n := NormID(msgID)
	if n == "" {
		return nil
	}
	if err := putJSON(tx.Bucket(bucketIDs), []byte(n), IDEntry{Thread: t.ID, Kind: kind}); err != nil {
		return err
	}
	if t.RootID == "" {
		t.RootID = strings.Trim(msgID, "<>")
	}
	t.LastID = strings.Trim(msgID, "<>")
	for _, r := range t.References {
		if strings.EqualFold(r, t.LastID) { // seen again: listed once
			return nil
		}
	}
	t.References = append(t.References, t.LastID)
	if len(t.References) > maxRefs {
		// Keep the root (clients thread on it) and the newest.
		t.References = append(t.References[:1], t.References[len(t.References)-maxRefs+1:]...)
	}
	return nil
}

// AnswerTo is where a specialist's answer in this thread is mailed, with
// the name to put on it: the requester, or on an unverified thread the
// envelope sender ("" when it had none: nothing is mailed then).
func (t *Thread) AnswerTo() (addr, name string) {
	if t.Unverified {
		return t.AnswerAddr, ""
	}
	return t.Requester, t.RequesterName
}

// AddParticipant records addr as someone who may continue the thread by
// its subject tag.
func (t *Thread) AddParticipant(addr string) {
	a := strings.ToLower(addr)
	for _, p := range t.Participants {
		if p == a {
			return
		}
	}
	t.Participants = append(t.Participants, a)
}

// IsParticipant reports whether addr is in the thread.
func (t *Thread) IsParticipant(addr string) bool {
	a := strings.ToLower(addr)
	for _, p := range t.Participants {
		if p == a {
			return true
		}
	}
	return false
}

func taskKey(id int64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, uint64(id))
	return k
}

// ThreadByTask finds the thread of a Bitrix24 task.
func ThreadByTask(tx *bolt.Tx, taskID int64) (*Thread, error) {
	v := tx.Bucket(bucketTasks).Get(taskKey(taskID))
	if v == nil {
		return nil, nil
	}
	return GetThread(tx, string(v))
}

// ActiveThreads lists threads with a task updated since since (for the
// reconciler).
func (s *Store) ActiveThreads(since time.Time) ([]*Thread, error) {
	var out []*Thread
	err := s.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketThreads).ForEach(func(k, v []byte) error {
			var t Thread
			if err := json.Unmarshal(v, &t); err != nil {
				return nil // one bad record must not stop the rest
			}
			if t.TaskID != 0 && t.Updated.After(since) {
				out = append(out, &t)
			}
			return nil
		})
	})
	return out, err
}

// Seen records key as done (a mailed comment, a processed event) and
// reports whether it was new. It makes "at most once" steps idempotent.
func Seen(tx *bolt.Tx, key string) (bool, error) {
	b := tx.Bucket(bucketSeen)
	if b.Get([]byte(key)) != nil {
		return false, nil
	}
	return true, b.Put([]byte(key), []byte(strconv.FormatInt(time.Now().UnixNano(), 10)))
}

// PruneSeen forgets seen keys recorded before cutoff, so the bucket does
// not grow forever. Dedup needs memory only as long as an event or a
// retry can still come: the reconciler's cursor covers anything older.
func (s *Store) PruneSeen(cutoff time.Time) (int, error) {
	var old [][]byte
	err := s.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSeen).ForEach(func(k, v []byte) error {
			ts, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || ts < 1e12 { // unparseable, or an old seconds stamp
				ts *= 1e9
			}
			if err == nil && time.Unix(0, ts).Before(cutoff) {
				old = append(old, append([]byte(nil), k...))
			}
			return nil
		})
	})
	if err != nil || len(old) == 0 {
		return 0, err
	}
	return len(old), s.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSeen)
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// WasSeen reports whether key was recorded.
func WasSeen(tx *bolt.Tx, key string) bool { return tx.Bucket(bucketSeen).Get([]byte(key)) != nil }

// CountRecent counts the timestamps under prefix newer than since and
// optionally records now: the per-sender reply counter.
func CountRecent(tx *bolt.Tx, prefix string, since time.Time, record bool) (int, error) {
	b := tx.Bucket(bucketSeen)
	c := b.Cursor()
	n := 0
	var old [][]byte
	for k, v := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, v = c.Next() {
		ts, _ := strconv.ParseInt(string(v), 10, 64)
		if time.Unix(0, ts).After(since) {
			n++
		} else {
			old = append(old, append([]byte(nil), k...))
		}
	}
	if !record {
		return n, nil
	}
	for _, k := range old {
		b.Delete(k)
	}
	now := time.Now().UnixNano()
	return n, b.Put([]byte(prefix+strconv.FormatInt(now, 36)), []byte(strconv.FormatInt(now, 10)))
}
