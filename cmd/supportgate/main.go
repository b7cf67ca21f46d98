// Command supportgate is the SMTP gateway between a support mailbox and
// Bitrix24. Subcommands: serve, check, explain, version.
package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(rest, stdout, stderr)
	case "check":
		return cmdCheck(rest, stdout, stderr)
	case "explain":
		return cmdExplain(rest, stdout, stderr)
	case "held":
		return cmdHeld(rest, stdout, stderr)
	case "db":
		return cmdDB(rest, stdout, stderr)
	case "console-user":
		return cmdConsoleUser(rest, os.Stdin, stdout, stderr)
	case "version":
		return cmdVersion(rest, stdout, stderr)
	case "-version", "--version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help":
		return cmdHelp(rest, stdout, stderr)
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "supportgate: unknown command %q\n", cmd)
	usage(stderr)
	return 2
}

// configFlag registers -config (which Go's flag package also reads as
// --config).
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "config.toml", "path to the TOML config")
}

func versionString() string {
	s := "supportgate " + version
	if bi, ok := debug.ReadBuildInfo(); ok {
		s += " (" + bi.GoVersion
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				s += " " + kv.Value[:min(12, len(kv.Value))]
			case "vcs.modified":
				if kv.Value == "true" {
					s += "+dirty"
				}
			}
		}
		s += ")"
	}
	return s
}

func newLogger(format, level string, w io.Writer) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
