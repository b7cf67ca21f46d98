package gateway

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"supportgate/mailtest"
	"supportgate/rules"
)

// newBenchEnv is newEnv for benchmarks: logs discarded, limits lifted.
func newBenchEnv(b *testing.B) *env {
	dir := b.TempDir()
	e := &env{dir: dir, upstream: mailtest.Start(b, false), smarthost: mailtest.Start(b, false)}
	text := strings.Replace(baseConfig(dir, e.upstream.Addr(), e.smarthost.Addr(), "\n[auth]\nautoreply = \"off\"\n[autoreply]\nmax_per_sender = 0\n"),
		"max_messages_per_sender = 0", "max_messages_per_sender = 0\nmax_connections_per_ip = 1000\nmax_connections_per_minute = 0", 1)
	path := filepath.Join(dir, "config.toml")
	os.WriteFile(path, []byte(text), 0o600)
	cfg, err := rules.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	if err := g.Start(); err != nil {
		b.Fatal(err)
	}
	e.g = g
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Stop(ctx)
	})
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
