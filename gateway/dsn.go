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
func makeDSN(cfg *rules.Config, m *store.Message, header []byte, failed []relay.RcptFailure) ([]byte, error) {
	var rcpts []compose.DSNRecipient
	for _, f := range failed {
		rcpts = append(rcpts, compose.DSNRecipient{Address: f.Rcpt, Status: statusOf(f.Reply), Diagnostic: f.Reply})
	}
	return compose.DSN(compose.DSNParams{Hostname: cfg.SMTP.Hostname, To: m.From, Recipients: rcpts,
		Arrival: m.Received, OriginalHeader: header})
}

// statusOf pulls the enhanced status code out of a remote reply ("550
// 5.1.1 no such user"), or gives the generic permanent one.
func statusOf(reply string) string {
	for _, f := range strings.Fields(reply) {
		var a, b, c int
		if n, _ := fmt.Sscanf(f, "%d.%d.%d", &a, &b, &c); n == 3 && (a == 4 || a == 5) {
			return fmt.Sprintf("5.%d.%d", b, c)
		}
	}
	return "5.0.0"
}
