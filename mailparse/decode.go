package mailparse

import (
	"io"
	"mime"
	"strings"
)

// wordDecoder decodes RFC 2047 words in any charset x/text knows, plus
// the aliases and "*lang" suffixes seen in real mail. Unknown charsets
// are not an error: their bytes go through the same validation and
// guessing as raw 8-bit text, so a header is never left half-decoded
// because of one odd label.
var wordDecoder = &mime.WordDecoder{
	CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
		// Encoded words are at most a header line long; the limit only
		// guards against a hostile reader.
		b, err := io.ReadAll(io.LimitReader(input, 1<<20))
		if err != nil {
			return nil, err
		}
		return strings.NewReader(decodeText(b, charset)), nil
	},
}

// DecodeHeader turns a raw header value into readable UTF-8: raw 8-bit
// bytes are validated or guessed (cp1251/koi8-r), RFC 2047 words in any
// charset are decoded, and line breaks become spaces. It never fails; on
// a decoding error it returns the best text it has.
func DecodeHeader(raw string) string {
	s := fix8bit(raw)
	if strings.Contains(s, "=?") {
		if d, err := wordDecoder.DecodeHeader(s); err == nil {
			s = d
		}
	}
	return cleanHeaderText(s)
}

// cleanHeaderText makes decoded text safe to show and to put in a task
// title: invalid UTF-8 is replaced, control characters (a decoded word
// may hold CR/LF) become spaces.
func cleanHeaderText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexFunc(s, isCtl) < 0 {
		return strings.TrimSpace(s)
	}
	s = strings.Map(func(r rune) rune {
		if isCtl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

func isCtl(r rune) bool {
	return r < 0x20 || r == 0x7f
}

// decodeParamWord decodes a parameter value such as a file name, which
// may hold raw 8-bit bytes or (against RFC 2047 §5, but produced by
// Outlook, Gmail and most webmails) encoded words inside the quotes.
func decodeParamWord(v string) string {
	return DecodeHeader(v)
}
