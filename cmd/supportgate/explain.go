package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/pipeline"
	"supportgate/relay"
	"supportgate/rules"
	"supportgate/store"
)

// cmdExplain dry-runs the rules on one message: thread match, task action,
// auto-reply and its reason. It sends nothing and writes nothing: the
// thread state is read from the database read-only, or, when the running
// gateway holds it, from a throwaway copy of nothing (and it says so).
func cmdExplain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("explain", stderr)
	path := configFlag(fs)
	render := fs.Bool("render", false, "also print the auto-reply that would be sent")
	from := fs.String("from", "", "envelope sender (default: Return-Path, else From)")
	rcpt := fs.String("rcpt", "", "envelope recipient (default: the first [[mailbox]])")
	ip := fs.String("ip", "", "client IP, to check SPF/DKIM/DMARC (default: not checked)")
	helo := fs.String("helo", "", "client HELO name, with -ip")
	// Flags may come after the file too (explain msg.eml -render): the
	// flag package stops at the first argument, so parse what follows it.
	var files []string
	for rest := args; ; rest = fs.Args()[1:] {
		if code, ok := parseFlags(fs, rest, stdout, stderr); !ok {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
	}
	if len(files) != 1 {
		fmt.Fprintln(stderr, "usage: supportgate explain -config config.toml [-render] [-from a] [-rcpt b] [-ip 1.2.3.4] message.eml")
		return 2
	}
	cfg, err := rules.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	in := pipeline.ExplainInput{Raw: raw, MailFrom: *from, Rcpt: *rcpt, ClientIP: *ip, Helo: *helo, Render: *render}
	// A running gateway holds the database: ask it, so the answer uses
	// the live threads.
	if out, ok := askRunning(cfg, in); ok {
		io.WriteString(stdout, out)
		return 0
	}
	run := func(tx *bolt.Tx) error { return pipeline.Explain(context.Background(), tx, cfg, in, stdout) }
	if err := withState(cfg, stdout, run); err != nil {
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	return 0
}

// askRunning posts the message to the running gateway's loopback-only
// POST /explain. ok is false when no gateway answers there.
func askRunning(cfg *rules.Config, in pipeline.ExplainInput) (string, bool) {
	host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil {
		return "", false
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	q := url.Values{"from": {in.MailFrom}, "rcpt": {in.Rcpt}, "ip": {in.ClientIP}, "helo": {in.Helo}, "config": {cfg.Path}}
	if in.Render {
		q.Set("render", "1")
	}
	u := "http://" + net.JoinHostPort(host, port) + "/explain?" + q.Encode()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Post(u, "message/rfc822", bytes.NewReader(in.Raw))
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", false
	}
	return "source:      the running gateway's live threads, the rules of " + cfg.Path + "\n" + string(body), true
}

// withState runs fn in a read-only transaction on the gateway's database.
// When the database is missing or locked by the running gateway, it uses
// an empty one in a temporary folder, so explain still shows the rules.
func withState(cfg *rules.Config, stdout io.Writer, fn func(tx *bolt.Tx) error) error {
	dbPath := filepath.Join(cfg.Storage.Dir, "supportgate.db")
	if _, err := os.Stat(dbPath); err == nil {
		db, err := bolt.Open(dbPath, 0o600, &bolt.Options{ReadOnly: true, Timeout: 500 * time.Millisecond})
		if err == nil {
			defer db.Close()
			return db.View(fn)
		}
		if !errors.Is(err, bolt.ErrTimeout) {
			return err
		}
		fmt.Fprintln(stdout, "note:        the database is locked (a gateway is running but its http.listen did not answer):\n             threads are NOT looked up; the answer below is for a message that starts a new thread")
	} else {
		fmt.Fprintln(stdout, "note:        no database yet at storage.dir; threads are not looked up")
	}
	tmp, err := os.MkdirTemp("", "supportgate-explain-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	st, err := store.Open(tmp)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.View(fn)
}

// checkMore runs the checks of the later stages (templates, contacts).
func checkMore(cfg *rules.Config, stdout io.Writer) error {
	if _, err := pipeline.LoadTemplates(cfg); err != nil {
		return err
	}
	if cfg.DKIM.Domain != "" {
		if _, err := relay.LoadDKIMKey(cfg.DKIM.KeyFile); err != nil {
			return &rules.KeyError{Key: "dkim.key_file", Msg: err.Error()}
		}
	}
	return pipeline.NewContacts(cfg.Contacts.File).Load()
}
