package console

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"supportgate/rules"
)

// DefaultUser is the built-in login when [console] users_file is not
// set. Its password is made once, at random, into PasswordFile: the
// console on loopback is then as closed as the database file is (0600,
// the service user's), instead of open to every local user. The CLI
// (explain, db) reads the same file, so root and the service user need
// no environment variables.
const DefaultUser = "admin"

// PasswordName is the password file's name inside storage.dir.
const PasswordName = "console.password"

// PasswordFile is where the built-in login's password is kept.
func PasswordFile(cfg *rules.Config) string { return filepath.Join(cfg.Storage.Dir, PasswordName) }

// EnsurePassword returns the password in path, making the file (0600)
// with a fresh random password when there is none. created says it was
// made now. A file others may read is tightened to 0600.
func EnsurePassword(path string) (pass string, created bool, err error) {
	if p, err := ReadPassword(path); err == nil {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(path, 0o600); err != nil {
				return "", false, err
			}
		}
		return p, false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, err
	}
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", false, err
	}
	pass = base64.RawURLEncoding.EncodeToString(b[:])
	// O_EXCL: two starts at once must not each write their own password.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		p, err := ReadPassword(path)
		return p, false, err
	}
	if err != nil {
		return "", false, err
	}
	if _, err := f.WriteString(pass + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return "", false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", false, err
	}
	return pass, true, f.Close()
}

// ReadPassword reads the built-in login's password file (the first line).
func ReadPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	p, _, _ := strings.Cut(string(b), "\n")
	if p = strings.TrimSpace(p); p == "" {
		return "", fmt.Errorf("%s is empty: remove it and restart to get a new password", path)
	}
	return p, nil
}

// builtinUsers is the one-login Users for the password file.
func builtinUsers(pass string) (*Users, error) {
	line, err := HashLine(DefaultUser, pass)
	if err != nil {
		return nil, err
	}
	name, h, _ := strings.Cut(line, ":")
	return &Users{hash: map[string][]byte{name: []byte(h)}}, nil
}
