package mailparse

import (
	"bytes"
)

// splitMultipart cuts body into the parts delimited by boundary.
//
// Unlike mime/multipart it never fails: the preamble is ignored, a
// delimiter may end in CRLF, LF or trailing blanks, and a missing closing
// delimiter just ends the last part at the end of the body (closed is
// false so the caller can flag it). At most max parts are returned;
// more is reported through truncated. Parts alias body, nothing is copied.
func splitMultipart(body []byte, boundary string, max int) (parts [][]byte, closed, truncated bool) {
	if boundary == "" {
		return nil, false, false
	}
	delim := []byte("--" + boundary)
	start := -1 // start of the current part's content, -1 before the first delimiter
	pos := 0
	for pos <= len(body) {
		i := indexDelimiter(body, delim, pos)
		if i < 0 {
			break
		}
		lineEnd := bytes.IndexByte(body[i:], '\n')
		next := len(body)
		if lineEnd >= 0 {
			next = i + lineEnd + 1
		}
		rest := bytes.TrimRight(body[i+len(delim):next], " \t\r\n")
		isClose := bytes.HasPrefix(rest, []byte("--"))
		if len(rest) != 0 && !isClose {
			// "--boundaryXYZ": a longer boundary of a nested part that
			// shares our prefix, not ours. Keep looking.
			pos = i + len(delim)
			continue
		}
		if start >= 0 {
			if len(parts) >= max {
				return parts, false, true
			}
			parts = append(parts, trimPartEnd(body[start:i]))
		}
		if isClose {
			return parts, true, false
		}
		start = next
		pos = next
		if next >= len(body) {
			break
		}
	}
	if start >= 0 && start <= len(body) {
		if len(parts) >= max {
			return parts, false, true
		}
		parts = append(parts, body[start:])
	}
	return parts, false, false
}

// indexDelimiter finds delim at the start of a line at or after from.
func indexDelimiter(body, delim []byte, from int) int {
	for from <= len(body) {
		j := bytes.Index(body[from:], delim)
		if j < 0 {
			return -1
		}
		j += from
		if j == 0 || body[j-1] == '\n' {
			return j
		}
		from = j + 1
	}
	return -1
}

// trimPartEnd drops the line break that belongs to the next delimiter.
func trimPartEnd(p []byte) []byte {
	p = bytes.TrimSuffix(p, []byte("\n"))
	return bytes.TrimSuffix(p, []byte("\r"))
}

// sniffBoundary guesses the boundary of a multipart whose Content-Type
// lost it: the first line that looks like "--token".
func sniffBoundary(body []byte) string {
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimRight(line, " \t\r")
		if len(line) > 2 && len(line) <= 72 && bytes.HasPrefix(line, []byte("--")) &&
			bytes.IndexAny(line, " \t") < 0 {
			b := bytes.TrimSuffix(line[2:], []byte("--"))
			if len(b) > 0 {
				return string(b)
			}
		}
	}
	return ""
}
