package mailparse

import (
	"sort"
	"strconv"
	"strings"
)

// maxParamSections bounds RFC 2231 continuations (name*0 … name*N) so a
// hostile header cannot make us sort and join millions of pieces.
const maxParamSections = 200

// parseMediaType parses a Content-Type or Content-Disposition value.
//
// We do not use mime.ParseMediaType: on one bad parameter (an unquoted
// name with spaces, a duplicate) it drops *all* parameters — losing the
// boundary — and it silently empties RFC 2231 values in any charset but
// UTF-8. This parser keeps every parameter it can read: duplicates keep
// the first value, unquoted values run to the next ';', an unclosed quote
// runs to the end, and extended values are decoded in their own charset.
// Keys are lower-cased; name and filename values are decoded for
// humans (encoded words, raw 8-bit), others are left as written.
func parseMediaType(v string) (mediatype string, params map[string]string) {
	semi := strings.IndexByte(v, ';')
	mt := v
	if semi >= 0 {
		mt, v = v[:semi], v[semi+1:]
	} else {
		v = ""
	}
	mediatype = strings.ToLower(strings.TrimSpace(mt))

	params = make(map[string]string)
	ext := make(map[string][]section) // RFC 2231 pieces by base name
	for v != "" {
		var key, val string
		var ok bool
		key, val, v, ok = nextParam(v)
		if !ok {
			continue
		}
		if base, sec, isExt := splitExtKey(key); isExt {
			if len(ext[base]) < maxParamSections {
				ext[base] = append(ext[base], section{n: sec.n, enc: sec.enc, val: val})
			}
			continue
		}
		if _, dup := params[key]; !dup {
			params[key] = val
		}
	}
	for base, secs := range ext {
		if d, ok := join2231(secs); ok && d != "" {
			params[base] = d // an extended value wins over the plain one
		}
	}
	for _, k := range []string{"name", "filename"} {
		if p, ok := params[k]; ok {
			params[k] = decodeParamWord(p)
		}
	}
	return mediatype, params
}

// nextParam reads one "key=value" from s and returns the rest after the
// next ';'. ok is false for junk without '=' (skipped).
func nextParam(s string) (key, val, rest string, ok bool) {
	s = strings.TrimLeft(s, " \t\r\n;")
	eq := strings.IndexByte(s, '=')
	semi := strings.IndexByte(s, ';')
	if eq < 0 || (semi >= 0 && semi < eq) {
		if semi < 0 {
			return "", "", "", false
		}
		return "", "", s[semi+1:], false
	}
	key = strings.ToLower(strings.TrimSpace(s[:eq]))
	s = strings.TrimLeft(s[eq+1:], " \t\r\n")
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		i := 1
		for ; i < len(s); i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				i++
				b.WriteByte(s[i])
				continue
			}
			if c == '"' {
				break
			}
			b.WriteByte(c)
		}
		val = b.String()
		rest = ""
		if i < len(s) {
			if j := strings.IndexByte(s[i:], ';'); j >= 0 {
				rest = s[i+j+1:]
			}
		}
	} else {
		end := strings.IndexByte(s, ';')
		if end < 0 {
			val, rest = s, ""
		} else {
			val, rest = s[:end], s[end+1:]
		}
		val = strings.TrimSpace(val)
	}
	return key, val, rest, key != ""
}

type section struct {
	n   int  // continuation number, 0 for a single "name*"
	enc bool // percent-encoded (key ended in '*')
	val string
}

// splitExtKey recognises RFC 2231 keys: "name*", "name*0", "name*1*".
func splitExtKey(key string) (base string, sec section, ok bool) {
	star := strings.IndexByte(key, '*')
	if star <= 0 {
		return "", section{}, false
	}
	base, tail := key[:star], key[star+1:]
	if tail == "" {
		return base, section{n: 0, enc: true}, true
	}
	enc := strings.HasSuffix(tail, "*")
	tail = strings.TrimSuffix(tail, "*")
	n, err := strconv.Atoi(tail)
	if err != nil || n < 0 || n >= maxParamSections {
		return "", section{}, false
	}
	return base, section{n: n, enc: enc}, true
}

// join2231 concatenates continuation sections in order (stopping at the
// first gap), percent-decodes the encoded ones and converts the bytes
// from the charset named before the first "”".
func join2231(secs []section) (string, bool) {
	sort.SliceStable(secs, func(i, j int) bool { return secs[i].n < secs[j].n })
	var raw []byte
	charset := ""
	want := 0
	for i, s := range secs {
		if s.n != want {
			if s.n < want {
				continue // duplicate section number: first wins
			}
			break
		}
		want++
		v := s.val
		if i == 0 && s.enc {
			// charset'language'value; a missing part is tolerated.
			if p := strings.SplitN(v, "'", 3); len(p) == 3 {
				charset, v = p[0], p[2]
			}
		}
		if s.enc {
			raw = append(raw, pctDecode(v)...)
		} else {
			raw = append(raw, v...)
		}
	}
	if len(raw) == 0 {
		return "", false
	}
	return decodeText(raw, charset), true
}

// pctDecode decodes %hh escapes and keeps malformed ones literally.
func pctDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
