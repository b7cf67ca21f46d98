package gateway

import (
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"supportgate/mailtest"
)

// newBenchEnv is newEnv for benchmarks: logs discarded, limits lifted.
func newBenchEnv(b *testing.B) *env {
	e := &env{t: b, quiet: true, dir: b.TempDir(), upstream: mailtest.Start(b, false), smarthost: mailtest.Start(b, false)}
	e.startText(strings.Replace(baseConfig(e.dir, e.upstream.Addr(), e.smarthost.Addr(), "\n[auth]\nautoreply = \"off\"\n[autoreply]\nmax_per_sender = 0\n"),
		"max_messages_per_sender = 0", "max_messages_per_sender = 0\nmax_connections_per_ip = 1000\nmax_connections_per_minute = 0", 1))
	return e
}

func sendB(addr, from, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail(from, []string{"support@example.com"}, strings.NewReader(msg))
}
