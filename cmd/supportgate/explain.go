package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/console"
	"supportgate/pipeline"
	"supportgate/relay"
	"supportgate/rules"
	"supportgate/store"
)

// cmdExplain dry-runs the rules on one message: thread match, task action,
// auto-reply and its reason. It sends nothing and writes nothing. With a
// gateway running, its console gives the live threads (the whole answer
// when -config is the running config; otherwise the rules are read and
// applied here, with this user's rights); without one the database is
// read directly.
func cmdExplain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("explain", stderr)
	path := configFlag(fs)
	render := fs.Bool("render", false, "also print the auto-reply that would be sent, decoded: headers, text part, HTML part")
	htmlOut := fs.String("html", "", "write the reply's HTML part to this file (to open in a browser)")
	atFlag := fs.String("at", "", `evaluate at this moment, e.g. "2026-12-31T23:40" (in the mailbox's time zone), instead of now`)
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
		fmt.Fprintln(stderr, "usage: supportgate explain -config config.toml [-render] [-html file] [-at 2026-12-31T23:40] [-from a] [-rcpt b] [-ip 1.2.3.4] message.eml")
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
	if *atFlag != "" {
		if in.At, err = explainAt(cfg, *atFlag, *rcpt); err != nil {
			fmt.Fprintln(stderr, "supportgate: -at: "+err.Error())
			return 2
		}
	}
	var htmlBuf bytes.Buffer
	if *htmlOut != "" {
		in.HTML = &htmlBuf
	}
	run := func(tx *bolt.Tx) error {
		if err := pipeline.Explain(context.Background(), tx, cfg, in, stdout); err != nil {
			return err
		}
		return writeExplainHTML(*htmlOut, &htmlBuf, stdout)
	}
	// A running gateway holds the database: its console gives the live
	// threads. On its own config it answers whole; for any other file the
	// rules are evaluated here, with this user's rights (templates and
	// contacts are read by us, never by the gateway), and only the thread
	// state the message depends on comes from the gateway.
	cc := newConsoleClient(cfg)
	st, err := cc.status()
	switch {
	case err == nil && st.Config == cfg.Path && in.At.IsZero() && in.HTML == nil:
		// (-at and -html are evaluated here, with the live threads.)
		resp, err := cc.do(http.MethodPost, "/explain", explainQuery(in), bytes.NewReader(raw))
		if err != nil {
			fmt.Fprintln(stderr, "supportgate: "+err.Error())
			return 1
		}
		defer resp.Body.Close()
		fmt.Fprintln(stdout, "source:      the running gateway (its config, the live threads)")
		io.Copy(stdout, resp.Body)
		return 0
	case err == nil:
		snap, err := liveState(cc, raw)
		if err != nil {
			fmt.Fprintln(stderr, "supportgate: "+err.Error())
			return 1
		}
		fmt.Fprintln(stdout, "source:      the rules of "+cfg.Path+" (read here), the running gateway's live threads")
		if err := withSnapshot(snap, run); err != nil {
			fmt.Fprintln(stderr, "supportgate: "+err.Error())
			return 1
		}
		return 0
	case errors.Is(err, errLogin):
		fmt.Fprintln(stdout, "note:        "+err.Error())
	}
	if err := withState(cfg, stdout, run); err != nil {
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	return 0
}

func explainQuery(in pipeline.ExplainInput) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"from": in.MailFrom, "rcpt": in.Rcpt, "ip": in.ClientIP, "helo": in.Helo} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if in.Render {
		q.Set("render", "1")
	}
	return q
}

// liveState asks the console for the threads the message depends on.
func liveState(cc *consoleClient, raw []byte) (*store.Snapshot, error) {
	resp, err := cc.do(http.MethodPost, "/explain/state", nil, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var snap store.Snapshot
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&snap); err != nil {
		return nil, fmt.Errorf("console /explain/state: %w", err)
	}
	return &snap, nil
}

// withSnapshot runs fn on a throwaway store holding only snap.
func withSnapshot(snap *store.Snapshot, fn func(tx *bolt.Tx) error) error {
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
	if err := st.Update(func(tx *bolt.Tx) error { return store.LoadSnapshot(tx, snap) }); err != nil {
		return err
	}
	return st.View(fn)
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
		fmt.Fprintln(stdout, "note:        the database is locked (a gateway is running but its console.listen did not answer):\n             threads are NOT looked up; the answer below is for a message that starts a new thread")
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
	if cfg.Console.UsersFile != "" {
		if _, err := console.LoadUsers(cfg.Console.UsersFile); err != nil {
			return &rules.KeyError{Key: "console.users_file", Msg: err.Error()}
		}
	}
	return pipeline.NewContacts(cfg.Contacts.File).Load()
}

// explainAt reads -at: RFC 3339, or a local "2006-01-02T15:04" in the
// time zone of the mailbox's [hours] (else the machine's).
func explainAt(cfg *rules.Config, v, rcpt string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	loc := time.Local
	if s := cfg.SettingsFor(rcpt); s.Hours != nil {
		loc = s.Hours.Loc
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a moment like 2026-12-31T23:40", v)
}

// writeExplainHTML writes -html's file (nothing when no reply was made).
func writeExplainHTML(path string, b *bytes.Buffer, stdout io.Writer) error {
	if path == "" {
		return nil
	}
	if b.Len() == 0 {
		fmt.Fprintln(stdout, "html:        no reply would be sent: "+path+" not written")
		return nil
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "html:        the reply's HTML part is in %s\n", path)
	return nil
}
