package rules

import (
	"bufio"
	"bytes"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecide feeds arbitrary header blocks (seeded with the real-world
// samples in testdata) to Decide: it must never panic, always give a
// known reason, and never answer a robot or create a task for a loop.
func FuzzDecide(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, "sender@customer.test")
		}
	}
	f.Add([]byte("Auto-Submitted: no\r\nFrom: a@b\r\n\r\n"), "")
	f.Add([]byte("X-Auto-Response-Suppress: DR, OOF, AutoReply\r\nList-Id: <x>\r\n\r\n"), "MAILER-DAEMON@x")
	known := map[string]bool{}
	for _, r := range Reasons {
		known[r.Code] = true
	}
	p := Policy{OwnAddresses: []string{"support@example.com"}, ExcludeDomains: []string{"partner.test"},
		TeamDomains: []string{"example.com"}, MaxPerSender: 3, LoopID: "supportgate@mx.example.com"}
	f.Fuzz(func(t *testing.T, raw []byte, envFrom string) {
		h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
		in := Input{EnvelopeFrom: envFrom, EnvelopeRcpts: []string{"support@example.com"}, Header: MapHeader(h),
			FromAddr: strings.Trim(h.Get("From"), "<> "), To: []string{"support@example.com"},
			ContentType: h.Get("Content-Type")}
		d := Decide(in, p)
		if !known[d.Reason] {
			t.Fatalf("unknown reason %q", d.Reason)
		}
		if d.AutoReply && (d.Robot || envFrom == "") {
			t.Fatalf("auto-reply to a robot or a null sender: %+v", d)
		}
		if d.Reason == ReasonLoop && d.Task != TaskNone {
			t.Fatalf("loop with a task: %+v", d)
		}
	})
}
