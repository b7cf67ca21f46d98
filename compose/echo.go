package compose

import (
	"strings"
	"unicode/utf8"
)

// MaxEchoSubject is how many characters of a sender's subject we repeat
// in anything we send (the reply's Subject, the template's .Subject, a
// notification): a 100,000-character subject reflected back made every
// forged message a bigger one aimed at someone else.
const MaxEchoSubject = 200

// EchoSubject is the subject cleaned of control characters and cut to
// MaxEchoSubject characters (runes, never inside one) with an ellipsis.
func EchoSubject(s string) string { return cutRunes(cleanText(s), MaxEchoSubject) }

func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
