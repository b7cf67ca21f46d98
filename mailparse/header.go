package mailparse

import (
	"bytes"
	"strings"
)

// Field is one header field as it appeared on the wire: the name as
// written and the value with folding removed but otherwise undecoded
// (it may hold encoded words or raw 8-bit bytes).
type Field struct {
	Key   string
	Value string
}

// Header is an ordered list of fields. We keep our own type instead of
// net/textproto's map because order and repetition matter to callers
// (Received counting, several Auto-Submitted fields) and because the
// stdlib readers reject the malformed headers we must still accept.
type Header struct {
	Fields []Field
}

// Get returns the first value for key (case-insensitive), trimmed, or "".
func (h Header) Get(key string) string {
	for _, f := range h.Fields {
		if strings.EqualFold(f.Key, key) {
			return f.Value
		}
	}
	return ""
}

// Values returns every value for key (case-insensitive) in order.
func (h Header) Values(key string) []string {
	var vs []string
	for _, f := range h.Fields {
		if strings.EqualFold(f.Key, key) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Has reports whether at least one field named key is present.
func (h Header) Has(key string) bool {
	for _, f := range h.Fields {
		if strings.EqualFold(f.Key, key) {
			return true
		}
	}
	return false
}

// readHeader splits data into a header and the body that follows it.
//
// It is deliberately lenient: LF or CRLF line ends, a leading mbox
// "From " line, spaces before the colon and continuation lines are all
// accepted. The first line that is neither a field nor a continuation
// ends the header and belongs to the body, so a message that has no
// header at all comes back as an empty Header and the whole input as
// body. If the header is longer than max bytes, parsing stops there and
// tooBig is set; the rest is treated as body, which is the best we can do.
func readHeader(data []byte, max int) (h Header, body []byte, tooBig bool) {
	folds := make(map[int][]string)
	defer func() {
		for i, parts := range folds {
			h.Fields[i].Value = joinFolded(h.Fields[i].Value, strings.Join(parts, " "))
		}
	}()
	pos := 0
	first := true
	for pos < len(data) {
		if max > 0 && pos > max {
			return h, data[pos:], true
		}
		end := bytes.IndexByte(data[pos:], '\n')
		var line []byte
		next := len(data)
		if end >= 0 {
			line = data[pos : pos+end]
			next = pos + end + 1
		} else {
			line = data[pos:]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))

		if len(line) == 0 {
			// The blank line separating header and body.
			return h, data[next:], false
		}
		if first && bytes.HasPrefix(line, []byte("From ")) {
			// mbox separator: not a field, not the body either.
			first = false
			pos = next
			continue
		}
		first = false
		if line[0] == ' ' || line[0] == '\t' {
			if len(h.Fields) == 0 {
				// A continuation with nothing to continue: skip it
				// rather than give up on the whole header.
				pos = next
				continue
			}
			// Folded lines are joined at the end: appending to a string
			// here would be quadratic in the number of folds.
			if t := bytes.TrimSpace(line); len(t) > 0 {
				folds[len(h.Fields)-1] = append(folds[len(h.Fields)-1], string(t))
			}
			pos = next
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validKey(line[:colon]) {
			// Not a header line: the body starts here (a missing
			// blank line is a common defect of hand-made mail).
			return h, data[pos:], false
		}
		key := string(bytes.TrimSpace(line[:colon]))
		val := string(bytes.TrimSpace(line[colon+1:]))
		h.Fields = append(h.Fields, Field{Key: key, Value: val})
		pos = next
	}
	return h, nil, false
}

func joinFolded(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}

// validKey accepts printable ASCII without spaces in the middle; a
// trailing space ("Subject : x") is tolerated by the caller's trim.
func validKey(k []byte) bool {
	k = bytes.TrimRight(k, " \t")
	if len(k) == 0 {
		return false
	}
	for _, c := range k {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
