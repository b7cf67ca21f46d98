package relay

import (
	"context"
)

// Probe asks the server at t whether it takes each of rcpts, without
// sending anything: MAIL FROM:<>, one RCPT per address, then RSET and
// QUIT (check -online). The error is for the connection or MAIL; each
// RcptResult says what RCPT got.
func Probe(ctx context.Context, t Target, rcpts []string) ([]RcptResult, error) {
	cl, err := dial(ctx, t)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { cl.conn.Close() })
	defer stop()
	defer cl.c.Close()
	if err := cl.c.Mail("", nil); err != nil {
		return nil, err
	}
	var out []RcptResult
	for _, r := range rcpts {
		err := cl.c.Rcpt(r, nil)
		out = append(out, RcptResult{Rcpt: r, Err: err, AtRcpt: err != nil})
	}
	if err := cl.c.Reset(); err != nil {
		return out, err
	}
	cl.c.Quit()
	return out, nil
}

// ReplyText renders a server's answer as "550 5.1.1 text".
func ReplyText(err error) string { return replyText(err) }
