// Package console is the operator's listener ([console] listen): explain
// against the live state, database check and backup, and (issue 12) the
// operator's page. It is never the [http] listener, which faces Bitrix24
// and may face the internet. Every request needs a login (HTTP Basic or
// the pages' form, against bcrypt hashes): the users of [console]
// users_file, or, without one, the built-in user admin whose password is
// made once into storage.dir/console.password (password.go). Only
// [console] open_loopback = true opens a loopback console to every local
// user (the demo).
package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"supportgate/rules"
)

// Server is the console listener. Handlers are added with Handle before
// Start.
type Server struct {
	mux  *http.ServeMux
	log  *slog.Logger
	srv  *http.Server
	ln   net.Listener
	mu   sync.Mutex
	auth *Users // nil: no login (open_loopback)

	builtinPass string // the password file's password builtin was made from
	builtin     *Users

	sessions sessions // the pages' logins (pages.go)
	throttle throttle // slows password guessing on the login form
}

// New makes the console for cfg: the users file, when set, is read now
// (an unreadable one is an error naming console.users_file).
func New(cfg *rules.Config, log *slog.Logger) (*Server, error) {
	s := &Server{mux: http.NewServeMux(), log: log}
	if err := s.SetConfig(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// SetConfig re-reads the users file (a reload). The listen address needs
// a restart.
func (s *Server) SetConfig(cfg *rules.Config) error {
	var u *Users
	if cfg.Console.UsersFile != "" {
		var err error
		if u, err = LoadUsers(cfg.Console.UsersFile); err != nil {
			return &rules.KeyError{Key: "console.users_file", Msg: err.Error()}
		}
	} else if !rules.LoopbackListen(cfg.Console.Listen) {
		return &rules.KeyError{Key: "console.users_file", Msg: "required when console.listen is not loopback"}
	} else if !cfg.Console.OpenLoopback {
		var err error
		if u, err = s.builtinLogin(cfg); err != nil {
			return &rules.KeyError{Key: "console.users_file", Msg: "not set, and the built-in login's password file: " + err.Error()}
		}
	}
	s.mu.Lock()
	s.auth = u
	s.mu.Unlock()
	return nil
}

// builtinLogin is the admin login of the password file, made on first
// use; the bcrypt hash is kept in memory and remade only when the file
// changes. The log names the file, never the password.
func (s *Server) builtinLogin(cfg *rules.Config) (*Users, error) {
	path := PasswordFile(cfg)
	pass, created, err := EnsurePassword(path)
	if err != nil {
		return nil, err
	}
	if created {
		s.log.Info("console: made a password for the built-in login (no [console] users_file); read it as root or the service user", "user", DefaultUser, "file", path)
	}
	s.mu.Lock()
	u := s.builtin
	if s.builtinPass != pass {
		u = nil
	}
	s.mu.Unlock()
	if u != nil {
		return u, nil
	}
	if u, err = builtinUsers(pass); err != nil {
		return nil, err
	}
	if !created {
		s.log.Info("console: login for the built-in user (no [console] users_file)", "user", DefaultUser, "file", path)
	}
	s.mu.Lock()
	s.builtin, s.builtinPass = u, pass
	s.mu.Unlock()
	return u, nil
}

// Handle adds a route ("POST /explain"); every route is behind the login.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, s.guard(h)) }

// HandleFunc is Handle for a function.
func (s *Server) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	s.Handle(pattern, http.HandlerFunc(h))
}

// guard asks for a login unless open_loopback opened the console.
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		u := s.auth
		s.mu.Unlock()
		if u != nil {
			name, pass, ok := r.BasicAuth()
			if !ok || !u.Check(name, pass) {
				if ok {
					s.log.Warn("console: login refused", "user", name, "client", r.RemoteAddr)
				}
				w.Header().Set("WWW-Authenticate", `Basic realm="supportgate console", charset="UTF-8"`)
				http.Error(w, "login required", http.StatusUnauthorized)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// Start listens on addr and serves in the background.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.ln = ln
	// No write timeout: a backup of a large database streams for a while.
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("console listener stopped", "err", err)
		}
	}()
	return nil
}

// Addr is where the console listens ("" before Start).
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops the listener, letting requests finish within ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

// Users are the console logins: name → bcrypt hash.
type Users struct{ hash map[string][]byte }

// LoadUsers reads "name:hash" lines (as `htpasswd -B` writes them, or
// `supportgate console-user`); blank lines and # comments are skipped.
func LoadUsers(path string) (*Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	u := &Users{hash: map[string][]byte{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, h, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("%s line %d: want name:bcrypt-hash", path, n)
		}
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			return nil, fmt.Errorf("%s line %d: user %q: not a bcrypt hash", path, n, name)
		}
		u.hash[name] = []byte(h)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(u.hash) == 0 {
		return nil, fmt.Errorf("%s: no users", path)
	}
	return u, nil
}

// dummy is compared against for unknown names, so a login takes as long
// whether the name exists or not.
var dummy, _ = bcrypt.GenerateFromPassword([]byte("no such user"), bcrypt.DefaultCost)

// Check reports whether name and password match a line of the file.
func (u *Users) Check(name, password string) bool {
	h, ok := u.hash[name]
	if !ok {
		bcrypt.CompareHashAndPassword(dummy, []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword(h, []byte(password)) == nil
}

// HashLine is a users-file line for name and password.
func HashLine(name, password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	return name + ":" + string(h), nil
}
