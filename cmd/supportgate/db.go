package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"

	"supportgate/console"
	"supportgate/rules"
	"supportgate/store"
)

// cmdDB is `supportgate db check` and `supportgate db backup FILE`: through
// the running gateway's console when it holds the database, else on the
// file directly.
func cmdDB(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "check" && args[0] != "backup") {
		fmt.Fprintln(stderr, "usage: supportgate db check -config config.toml\n       supportgate db backup -config config.toml FILE")
		return 2
	}
	sub := args[0]
	fs := newFlagSet("db "+sub, stderr)
	path := configFlag(fs)
	var rest []string
	for a := args[1:]; ; a = fs.Args()[1:] {
		if code, ok := parseFlags(fs, a, stdout, stderr); !ok {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
	}
	if (sub == "backup") != (len(rest) == 1) || len(rest) > 1 {
		fmt.Fprintln(stderr, "usage: supportgate db check -config config.toml\n       supportgate db backup -config config.toml FILE")
		return 2
	}
	cfg, err := rules.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	dbPath := filepath.Join(cfg.Storage.Dir, store.DBFile)
	cc := newConsoleClient(cfg)
	_, serr := cc.status()
	running := serr == nil
	if errors.Is(serr, errLogin) {
		fmt.Fprintln(stderr, "supportgate: "+serr.Error())
		return 1
	}
	if sub == "check" {
		return dbCheck(cc, running, dbPath, stdout, stderr)
	}
	return dbBackup(cc, running, dbPath, rest[0], stdout, stderr)
}

func dbCheck(cc *consoleClient, running bool, dbPath string, stdout, stderr io.Writer) int {
	var problems []string
	if running {
		resp, err := cc.do(http.MethodGet, "/db/check", nil, nil)
		if err != nil {
			fmt.Fprintln(stderr, "supportgate: "+err.Error())
			return 1
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if l := sc.Text(); l != "ok" && l != "" {
				problems = append(problems, l)
			}
		}
	} else {
		var err error
		if problems, err = store.CheckFile(dbPath); err != nil {
			if errors.Is(err, bolt.ErrTimeout) {
				err = fmt.Errorf("%s is locked by a running gateway whose console did not answer", dbPath)
			}
			fmt.Fprintln(stderr, "supportgate: "+err.Error())
			return 1
		}
	}
	if len(problems) > 0 {
		fmt.Fprintf(stdout, "%s: %d problem(s):\n  %s\nRestore the last backup (README: Restoring a backup).\n", dbPath, len(problems), strings.Join(problems, "\n  "))
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK (every page read, bbolt's consistency check clean)\n", dbPath)
	return 0
}

// dbBackup writes the copy to a temporary file beside FILE, checks it,
// and only then renames it into place: a failed backup never leaves a
// half file under the name an operator would restore from.
func dbBackup(cc *consoleClient, running bool, dbPath, out string, stdout, stderr io.Writer) int {
	tmp := out + ".partial"
	fail := func(err error) int {
		os.Remove(tmp)
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	if running {
		resp, err := cc.do(http.MethodGet, "/db/backup", nil, nil)
		if err != nil {
			return fail(err)
		}
		defer resp.Body.Close()
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return fail(err)
		}
		n, err := io.Copy(f, resp.Body)
		if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
			err = fmt.Errorf("backup cut short: %d of %d bytes", n, resp.ContentLength)
		}
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fail(err)
		}
	} else if err := store.BackupFile(dbPath, tmp); err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			err = fmt.Errorf("%s is locked by a running gateway whose console did not answer", dbPath)
		}
		return fail(err)
	}
	if err := store.Verify(tmp); err != nil {
		return fail(fmt.Errorf("the copy does not check out: %w", err))
	}
	if err := os.Rename(tmp, out); err != nil {
		return fail(err)
	}
	how := "directly (no gateway running)"
	if running {
		how = "online, through the running gateway's console"
	}
	fmt.Fprintf(stdout, "backup of %s written to %s %s, and checked\n", dbPath, out, how)
	return 0
}

// cmdConsoleUser prints a users-file line for [console] users_file; the
// password is read from stdin (one line), never from the command line.
func cmdConsoleUser(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		commandHelp(stdout, newFlagSet("console-user", stderr))
		return 0
	}
	if len(args) != 1 || strings.ContainsAny(args[0], ": \t") {
		fmt.Fprintln(stderr, "usage: supportgate console-user NAME < password   (prints a line for [console] users_file)")
		return 2
	}
	pw, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	pw = strings.TrimRight(pw, "\r\n")
	if len(pw) < 8 {
		fmt.Fprintln(stderr, "supportgate: the password must have at least 8 characters")
		return 1
	}
	line, err := console.HashLine(args[0], pw)
	if err != nil {
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	fmt.Fprintln(stdout, line)
	return 0
}
