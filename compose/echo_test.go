package compose

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A 100,258-character subject is not reflected: at most 200 characters,
// cut between runes, with an ellipsis; short ones are untouched.
func TestEchoSubjectCut(t *testing.T) {
	long := strings.Repeat("Ж", 100258)
	got := EchoSubject(long)
	if n := utf8.RuneCountInString(got); n != MaxEchoSubject || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("cut to %d runes (valid %v), suffix %q", n, utf8.ValidString(got), got[len(got)-3:])
	}
	if EchoSubject("Не печатает принтер") != "Не печатает принтер" {
		t.Error("a short subject changed")
	}
	if s := replySubject(long, "7"); utf8.RuneCountInString(s) > MaxEchoSubject+20 || !strings.HasSuffix(s, "[#7]") {
		t.Errorf("notification subject %d runes: %q…", utf8.RuneCountInString(s), s[:20])
	}
}
