// Package bitrixtest is a fake Bitrix24 portal for tests: an httptest
// server that speaks the inbound-webhook REST protocol the way a real
// portal does (docs/bitrix24.md §9; a bare § here cites that file), keeps its state in memory, and
// can post outgoing-webhook events to a handler.
//
// It is meant to catch client mistakes, so it is strict where the real
// portal is: wrong secret → 401, unknown method → 404, positional
// arguments for task.commentitem.* (a wrong order gets the #512 error),
// invalid JSON → no parameters at all, string task ids, "result": [] for a
// missing task. Failures can be injected: Throttle, FailNext,
// CreateThenTimeout, CreateThenDrop, Redirect.
package bitrixtest

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a Portal. The zero value is fine.
type Options struct {
	UserID    int64  // the webhook's user (default 1)
	UserName  string // default "Webhook Robot"
	UserEmail string // default "robot@portal.test"
	Secret    string // default: random
	FolderID  int64  // Drive folder that accepts uploads (default 11)
	// RateBurst and RatePerSec turn on the leaky bucket from the start
	// (a real portal: 50 and 2, §1.6); see RateLimit.
	RateBurst  int
	RatePerSec float64
}

// Portal is the fake. All exported methods are safe for concurrent use.
type Portal struct {
	srv    *httptest.Server
	userID int64
	secret string
	folder int64
	stop   chan struct{}
	loc    *time.Location

	mu          sync.Mutex
	users       map[int64]*User
	tasks       map[int64]*Task
	comments    map[int64][]*Comment // by task id
	chat        map[int64][]*ChatMessage
	files       map[int64]*File
	attachments map[int64]int64 // attachment id → Drive object id
	contacts    map[int64]*Contact
	issue11
	seq   map[string]int64
	calls []Call

	// failure injection
	throttle      int
	fails         map[string][]failure
	stalls        map[string][]stallMode
	redirect      string
	emptyAttached string
	bucket        leakyBucket
	admitted      int // requests the bucket let through
	refused       int // requests it refused (QUERY_LIMIT_EXCEEDED)
	batches       []int
	batchCut      int  // the next batch runs only this many sub-calls (-1: all)
	batchStall    bool // set by a cut batch: its answer is lost
	hold          chan struct{}
	held          int
}

// New starts a portal and stops it when the test ends.
func New(t testing.TB) *Portal { return NewWithOptions(t, Options{}) }

// NewWithOptions starts a portal configured by o.
func NewWithOptions(t testing.TB, o Options) *Portal {
	t.Helper()
	p := build(o)
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.Close)
	return p
}

// Listen starts a portal on ln outside a test: the local demo
// (cmd/fakeportal) uses it. Close stops it.
func Listen(ln net.Listener, o Options) *Portal {
	p := build(o)
	p.srv = httptest.NewUnstartedServer(p)
	p.srv.Listener.Close()
	p.srv.Listener = ln
	p.srv.Start()
	return p
}

func build(o Options) *Portal {
	if o.UserID <= 0 {
		o.UserID = 1
	}
	if o.UserName == "" {
		o.UserName = "Webhook Robot"
	}
	if o.UserEmail == "" {
		o.UserEmail = "robot@portal.test"
	}
	if o.Secret == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		o.Secret = hex.EncodeToString(b)
	}
	if o.FolderID <= 0 {
		o.FolderID = 11
	}
	p := &Portal{
		userID:        o.UserID,
		secret:        o.Secret,
		folder:        o.FolderID,
		stop:          make(chan struct{}),
		loc:           time.FixedZone("MSK", 3*3600), // offsets must be honoured
		users:         map[int64]*User{},
		tasks:         map[int64]*Task{},
		comments:      map[int64][]*Comment{},
		chat:          map[int64][]*ChatMessage{},
		files:         map[int64]*File{},
		attachments:   map[int64]int64{},
		contacts:      map[int64]*Contact{},
		issue11:       newIssue11(o.UserID),
		seq:           map[string]int64{"task": 100, "comment": 3000, "msg": 80000, "file": 9000, "attach": 900, "contact": 40},
		fails:         map[string][]failure{},
		stalls:        map[string][]stallMode{},
		emptyAttached: "{}",
		batchCut:      -1,
		bucket:        leakyBucket{max: float64(o.RateBurst), rate: o.RatePerSec},
	}
	first, last, _ := strings.Cut(o.UserName, " ")
	p.users[o.UserID] = &User{ID: o.UserID, Name: first, LastName: last, Email: o.UserEmail}
	return p
}

// Close stops the server; stalled handlers are released first.
func (p *Portal) Close() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	p.srv.CloseClientConnections()
	p.srv.Close()
}

// URL is the portal origin, e.g. http://127.0.0.1:PORT.
func (p *Portal) URL() string { return p.srv.URL }

// WebhookURL is the inbound webhook: URL/rest/USER/SECRET/.
func (p *Portal) WebhookURL() string {
	return p.srv.URL + "/rest/" + strconv.FormatInt(p.userID, 10) + "/" + p.secret + "/"
}

// Secret returns the webhook secret, e.g. to assert it never leaks.
func (p *Portal) Secret() string { return p.secret }

// UserID is the webhook user's id.
func (p *Portal) UserID() int64 { return p.userID }

// FolderID is the Drive folder that accepts uploads.
func (p *Portal) FolderID() int64 { return p.folder }

// Domain is what the portal puts into auth[domain] of its events.
func (p *Portal) Domain() string { return strings.TrimPrefix(p.srv.URL, "http://") }

// next hands out ids; callers hold p.mu.
func (p *Portal) next(kind string) int64 {
	p.seq[kind]++
	return p.seq[kind]
}

func (p *Portal) now() time.Time { return time.Now().In(p.loc).Truncate(time.Second) }

// isoTime is the portal's date format: ISO-8601 with offset.
const isoTime = "2006-01-02T15:04:05-07:00"

// SetEmptyAttachments picks how a comment without files shows
// ATTACHED_OBJECTS: "{}" (docs, the default), "[]" (PHP empty array) or
// "absent". Clients must cope with all three (docs/bitrix24.md §10).
func (p *Portal) SetEmptyAttachments(style string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.emptyAttached = style
}
