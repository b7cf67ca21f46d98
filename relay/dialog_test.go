package relay_test

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"supportgate/relay"
	"supportgate/rules"
	"supportgate/store"
)

// startServer runs just the SMTP listener on a real port, planning one
// no-op job per message, so the dialogs below talk to what production runs.
func startServer(t testing.TB) (addr string, st *store.Store) {
	t.Helper()
	dir := t.TempDir()
	cfgText := `
[smtp]
listen = "127.0.0.1:0"
hostname = "mx.dialog.test"
max_message_bytes = 2000
max_recipients = 3
max_line_length = 1000
max_connections_per_minute = 0
max_connections_per_ip = 1000
[upstream]
address = "127.0.0.1:1"
[outbound]
address = "127.0.0.1:1"
[storage]
dir = "state"
[[mailbox]]
address = "support@example.com"
`
	p := filepath.Join(dir, "c.toml")
	os.WriteFile(p, []byte(cfgText), 0o600)
	cfg, err := rules.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(cfg.Storage.Dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := relay.NewServer(rules.NewHolder(cfg), st, log, func(*rules.Config, *store.Message) []*store.Job {
		return []*store.Job{{Kind: "noop"}}
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Shutdown(t.Context()); st.Close() })
	return a.String(), st
}

// Each dialog is lines the client sends ("C: ") and the reply prefixes
// it expects ("S: "), like chasquid's .cmy files. (Bad sequences get
// go-smtp's 502 5.5.1 rather than RFC 5321's 503: still a permanent
// refusal a client understands.)
var dialogs = []struct {
	name   string
	script string
	stored int // messages in the store afterwards
}{
	{"plain", `
S: 220
C: EHLO client.test
S: 250
C: MAIL FROM:<a@customer.test>
S: 250
C: RCPT TO:<support@example.com>
S: 250
C: DATA
S: 354
C: Subject: hi
C:
C: body
C: .
S: 250 2.0.0 OK: queued as
C: QUIT
S: 221`, 1},
	{"pipelined", `
S: 220
C: EHLO client.test
S: 250
C: MAIL FROM:<a@customer.test>|RCPT TO:<support@example.com>|DATA
S: 250
S: 250
S: 354
C: Subject: piped
C:
C: x
C: .
S: 250 2.0.0`, 1},
	{"rcpt before mail", `
S: 220
C: EHLO client.test
S: 250
C: RCPT TO:<support@example.com>
S: 502 5.5.1`, 0},
	{"data without rcpt", `
S: 220
C: EHLO client.test
S: 250
C: MAIL FROM:<a@customer.test>
S: 250
C: DATA
S: 502 5.5.1`, 0},
	{"open relay attempt", `
S: 220
C: EHLO client.test
S: 250
C: MAIL FROM:<a@customer.test>
S: 250
C: RCPT TO:<victim@elsewhere.test>
S: 550 5.1.1
C: RCPT TO:<support@example.com@elsewhere.test>
S: 550 5.1.1
C: RCPT TO:<"support@example.com"@elsewhere.test>
S: 550 5.1.1`, 0},
	{"too many recipients", `
S: 220
C: EHLO client.test
S: 250
C: MAIL FROM:<a@customer.test>
S: 250
C: RCPT TO:<support@example.com>
S: 250
C: RCPT TO:<Support@example.com>
S: 250
C: RCPT TO:<support+x@example.com>
S: 250
C: RCPT TO:<support+y@example.com>
S: 452`, 0},
	{"size parameter over the limit", `
S: 220
C: EHLO client.test
S: 250
C: MAIL FROM:<a@customer.test> SIZE=999999
S: 552`, 0},
	{"rset forgets the envelope", `
S: 220
C: EHLO client.test
S: 250
C: MAIL FROM:<a@customer.test>
S: 250
C: RCPT TO:<support@example.com>
S: 250
C: RSET
S: 250
C: DATA
S: 502 5.5.1`, 0},
	{"null sender accepted", `
S: 220
C: EHLO client.test
S: 250
C: MAIL FROM:<>
S: 250
C: RCPT TO:<support@example.com>
S: 250
C: DATA
S: 354
C: Subject: bounce
C:
C: x
C: .
S: 250`, 1},
	{"dot-stuffed and bare-LF-looking body", `
S: 220
C: HELO client.test
S: 250
C: MAIL FROM:<a@customer.test>
S: 250
C: RCPT TO:<support@example.com>
S: 250
C: DATA
S: 354
C: Subject: dots
C:
C: ..leading dot
C: text with \n.\n inside is not an end
C: .
S: 250`, 1},
	{"line over max_line_length in DATA", `
S: 220
C: EHLO client.test
S: 250
C: MAIL FROM:<a@customer.test>
S: 250
C: RCPT TO:<support@example.com>
S: 250
C: DATA
S: 354
C: Subject: long
C:
C: ` + strings.Repeat("y", 1100) + `
C: .
S: 500 5.4.0`, 0},
	{"NUL in MAIL FROM", `
S: 220
C: EHLO client.test
S: 250
C: MAIL FROM:<v@spfonly.test\0x>
S: 501 5.1.7
C: MAIL FROM:<v@spfonly.test>
S: 250
C: RCPT TO:<support@example.com\0x>
S: 501 5.1.7
C: RCPT TO:<support@example.com\tx>
S: 501`, 0},
	{"unknown command", `
S: 220
C: EHLO client.test
S: 250
C: XYZZY
S: 501 5.5.2`, 0},
}

func TestDialogs(t *testing.T) {
	for _, d := range dialogs {
		t.Run(d.name, func(t *testing.T) {
			addr, st := startServer(t)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			r := bufio.NewReader(c)
			readReply := func() string {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				var last string
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return "ERR " + err.Error()
					}
					last = line
					if len(line) < 4 || line[3] != '-' {
						return strings.TrimRight(last, "\r\n")
					}
				}
			}
			for _, line := range strings.Split(strings.TrimSpace(d.script), "\n") {
				switch {
				case strings.HasPrefix(line, "C:"):
					text := strings.TrimPrefix(strings.TrimPrefix(line, "C:"), " ")
					text = strings.ReplaceAll(text, `\n`, "\n")
					text = strings.ReplaceAll(text, `\0`, "\x00")
					text = strings.ReplaceAll(text, `\t`, "\t")
					io.WriteString(c, strings.ReplaceAll(text, "|", "\r\n")+"\r\n")
				case strings.HasPrefix(line, "S:"):
					want := strings.TrimSpace(strings.TrimPrefix(line, "S:"))
					if got := readReply(); !strings.HasPrefix(got, want) {
						t.Fatalf("after %q: got %q, want %q…", d.name, got, want)
					}
				}
			}
			time.Sleep(50 * time.Millisecond)
			stats, _ := st.Stats()
			if stats.Messages != d.stored {
				t.Errorf("%d messages stored, want %d", stats.Messages, d.stored)
			}
		})
	}
}
