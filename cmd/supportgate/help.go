package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one subcommand's entry in the help. The order of commands is
// the order of the top-level usage and of the man page.
//
// Adding a subcommand: append its entry here, make its FlagSet with
// newFlagSet(name, stderr) and parse with parseFlags; -h/--help, the
// top-level list and `supportgate help NAME` then work by themselves. A
// two-word command ("db backup") is one entry named "db backup".
type command struct {
	name    string
	args    string // after the flags in the usage line
	summary string // one line, for the top-level list
	about   string // a paragraph for `NAME -h`
	example string
}

var commands = []command{
	{
		name:    "serve",
		summary: "run the gateway: SMTP, HTTP (events, /healthz, /metrics), the job queue",
		about: `Runs until SIGTERM or SIGINT (then stops accepting and lets open
sessions and running jobs finish, 30 s at most). SIGHUP, or saving the
config file, reloads it; a config that does not validate is refused with a
log line naming the key and the running one stays in force.`,
		example: "supportgate serve -config /etc/supportgate/config.toml",
	},
	{
		name:    "check",
		summary: "validate the config and the files it names; -online also calls Bitrix24",
		about: `Reads the config strictly, then the templates, the contacts file, the
TLS pair and the DKIM key, and prints every problem with its key (and
line), not only the first. With -online it also calls Bitrix24's
user.current through the webhook to prove the URL, the secret and the
scopes. Exit status: 0 when OK, 1 when there are problems.`,
		example: "supportgate check -config /etc/supportgate/config.toml",
	},
	{
		name:    "explain",
		args:    "message.eml",
		summary: "dry-run the rules on one saved message: thread, task action, auto-reply, reason",
		about: `Sends nothing and writes nothing. When the gateway is running, it
answers with the live threads and the rules of the file named by -config;
otherwise the database under storage.dir is read directly. Flags may come
before or after the file. It names the mailbox whose rules apply, whether
the moment is in its working hours, when it opens, the promised answer
time and the task's deadline. -render prints the reply decoded (headers,
text part, HTML part), -html FILE writes its HTML for a browser, -at
evaluates at another moment (in the mailbox's time zone).`,
		example: "supportgate explain -config /etc/supportgate/config.toml -render -at 2026-12-31T23:40 message.eml",
	},
	{
		name:    "held",
		summary: "list the messages held for a configuration error; -drop QUEUEID gives one up",
		about: `A forward that the mailbox server refused for an address our own
config names (a mailbox's forward_to) is held, not bounced: the customer
gets no DSN and the admin at [upstream] notify is told. Fix the config and
reload to retry held messages; "held" lists them, and -drop gives one up
(no DSN). Listing works while the gateway runs (through its console);
-drop opens the database, so the gateway must be stopped for it.`,
		example: "supportgate held -config /etc/supportgate/config.toml -drop hofdzrirazd8544a3ed7",
	},
	{
		name:    "db check",
		summary: "check the database (every page read, then bbolt's consistency check)",
		about: `Through the running gateway's console when it holds the database,
else on the file under storage.dir directly. Exit status 0 when the
database is sound, 1 when it is damaged (the message says what to do).`,
		example: "supportgate db check -config /etc/supportgate/config.toml",
	},
	{
		name:    "db backup",
		args:    "FILE",
		summary: "write a consistent copy of the database to FILE, online when the gateway runs",
		about: `The copy is written beside FILE, checked, then renamed into place.
To restore: stop the gateway, put the copy at storage.dir/supportgate.db,
run "supportgate db check", start it again.`,
		example: "supportgate db backup -config /etc/supportgate/config.toml /var/backups/supportgate.db",
	},
	{
		name:    "console-user",
		args:    "NAME < password",
		summary: "print a users-file line (bcrypt) for [console] users_file; the password comes on stdin",
		example: "supportgate console-user olga < /dev/stdin >> /etc/supportgate/console.users",
	},
	{
		name:    "version",
		summary: "print the version, the Go version and the commit",
		example: "supportgate version",
	},
}

func findCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// usage is the top-level help.
func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("Usage: supportgate COMMAND [flags]\n\n")
	b.WriteString("supportgate is an SMTP gateway between a support mailbox and Bitrix24.\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString(`
Run "supportgate COMMAND -h" (or "supportgate help COMMAND") for a
command's flags and an example; "man supportgate" for the whole manual.

Example:
  supportgate check -config /etc/supportgate/config.toml && systemctl reload supportgate
`)
	io.WriteString(w, b.String())
}

// newFlagSet makes a subcommand's FlagSet with its help attached.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { commandHelp(fs.Output(), fs) }
	return fs
}

// commandHelp prints one subcommand's usage, description, flags and
// example.
func commandHelp(w io.Writer, fs *flag.FlagSet) {
	c := findCommand(fs.Name())
	if c == nil {
		c = &command{name: fs.Name()}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: supportgate %s", c.name)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		b.WriteString(" [flags]")
	}
	if c.args != "" {
		b.WriteString(" " + c.args)
	}
	b.WriteString("\n\n")
	if c.summary != "" {
		b.WriteString(strings.ToUpper(c.summary[:1]) + c.summary[1:] + ".\n")
	}
	if c.about != "" {
		b.WriteString("\n" + c.about + "\n")
	}
	if n > 0 {
		b.WriteString("\nFlags:\n")
		io.WriteString(w, b.String())
		b.Reset()
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
	if c.example != "" {
		b.WriteString("\nExample:\n  " + c.example + "\n")
	}
	io.WriteString(w, b.String())
}

// parseFlags parses a subcommand's flags. -h/-help/--help prints the help
// on stdout (so it can be paged) and ends the command with 0; a bad flag
// prints the error and the help on stderr and ends it with 2. ok is true
// when the command should go on.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		commandHelp(stdout, fs)
		return 0, false
	case err != nil:
		stderr.Write(buf.Bytes())
		return 2, false
	}
	return 0, true
}

// cmdHelp is `supportgate help [COMMAND...]`.
func cmdHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return 0
	}
	name := strings.Join(args, " ")
	if findCommand(name) == nil {
		fmt.Fprintf(stderr, "supportgate: no help for %q\n", name)
		usage(stderr)
		return 2
	}
	return run(append(args, "-h"), stdout, stderr)
}

// cmdVersion is `supportgate version`.
func cmdVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", stderr)
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "supportgate version: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fmt.Fprintln(stdout, versionString())
	return 0
}
