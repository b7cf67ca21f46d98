package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"supportgate/console"
	"supportgate/gateway"
	"supportgate/rules"
)

// consoleClient talks to a running gateway's [console] listener (explain,
// db check, db backup). The login, when the console has a users file,
// comes from SUPPORTGATE_CONSOLE_USER and SUPPORTGATE_CONSOLE_PASSWORD
// (never a flag: flags show in ps); without them, and without a users
// file, from the built-in login's password file in storage.dir, which
// only root and the service user can read (console/password.go).
type consoleClient struct {
	base       string
	user, pass string
	hc         *http.Client
}

var errLogin = errors.New("the console asks for a login: set SUPPORTGATE_CONSOLE_USER and SUPPORTGATE_CONSOLE_PASSWORD (without [console] users_file: run as root or the service user, who can read storage.dir/" + console.PasswordName + ")")

func newConsoleClient(cfg *rules.Config) *consoleClient {
	host, port, err := net.SplitHostPort(cfg.Console.Listen)
	if err != nil {
		return nil
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	c := &consoleClient{base: "http://" + net.JoinHostPort(host, port), user: os.Getenv("SUPPORTGATE_CONSOLE_USER"),
		pass: os.Getenv("SUPPORTGATE_CONSOLE_PASSWORD"), hc: &http.Client{Timeout: 10 * time.Minute}}
	if c.user == "" && cfg.Console.UsersFile == "" {
		// Unreadable (another OS user): no login, and the console says 401.
		if p, err := console.ReadPassword(console.PasswordFile(cfg)); err == nil {
			c.user, c.pass = console.DefaultUser, p
		}
	}
	return c
}

// do sends one request; a non-200 answer is an error with its text.
func (c *consoleClient) do(method, path string, q url.Values, body io.Reader) (*http.Response, error) {
	if c == nil {
		return nil, errors.New("console.listen is not host:port")
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, err
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		resp.Body.Close()
		return nil, errLogin
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("console %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp, nil
}

// status asks which config the running gateway uses; an error means no
// gateway answers there (or the login failed: errLogin).
func (c *consoleClient) status() (*gateway.Status, error) {
	if c != nil {
		c.hc.Timeout = 3 * time.Second
		defer func() { c.hc.Timeout = 10 * time.Minute }()
	}
	resp, err := c.do(http.MethodGet, "/status", nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var st gateway.Status
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st); err != nil {
		return nil, fmt.Errorf("console /status: %w", err)
	}
	return &st, nil
}
