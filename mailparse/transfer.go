package mailparse

import (
	"strings"
)

// decodeTransfer undoes Content-Transfer-Encoding. Both decoders are
// lenient on purpose: mail with stray characters in base64 or bare '='
// in quoted-printable is common, and the stdlib readers stop at the first
// error, losing the rest of the body. Unknown encodings pass through.
// The output is cut at max bytes (truncated reports it); fresh is false
// when out aliases b (identity encodings).
func decodeTransfer(b []byte, cte string, max int) (out []byte, truncated, fresh bool) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		out, fresh = decodeBase64(b), true
	case "quoted-printable":
		out, fresh = decodeQP(b), true
	default:
		out = b
	}
	if max > 0 && len(out) > max {
		return out[:max], true, fresh
	}
	return out, false, fresh
}

var b64val = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alpha); i++ {
		t[alpha[i]] = byte(i)
	}
	t['-'], t['_'] = 62, 63 // URL-safe alphabet, seen from some webmails
	return t
}()

// decodeBase64 skips every byte outside the alphabet (line breaks,
// spaces, junk, and the '=' padding, which carries no bits) and decodes
// a final partial quantum instead of rejecting it.
func decodeBase64(b []byte) []byte {
	out := make([]byte, 0, len(b)*3/4)
	var acc uint32
	n := 0
	for _, c := range b {
		v := b64val[c]
		if v == 0xff {
			continue
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out
}

// decodeQP decodes quoted-printable; a malformed "=" is kept literally,
// "=" before a line end (even with trailing blanks) is a soft break.
func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		if i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]) {
			out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
			i += 2
			continue
		}
		j := i + 1
		for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
			j++
		}
		if j < len(b) && b[j] == '\r' {
			j++
		}
		if j < len(b) && b[j] == '\n' {
			i = j // soft line break
			continue
		}
		if j >= len(b) {
			break // "=" at the very end: a soft break without newline
		}
		out = append(out, c)
	}
	return out
}
