package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"supportgate/relay"
	"supportgate/rules"
)

// checkUpstream tries every forward target at the mailbox server: RCPT,
// then RSET, nothing sent. A refused forward_to is the error that would
// otherwise hold mail at run time.
func checkUpstream(cfg *rules.Config, stdout io.Writer) []error {
	var targets []string
	owner := map[string]string{}
	for _, mb := range cfg.Mailbox {
		for _, f := range mb.Forwards() {
			k := rules.Canonical(f)
			if _, ok := owner[k]; !ok {
				owner[k] = mb.Address
				targets = append(targets, f)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t := relay.Target{Address: cfg.Upstream.Address, LMTP: cfg.Upstream.Protocol == "lmtp", Hostname: cfg.SMTP.Hostname,
		TLS: cfg.Upstream.TLS, Insecure: true, Timeout: 20 * time.Second}
	res, err := relay.Probe(ctx, t, targets)
	if err != nil && res == nil {
		return []error{&rules.KeyError{Key: "upstream.address", Msg: fmt.Sprintf("%s: %v", cfg.Upstream.Address, err)}}
	}
	var errs []error
	for i, r := range res {
		mb := owner[rules.Canonical(r.Rcpt)]
		if r.Err != nil {
			errs = append(errs, &rules.KeyError{Key: forwardKey(cfg, mb, i), Msg: fmt.Sprintf("%s refused by %s: %s", r.Rcpt, cfg.Upstream.Address, relay.ReplyText(r.Err))})
			continue
		}
		fmt.Fprintf(stdout, "upstream: %s takes %s (forward of %s)\n", cfg.Upstream.Address, r.Rcpt, mb)
	}
	return errs
}

// forwardKey names the config key of a forward target.
func forwardKey(cfg *rules.Config, mailbox string, _ int) string {
	for i, mb := range cfg.Mailbox {
		if rules.Canonical(mb.Address) == rules.Canonical(mailbox) {
			if len(mb.ForwardTo) == 0 {
				return fmt.Sprintf("mailbox[%d].address", i)
			}
			return fmt.Sprintf("mailbox[%d].forward_to", i)
		}
	}
	return "mailbox"
}
