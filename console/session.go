package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"sync"
	"time"
)

// Sessions of the operator's pages. They live in memory: a restart logs
// everyone out, which is fine for a handful of operators and keeps
// session secrets out of the database and its backups.

const (
	sessionCookie = "sg_session"
	csrfCookie    = "sg_csrf" // the token before a login (and with no login at all)
	sessionTTL    = 12 * time.Hour
)

type session struct {
	user    string
	csrf    string
	expires time.Time
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func newToken() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *sessions) create(user string) (string, *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*session{}
	}
	now := time.Now()
	for k, v := range s.m { // a few operators: a sweep per login is nothing
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	id := newToken()
	ss := &session{user: user, csrf: newToken(), expires: now.Add(sessionTTL)}
	s.m[id] = ss
	return id, ss
}

func (s *sessions) get(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.m[id]
	if ss == nil || time.Now().After(ss.expires) {
		delete(s.m, id)
		return nil
	}
	return ss
}

func (s *sessions) drop(id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// throttle slows password guessing: after freeTries failures for one
// client IP or one user name, further tries are refused (429) for a
// window that doubles with each further failure, up to maxLock. A right
// password during the window is refused too, or the window would only
// slow a guesser down by one request.
type throttle struct {
	mu   sync.Mutex
	fail map[string]*failures
	now  func() time.Time
}

type failures struct {
	n     int
	until time.Time // refused until then
	last  time.Time
}

const (
	freeTries = 5
	firstLock = 30 * time.Second
	maxLock   = 15 * time.Minute
	forgetAft = time.Hour // failures this old are forgiven
)

func (t *throttle) clock() time.Time {
	if t.now != nil {
		return t.now()
	}
	return time.Now()
}

// wait is how long the keys must still wait (0: they may try).
func (t *throttle) wait(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock()
	var w time.Duration
	for _, k := range keys {
		if f := t.fail[k]; f != nil && f.until.After(now) && f.until.Sub(now) > w {
			w = f.until.Sub(now)
		}
	}
	return w
}

func (t *throttle) failed(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fail == nil {
		t.fail = map[string]*failures{}
	}
	now := t.clock()
	for k, f := range t.fail {
		if now.Sub(f.last) > forgetAft {
			delete(t.fail, k)
		}
	}
	for _, k := range keys {
		f := t.fail[k]
		if f == nil {
			f = &failures{}
			t.fail[k] = f
		}
		f.n++
		f.last = now
		if f.n >= freeTries {
			lock := firstLock << min(f.n-freeTries, 10)
			if lock > maxLock {
				lock = maxLock
			}
			f.until = now.Add(lock)
		}
	}
}

func (t *throttle) succeeded(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.fail, k)
	}
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
