package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

var flagLine = regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)`)

// Every subcommand answers -h and --help on stdout with exit 0: a usage
// line, its flags and an example.
func TestHelpEverySubcommand(t *testing.T) {
	for _, c := range commands {
		for _, h := range []string{"-h", "--help", "-help"} {
			code, out, errs := cli(append(strings.Fields(c.name), h)...)
			if code != 0 || errs != "" {
				t.Errorf("%s %s: exit %d, stderr %q", c.name, h, code, errs)
			}
			if !strings.HasPrefix(out, "Usage: supportgate "+c.name) || !strings.Contains(out, "\nExample:\n  supportgate "+c.name) {
				t.Errorf("%s %s: no usage line or example:\n%s", c.name, h, out)
			}
		}
		_, viaHelp, _ := cli(append([]string{"help"}, strings.Fields(c.name)...)...)
		_, viaFlag, _ := cli(append(strings.Fields(c.name), "-h")...)
		if viaHelp != viaFlag {
			t.Errorf("help %s differs from %s -h", c.name, c.name)
		}
	}
	code, out, _ := cli("check", "-h")
	for _, f := range []string{"-config", "-online"} {
		if code != 0 || !strings.Contains(out, "\n  "+f) {
			t.Errorf("check -h lacks %s:\n%s", f, out)
		}
	}
	for _, top := range [][]string{{"-h"}, {"--help"}, {"help"}} {
		code, out, _ := cli(top...)
		if code != 0 || !strings.HasPrefix(out, "Usage: supportgate COMMAND") {
			t.Errorf("%v: %d\n%s", top, code, out)
		}
		for _, c := range commands {
			if !strings.Contains(out, "\n  "+c.name+" ") {
				t.Errorf("%v does not list %s", top, c.name)
			}
		}
	}
	// Mistakes go to stderr with exit 2.
	if code, out, errs := cli("check", "-bogus"); code != 2 || out != "" || !strings.Contains(errs, "flag provided but not defined: -bogus") || !strings.Contains(errs, "Usage: supportgate check") {
		t.Errorf("check -bogus: %d %q %q", code, out, errs)
	}
	if code, _, errs := cli("help", "nosuch"); code != 2 || !strings.Contains(errs, `no help for "nosuch"`) {
		t.Errorf("help nosuch: %d %q", code, errs)
	}
	if code, _, _ := cli(); code != 2 {
		t.Errorf("no command: exit %d", code)
	}
}

// The man page shipped in the package describes every subcommand and every
// flag the program has.
func TestManPageCoversEveryFlag(t *testing.T) {
	page, err := os.ReadFile("../../packaging/supportgate.8")
	if err != nil {
		t.Fatal(err)
	}
	man := string(page)
	for _, c := range commands {
		if !strings.Contains(man, "\n.B supportgate "+c.name) {
			t.Errorf("the man page's SYNOPSIS lacks %q", c.name)
		}
		_, out, _ := cli(append(strings.Fields(c.name), "-h")...)
		for _, m := range flagLine.FindAllStringSubmatch(out, -1) {
			if !strings.Contains(man, `\-`+strings.ReplaceAll(m[1], "-", `\-`)) {
				t.Errorf("the man page does not describe %s -%s", c.name, m[1])
			}
		}
	}
}
