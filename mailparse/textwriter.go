package mailparse

import (
	"strings"
)

// textWriter accumulates rendered HTML text: it collapses whitespace
// like a browser, tracks blank lines so block tags never stack more
// than one empty line, and prefixes lines inside blockquotes with "> ".
type textWriter struct {
	b       strings.Builder
	nl      int  // newlines at the end of b
	space   bool // a space is due before the next word
	quote   int  // blockquote depth
	started bool // any text written yet
}

// maxQuotePrefix caps "> " prefixes so deep nesting cannot multiply the
// output size.
const maxQuotePrefix = 8

func (t *textWriter) atLineStart() bool { return !t.started || t.nl > 0 }

func (t *textWriter) text(s string) {
	words := strings.Fields(s)
	if len(words) == 0 {
		if s != "" && !t.atLineStart() {
			t.space = true
		}
		return
	}
	if isSpaceByte(s[0]) || strings.HasPrefix(s, "\u00a0") {
		t.space = true
	}
	for i, wd := range words {
		if t.atLineStart() {
			t.b.WriteString(strings.Repeat("> ", min(t.quote, maxQuotePrefix)))
		} else if t.space || i > 0 {
			t.b.WriteByte(' ')
		}
		t.b.WriteString(wd)
		t.nl = 0
		t.started = true
		t.space = false
	}
	last := s[len(s)-1]
	t.space = isSpaceByte(last) || strings.HasSuffix(s, "\u00a0")
}

// newline ends the current line and makes sure at least n-1 empty lines
// follow; it does nothing before the first text.
func (t *textWriter) newline(n int) {
	if !t.started {
		return
	}
	for t.nl < n {
		t.b.WriteByte('\n')
		t.nl++
	}
	t.space = false
}

// br is an explicit line break: unlike newline it may repeat, but at
// most two empty lines in a row are kept.
func (t *textWriter) br() {
	if !t.started || t.nl >= 3 {
		return
	}
	t.b.WriteByte('\n')
	t.nl++
	t.space = false
}

// link appends the target after the link text unless the text already
// shows it (or it is an anchor/javascript link, useless in a task).
func (t *textWriter) link(l linkState) {
	href := strings.TrimSpace(l.href)
	if href == "" || len(href) > 2048 || strings.HasPrefix(href, "#") ||
		strings.HasPrefix(strings.ToLower(href), "javascript:") {
		return
	}
	shown := ""
	if l.start <= t.b.Len() {
		shown = strings.TrimSpace(t.b.String()[l.start:])
	}
	bare := strings.TrimPrefix(strings.TrimPrefix(href, "mailto:"), "tel:")
	if shown == href || shown == bare || strings.TrimSuffix(shown, "/") == strings.TrimSuffix(bare, "/") {
		return
	}
	if shown == "" {
		t.text(href)
		return
	}
	t.text(" <" + href + ">")
}

func (t *textWriter) String() string {
	lines := strings.Split(t.b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\u00a0")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}
