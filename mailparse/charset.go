package mailparse

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
)

// charsetAliases maps labels seen in real mail that neither the WHATWG
// nor the IANA index knows to ones they do.
var charsetAliases = map[string]string{
	"win-1251":          "windows-1251",
	"win1251":           "windows-1251",
	"windows1251":       "windows-1251",
	"cp-1251":           "windows-1251",
	"cp1251":            "windows-1251",
	"x-cp1251":          "windows-1251",
	"win-1252":          "windows-1252",
	"cp866":             "ibm866",
	"cp-866":            "ibm866",
	"x-cp866":           "ibm866",
	"866":               "ibm866",
	"koi8r":             "koi8-r",
	"koi8u":             "koi8-u",
	"koi8":              "koi8-r",
	"mac-cyrillic":      "x-mac-cyrillic",
	"maccyrillic":       "x-mac-cyrillic",
	"utf8":              "utf-8",
	"unicode-1-1-utf-8": "utf-8",
}

// normCharset lower-cases a charset label and removes the RFC 2231 §5
// language suffix ("utf-8*ru") and stray quotes.
func normCharset(label string) string {
	l := strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
	if i := strings.IndexByte(l, '*'); i >= 0 {
		l = l[:i]
	}
	if a, ok := charsetAliases[l]; ok {
		l = a
	}
	return l
}

// isUTF8Label reports labels whose bytes we take as UTF-8 (after
// validation). us-ascii is included: 8-bit bytes under an ASCII label are
// a lie, and valid UTF-8 is the most likely truth.
func isUTF8Label(l string) bool {
	switch l {
	case "", "utf-8", "us-ascii", "ascii", "ansi_x3.4-1968", "7bit", "8bit":
		return true
	}
	return false
}

// lookupCharset returns the decoder for a normalised label, or nil.
func lookupCharset(l string) encoding.Encoding {
	if e, err := htmlindex.Get(l); err == nil && e != nil {
		return e
	}
	for _, idx := range []*ianaindex.Index{ianaindex.MIME, ianaindex.IANA} {
		if e, err := idx.Encoding(l); err == nil && e != nil {
			return e
		}
	}
	return nil
}

// decodeText converts body or parameter bytes labelled with charset to
// UTF-8. The label is only trusted after validation: mail labelled
// windows-1251 that is valid, non-ASCII UTF-8 is UTF-8 (real cp1251 text
// almost never validates), and unlabelled 8-bit text is guessed.
func decodeText(b []byte, charset string) string {
	l := normCharset(charset)
	if isASCII(b) {
		return string(b)
	}
	if isUTF8Label(l) {
		if utf8.Valid(b) {
			return string(b)
		}
		return guess8bit(b)
	}
	if singleByte(l) && utf8.Valid(b) {
		return string(b)
	}
	enc := lookupCharset(l)
	if enc == nil {
		if utf8.Valid(b) {
			return string(b)
		}
		return guess8bit(b)
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// singleByte reports legacy 8-bit labels for which a valid multi-byte
// UTF-8 body is more likely than the label.
func singleByte(l string) bool {
	return strings.HasPrefix(l, "windows-") || strings.HasPrefix(l, "koi8") ||
		strings.HasPrefix(l, "iso-8859-") || strings.HasPrefix(l, "latin") ||
		l == "ibm866" || l == "x-mac-cyrillic" || l == "x-mac-ukrainian"
}

// fix8bit returns s unchanged if it is valid UTF-8, else the cp1251 or
// koi8-r reading of it. Used for raw bytes in headers and parameters.
func fix8bit(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return guess8bit([]byte(s))
}

// guess8bit decodes invalid-UTF-8 bytes as Russian text. cp1251 puts
// lower-case Cyrillic at 0xE0–0xFF and koi8-r at 0xC0–0xDF; lower case
// dominates real text, so whichever range holds more bytes wins. With no
// Cyrillic signal at all cp1251 is still the best bet for our mail.
func guess8bit(b []byte) string {
	var hi, lo int
	for _, c := range b {
		switch {
		case c >= 0xE0:
			hi++
		case c >= 0xC0:
			lo++
		}
	}
	var cm *charmap.Charmap = charmap.Windows1251
	if lo > hi {
		cm = charmap.KOI8R
	}
	out, err := cm.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
