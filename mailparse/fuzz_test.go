package mailparse

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets run their seeds in plain `go test`. Run them for real
// with e.g. `go test ./mailparse -fuzz FuzzParse -fuzztime 1m`.

// fuzzLimits are small so that a generated input cannot make one
// iteration slow; the invariants below check that they hold.
var fuzzLimits = Limits{MaxHeaderBytes: 64 << 10, MaxDepth: 20, MaxParts: 100, MaxPartBytes: 1 << 20, MaxTotalBytes: 2 << 20}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	if len(files) == 0 {
		f.Fatal("no seed messages in testdata")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, _ := Parse(bytes.NewReader(b), fuzzLimits)
		if m == nil {
			t.Fatal("Parse returned a nil Message")
		}
		if !utf8.ValidString(m.Subject) || !utf8.ValidString(m.Text) {
			t.Errorf("invalid UTF-8: subject %q text %q", m.Subject, m.Text)
		}
		if len(m.Attachments) > fuzzLimits.MaxParts {
			t.Errorf("%d attachments, limit %d", len(m.Attachments), fuzzLimits.MaxParts)
		}
		var total int64
		for _, a := range m.Attachments {
			total += int64(len(a.Data))
		}
		if total > fuzzLimits.MaxTotalBytes {
			t.Errorf("kept %d attachment bytes, limit %d", total, fuzzLimits.MaxTotalBytes)
		}
		_ = TrimQuoted(m.Text)
	})
}

func FuzzDecodeHeader(f *testing.F) {
	for _, l := range seedLines(f, "testdata/headers.txt") {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d := DecodeHeader(s); !utf8.ValidString(d) {
			t.Errorf("DecodeHeader(%q) = invalid UTF-8 %q", s, d)
		}
		for _, a := range ParseAddressList(s) {
			if !utf8.ValidString(a.Name) {
				t.Errorf("address name %q not UTF-8", a.Name)
			}
		}
		if ids := MessageIDs(s); len(ids) > maxIDs {
			t.Errorf("%d ids", len(ids))
		}
		mt, params := parseMediaType(s)
		_, _ = mt, params["filename"]
	})
}

func FuzzTrimQuoted(f *testing.F) {
	files, _ := filepath.Glob("testdata/quoted/*.txt")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := TrimQuoted(s)
		if strings.TrimSpace(s) != "" && strings.TrimSpace(out) == "" {
			t.Errorf("TrimQuoted(%q) emptied the text", s)
		}
		if len(out) > len(s) {
			t.Errorf("TrimQuoted grew the text: %d > %d", len(out), len(s))
		}
		_ = HTMLToText(s)
	})
}

func FuzzNormalizeSubject(f *testing.F) {
	for _, l := range seedLines(f, "testdata/subjects.txt") {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeSubject(s)
		if !utf8.ValidString(n) {
			t.Errorf("NormalizeSubject(%q) = invalid UTF-8", s)
		}
		if again := NormalizeSubject(n); again != n {
			t.Errorf("not idempotent: %q -> %q -> %q", s, n, again)
		}
		tagged := TagSubject(s, 42)
		if TagSubject(tagged, 42) != tagged {
			t.Errorf("TagSubject added the tag twice to %q", tagged)
		}
		_, _ = TaskTag(s)
	})
}

func seedLines(f *testing.F, name string) []string {
	b, err := os.ReadFile(name)
	if err != nil {
		f.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}
