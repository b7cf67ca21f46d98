package mailparse

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

// enc encodes UTF-8 test text into a legacy charset.
func enc(t testing.TB, cm *charmap.Charmap, s string) string {
	t.Helper()
	b, err := cm.NewEncoder().String(s)
	if err != nil {
		t.Fatalf("encoding %q: %v", s, err)
	}
	return b
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// qword makes a Q encoded word of already-encoded bytes.
func qword(charset, raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c >= 0x80 || c == '=' || c == '?' || c == '_' || c == ' ' {
			b.WriteString("=" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
			continue
		}
		b.WriteByte(c)
	}
	return "=?" + charset + "?Q?" + b.String() + "?="
}

func mustParse(t testing.TB, raw string) *Message {
	t.Helper()
	m, err := Parse(strings.NewReader(raw), Limits{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func parseFile(t testing.TB, name string, lim Limits) (*Message, error) {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Parse(f, lim)
}

// crlf turns a readable "\n" test message into wire format.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
