package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/console"
	"supportgate/gateway"
	"supportgate/rules"
	"supportgate/store"
)

// runGateway starts the gateway of config in-process (the CLI then talks
// to its console).
func runGateway(t *testing.T, config string) *gateway.Gateway {
	t.Helper()
	cfg, err := rules.Load(config)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Stop(ctx)
	})
	return g
}

// A backup made online through the running gateway restores: a new
// storage dir with the copy as its database has the thread.
func TestDBBackupRestores(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, freePort(t), freePort(t))
	g := runGateway(t, cfg)
	g.Store.Update(func(tx *bolt.Tx) error {
		return store.PutThread(tx, &store.Thread{Requester: "keep@customer.test", TaskID: 4242})
	})
	backup := filepath.Join(dir, "backup.db")
	code, out, errs := cli("db", "backup", "-config", cfg, backup)
	if code != 0 || !strings.Contains(out, "online") {
		t.Fatalf("db backup: %d %s %s", code, out, errs)
	}
	if code, out, errs := cli("db", "check", "-config", cfg); code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("db check through the console: %d %s %s", code, out, errs)
	}
	// The login came from storage.dir/console.password (the same OS
	// user can read it); a user who cannot read it gets the 401's advice.
	pw := filepath.Join(dir, "state", console.PasswordName)
	if err := os.Rename(pw, pw+".away"); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := cli("db", "backup", "-config", cfg, backup+".2"); code == 0 || !strings.Contains(errs, "asks for a login") {
		t.Errorf("db backup without the password file: %d %s", code, errs)
	}
	os.Rename(pw+".away", pw)
	// Restore into a new storage dir, as the README says.
	restored := t.TempDir()
	data, _ := os.ReadFile(backup)
	os.WriteFile(filepath.Join(restored, store.DBFile), data, 0o600)
	st, err := store.Open(restored)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var th *store.Thread
	st.View(func(tx *bolt.Tx) (err error) { th, err = store.ThreadByTask(tx, 4242); return })
	if th == nil || th.Requester != "keep@customer.test" {
		t.Fatalf("restored thread: %+v", th)
	}
}

// With no gateway running, db check reads the file itself and finds
// damage injected into it; serve then refuses to start, naming the file.
func TestDBCheckFindsDamage(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, freePort(t), freePort(t))
	st, err := store.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	st.Update(func(tx *bolt.Tx) error {
		for i := 0; i < 3000; i++ {
			store.PutThread(tx, &store.Thread{Requester: "a@customer.test", Subject: strings.Repeat("y", 300)})
		}
		return nil
	})
	st.Close()
	if code, out, errs := cli("db", "check", "-config", cfg); code != 0 {
		t.Fatalf("sound database: %d %s %s", code, out, errs)
	}
	path := filepath.Join(dir, "state", store.DBFile)
	data, _ := os.ReadFile(path)
	ps := os.Getpagesize()
	for p := len(data) / ps / 2; p < len(data)/ps/2+40; p += 3 {
		copy(data[p*ps:], bytes.Repeat([]byte{0x5A}, 24))
	}
	os.WriteFile(path, data, 0o600)
	code, out, _ := cli("db", "check", "-config", cfg)
	if code != 1 || !strings.Contains(out, "problem") {
		t.Fatalf("damaged database: %d %s", code, out)
	}
	c, _ := rules.Load(cfg)
	if _, err := gateway.New(c, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("gateway on a damaged database: %v", err)
	}
}

// A half-truncated database: a clear error naming the file, no panic.
func TestHalfTruncatedDatabase(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, freePort(t), freePort(t))
	st, err := store.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	st.Update(func(tx *bolt.Tx) error {
		for i := 0; i < 3000; i++ {
			store.PutThread(tx, &store.Thread{Requester: "a@customer.test", Subject: strings.Repeat("z", 300)})
		}
		return nil
	})
	st.Close()
	path := filepath.Join(dir, "state", store.DBFile)
	fi, _ := os.Stat(path)
	os.Truncate(path, fi.Size()/2)
	c, _ := rules.Load(cfg)
	_, err = gateway.New(c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("half-truncated: %v", err)
	}
	if code, out, errs := cli("db", "check", "-config", cfg); code != 1 || !strings.Contains(out+errs, "damaged") && !strings.Contains(out, "problem") {
		t.Fatalf("db check on a half-truncated file: %d %s %s", code, out, errs)
	}
}

// explain through the running gateway: its own config is answered there;
// another file's rules are applied here, with the live threads; a
// console off loopback without users_file is refused by check.
func TestExplainThroughConsole(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, freePort(t), freePort(t))
	g := runGateway(t, cfg)
	g.Store.Update(func(tx *bolt.Tx) error {
		th := &store.Thread{Requester: "ann@customer.test", TaskID: 77}
		th.AddParticipant("ann@customer.test")
		store.PutThread(tx, th)
		store.AddID(tx, th, "first@customer.test", store.IDIncoming)
		return store.PutThread(tx, th)
	})
	msg := filepath.Join(dir, "m.eml")
	os.WriteFile(msg, []byte("From: ann@customer.test\r\nTo: support@example.com\r\nSubject: Re: x\r\nMessage-ID: <m2@customer.test>\r\nIn-Reply-To: <first@customer.test>\r\n\r\nmore\r\n"), 0o600)
	code, out, errs := cli("explain", "-config", cfg, msg)
	if code != 0 || !strings.Contains(out, "running gateway (its config") || !strings.Contains(out, "task 77") {
		t.Fatalf("explain, running config: %d\n%s%s", code, out, errs)
	}
	text, _ := os.ReadFile(cfg)
	other := filepath.Join(dir, "other.toml")
	os.WriteFile(other, []byte(string(text)+"[rules]\nexclude_domains = [\"customer.test\"]\n"), 0o600)
	code, out, errs = cli("explain", "-config", other, msg)
	if code != 0 || !strings.Contains(out, "the rules of "+other) || !strings.Contains(out, "task 77") {
		t.Fatalf("explain, another config: %d\n%s%s", code, out, errs)
	}

	open := filepath.Join(dir, "open.toml")
	os.WriteFile(open, []byte(strings.Replace(string(text), "[console]\nlisten = ", "[console]\nlisten = \"0.0.0.0:8026\"\n#", 1)), 0o600)
	if code, _, errs := cli("check", "-config", open); code != 1 || !strings.Contains(errs, "console.users_file") {
		t.Errorf("check, console off loopback without users_file: %d %s", code, errs)
	}
}
