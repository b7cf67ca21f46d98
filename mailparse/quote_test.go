package mailparse

import (
	"os"
	"strings"
	"testing"
)

func TestTrimQuoted(t *testing.T) {
	tests := []struct{ file, want string }{
		{"gmail-en.txt", "Thanks, that fixed it."},
		{"outlook-en.txt", "Still broken."},
		{"original-message.txt", "See below."},
		{"ru-pishet.txt", "Спасибо, заработало."},
		{"ru-napisal.txt", "Добрый день.\nНе помогло."},
		{"ru-iskhodnoe.txt", "Ответ выше."},
		{"only-quote.txt", "> everything is quoted\n> here\n"}, // nothing left: original back
		{"interleaved.txt", "answer one\nanswer two"},
	}
	for _, tc := range tests {
		b, err := os.ReadFile("testdata/quoted/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if got := TrimQuoted(string(b)); got != tc.want {
			t.Errorf("%s: TrimQuoted = %q, want %q", tc.file, got, tc.want)
		}
	}
}

func TestTrimQuotedKeeps(t *testing.T) {
	for _, in := range []string{
		"Вот что он написал:\nпринтер сломан",
		"From: the accounting team we got this.\nThanks",
		"Line one\n\nОтправлено с iPhone",
		"On Monday we start.\nBring laptops.",
	} {
		if got := TrimQuoted(in); got != in {
			t.Errorf("TrimQuoted(%q) = %q", in, got)
		}
	}
	b, _ := os.ReadFile("testdata/quoted/forward.txt")
	if got := TrimQuoted(string(b)); !strings.Contains(got, "The forwarded problem text.") {
		t.Errorf("forward lost its content: %q", got)
	}
}
