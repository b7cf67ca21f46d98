package main

import (
	"flag"
	"fmt"
	"io"

	"supportgate/rules"
)

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := rules.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	if err := checkMore(cfg, stdout); err != nil {
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK (%d mailbox(es), upstream %s %s)\n", *path, len(cfg.Mailbox), cfg.Upstream.Protocol, cfg.Upstream.Address)
	return 0
}
