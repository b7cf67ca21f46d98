package gateway

import (
	"fmt"
	"strings"

	"supportgate/compose"
	"supportgate/relay"
	"supportgate/rules"
	"supportgate/store"
)

// makeDSN composes the RFC 3464 failure notice for a forward given up on.
// It speaks of the address the sender wrote to (support@…), not of the
// internal mailbox it forwards to, and does not quote the internal
// server's text: both would show the company's internal mail layout to
// anyone who can make a delivery fail.
func makeDSN(cfg *rules.Config, m *store.Message, header []byte, failed []relay.RcptFailure) ([]byte, error) {
	if err := noWebDSN(m); err != nil {
		return nil, err
	}
	var rcpts []compose.DSNRecipient
	seen := map[string]bool{}
	for _, f := range failed {
		orig := originalRcpt(cfg, m, f.Rcpt)
		if seen[rules.Canonical(orig)] {
			continue
		}
		seen[rules.Canonical(orig)] = true
		status, code := statusOf(f.Reply)
		diag := fmt.Sprintf("%s %s the mailbox server refused the message", code, status)
		if code == "" {
			diag = fmt.Sprintf("451 %s the message could not be delivered in %s", status, cfg.Queue.GiveUpAfter.D())
		}
		rcpts = append(rcpts, compose.DSNRecipient{Address: orig, Status: status, Diagnostic: diag})
	}
	return compose.DSN(compose.DSNParams{Hostname: cfg.SMTP.Hostname, To: m.From, Recipients: rcpts,
		Arrival: m.Received, OriginalHeader: header})
}

// originalRcpt maps a forward target back to the envelope recipient
// that led to it.
func originalRcpt(cfg *rules.Config, m *store.Message, target string) string {
	for _, r := range m.Rcpts {
		if mb := cfg.FindMailbox(r); mb != nil {
			for _, t := range mb.Forwards() {
				if rules.Canonical(t) == rules.Canonical(target) {
					return r
				}
			}
		}
	}
	if len(m.Rcpts) > 0 {
		return m.Rcpts[0]
	}
	return target
}

// statusOf pulls the reply code and enhanced status out of a remote
// reply ("550 5.1.1 no such user"). Without a 5xx code (we gave up on
// temporary failures) it is 5.4.7, delivery time expired, and code "".
func statusOf(reply string) (status, code string) {
	f := strings.Fields(reply)
	if len(f) == 0 || len(f[0]) != 3 || f[0][0] != '5' {
		return "5.4.7", ""
	}
	code, status = f[0], "5.0.0"
	if len(f) > 1 {
		var a, b, c int
		if n, _ := fmt.Sscanf(f[1], "%d.%d.%d", &a, &b, &c); n == 3 && a == 5 {
			status = f[1]
		}
	}
	return status, code
}
