package relay_test

import (
	"io"
	"net"
	"testing"
	"time"
)

// FuzzSession sends arbitrary bytes as a client's whole side of a
// session. The server must answer or close, never crash, and go on
// serving the next client.
func FuzzSession(f *testing.F) {
	for _, d := range dialogs {
		f.Add([]byte(clientSide(d.script)))
	}
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@b> SIZE=-1\r\nRCPT TO:<\x00@\xff>\r\nDATA\r\n.\r\n"))
	f.Add([]byte("EHLO x\r\nSTARTTLS\r\nMAIL FROM:<evil@x>\r\n"))
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<support@example.com>\r\nDATA\r\nFrom: x\n\n.\n.\r\n\r\n.\r\nQUIT\r\n"))
	addr, _ := startServer(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("server gone: %v", err)
		}
		c.SetDeadline(time.Now().Add(300 * time.Millisecond))
		go c.Write(in)
		io.Copy(io.Discard, c)
		c.Close()
		// Still serving.
		c2, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("server stopped after input %q: %v", in, err)
		}
		c2.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 3)
		if _, err := io.ReadFull(c2, buf); err != nil || string(buf) != "220" {
			t.Fatalf("no greeting after input %q: %q %v", in, buf, err)
		}
		c2.Close()
	})
}

// clientSide extracts the C: lines of a dialog script.
func clientSide(script string) string {
	var out []byte
	for _, line := range splitLines(script) {
		if len(line) >= 2 && line[:2] == "C:" {
			l := line[2:]
			if len(l) > 0 && l[0] == ' ' {
				l = l[1:]
			}
			out = append(out, l...)
			out = append(out, '\r', '\n')
		}
	}
	return string(out)
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
