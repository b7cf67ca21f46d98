package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"supportgate/gateway"
	"supportgate/rules"
	"supportgate/store"
)

// cmdHeld lists the messages held for a configuration error (a forward_to
// the mailbox server refuses) and drops one when the admin gives up on
// it. Listing works while the gateway runs (through its console);
// dropping opens the database, so the gateway must be stopped. To retry
// held messages instead, fix the config and reload the running gateway.
func cmdHeld(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("held", stderr)
	path := configFlag(fs)
	drop := fs.String("drop", "", "queue id of a held message to give up (its forward is dropped, no DSN)")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	cfg, err := rules.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	if *drop == "" {
		// While the gateway runs it holds the database: list through its
		// console instead (dropping stays an offline step, or the
		// console page's Drop).
		cc := newConsoleClient(cfg)
		if _, serr := cc.status(); serr == nil {
			return heldOnline(cc, stdout, stderr)
		} else if errors.Is(serr, errLogin) {
			fmt.Fprintln(stderr, "supportgate: "+serr.Error())
			return 1
		}
	}
	st, err := store.Open(cfg.Storage.Dir)
	if err != nil {
		fmt.Fprintln(stderr, "supportgate: "+err.Error()+" (stop the gateway first; to retry held messages, fix the config and reload instead)")
		return 1
	}
	defer st.Close()
	if *drop != "" {
		n, err := st.DropHeld(*drop)
		if err != nil {
			fmt.Fprintln(stderr, "supportgate: "+err.Error())
			return 1
		}
		if n == 0 {
			fmt.Fprintf(stderr, "supportgate: no held message %s\n", *drop)
			return 1
		}
		fmt.Fprintf(stdout, "dropped %s (%d held job(s))\n", *drop, n)
		return 0
	}
	jobs, msgs, err := st.HeldJobs()
	if err != nil {
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	if len(jobs) == 0 {
		fmt.Fprintln(stdout, "no held messages")
		return 0
	}
	for _, l := range gateway.HeldLines(jobs, msgs) {
		fmt.Fprintln(stdout, l)
	}
	return 0
}

// heldOnline lists the held messages through the running gateway's
// console (GET /held).
func heldOnline(cc *consoleClient, stdout, stderr io.Writer) int {
	resp, err := cc.do(http.MethodGet, "/held", nil, nil)
	if err != nil {
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		fmt.Fprintln(stderr, "supportgate: "+err.Error())
		return 1
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		fmt.Fprintln(stdout, "no held messages")
		return 0
	}
	stdout.Write(body)
	return 0
}
