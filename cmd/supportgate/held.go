package main

import (
	"fmt"
	"io"
	"strings"

	"supportgate/rules"
	"supportgate/store"
)

// cmdHeld lists the messages held for a configuration error (a forward_to
// the mailbox server refuses) and drops one when the admin gives up on
// it. It opens the database, so the gateway must be stopped; to retry
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
	for i, j := range jobs {
		m := msgs[i]
		from, rcpts, when := "?", "?", "?"
		if m != nil {
			from, rcpts, when = m.From, strings.Join(m.Rcpts, ","), m.Received.Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(stdout, "%s  %s  from <%s> to %s: %s\n", j.MsgID, when, from, rcpts, j.LastError)
	}
	return 0
}
