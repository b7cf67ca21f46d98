package mailparse

import (
	"strings"
	"unicode"
)

// CleanFileName removes from a decoded file name what would make it read
// differently from what it is: control characters (Cc) and the format
// characters (Cf) that include the bidi overrides, so
// "invoice.pdf\u202egnp.exe" (shown as "invoice.pdfexe.png") becomes
// "invoice.pdfgnp.exe", its real extension in view. Invalid UTF-8 is
// replaced by nothing.
func CleanFileName(s string) string {
	s = strings.ToValidUTF8(s, "")
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return -1
		}
		return r
	}, s))
}
