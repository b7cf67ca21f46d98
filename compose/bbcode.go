package compose

import (
	"html"
	"net/url"
	"strconv"
	"strings"

	xhtml "golang.org/x/net/html"
)

// BBCodeToHTML renders a Bitrix24 comment for the customer. Known tags:
// [b] [i] [u] [s], [url=X]text[/url], [url]X[/url], [quote], [code],
// [list] / [list=1] with [*], [user=ID]Name[/user] (→ the name),
// [color=] [size=] [font=] (dropped, text kept), [disk file id=N] (dropped:
// the files go as attachments). Anything else stays as literal text.
// All text is escaped; links must be http, https or mailto; the output is
// well formed (unclosed tags are closed, stray closers are text).
func BBCodeToHTML(s string) string {
	r := bbRenderer{src: s}
	r.run()
	return r.out.String()
}

type bbOpen struct {
	name  string // bb tag name, lower case ("*" for a list item)
	close string // HTML written when it closes
}

type bbRenderer struct {
	src   string
	out   strings.Builder
	stack []bbOpen
	text  strings.Builder // pending text, flushed before any markup
	inA   bool
}

func (r *bbRenderer) run() {
	s := r.src
	for len(s) > 0 {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			r.text.WriteString(s)
			break
		}
		r.text.WriteString(s[:i])
		s = s[i:]
		j := strings.IndexByte(s[1:], ']') + 1
		if j <= 0 || j > 300 || strings.ContainsAny(s[1:j], "[\n") {
			r.text.WriteByte('[')
			s = s[1:]
			continue
		}
		tag, rest := s[:j+1], s[j+1:]
		if n, ok := r.tag(tag, rest); ok {
			s = rest[n:]
		} else {
			r.text.WriteString(tag)
			s = rest
		}
	}
	r.flush(false)
	for len(r.stack) > 0 {
		r.pop()
	}
}

// tag handles one "[...]"; it returns how much of rest it consumed, or
// false to have the tag printed as text.
func (r *bbRenderer) tag(tag, rest string) (int, bool) {
	body := tag[1 : len(tag)-1]
	if strings.HasPrefix(body, "/") {
		return 0, r.closeTag(strings.ToLower(body[1:]))
	}
	name, arg, hasArg := strings.Cut(body, "=")
	name = strings.ToLower(name)
	if f := strings.Fields(name); len(f) > 1 && f[0] == "disk" {
		r.flush(false)
		return 0, true // [disk file id=123]: the file is attached instead
	}
	arg = strings.Trim(strings.TrimSpace(arg), `"'`)
	switch name {
	case "b", "i", "u", "s":
		r.push(name, "<"+name+">", "</"+name+">")
	case "color", "size", "font":
		r.push(name, "", "")
	case "user":
		r.push(name, "", "")
	case "quote":
		r.flush(true)
		open := `<blockquote style="margin:0 0 0 8px; padding-left:8px; border-left:2px solid #ccc;">`
		if hasArg && arg != "" {
			open += "<b>" + html.EscapeString(arg) + ":</b><br>"
		}
		r.push(name, open, "</blockquote>")
	case "list":
		r.flush(true)
		if hasArg {
			r.push(name, "<ol>", "</ol>")
		} else {
			r.push(name, "<ul>", "</ul>")
		}
	case "*":
		// A new item closes the previous one and anything left open in it.
		list := -1
		for k := len(r.stack) - 1; k >= 0 && list < 0; k-- {
			if r.stack[k].name == "list" {
				list = k
			}
		}
		if list < 0 {
			return 0, false
		}
		r.flush(true)
		for len(r.stack) > list+1 {
			r.pop()
		}
		r.push("*", "<li>", "</li>")
	case "url":
		if hasArg {
			if u, ok := safeURL(arg); ok && !r.inA {
				r.push(name, `<a href="`+html.EscapeString(u)+`">`, "</a>")
				r.inA = true
			} else {
				r.push(name, "", "")
			}
			return 0, true
		}
		end := indexFold(rest, "[/url]")
		if end < 0 {
			return 0, false
		}
		link := strings.TrimSpace(rest[:end])
		if u, ok := safeURL(link); ok && !r.inA {
			r.flush(false)
			r.out.WriteString(`<a href="` + html.EscapeString(u) + `">` + html.EscapeString(link) + "</a>")
		} else {
			r.text.WriteString(link)
		}
		return end + len("[/url]"), true
	case "code":
		end := indexFold(rest, "[/code]")
		if end < 0 {
			return 0, false
		}
		r.flush(true)
		r.out.WriteString("<pre><code>" + html.EscapeString(strings.Trim(rest[:end], "\n")) + "</code></pre>")
		return end + len("[/code]"), true
	default:
		return 0, false
	}
	return 0, true
}

func (r *bbRenderer) closeTag(name string) bool {
	for i := len(r.stack) - 1; i >= 0; i-- {
		if r.stack[i].name == name {
			block := name == "list" || name == "quote" || name == "*"
			r.flush(block)
			for len(r.stack) > i {
				r.pop()
			}
			return true
		}
	}
	return false
}

func (r *bbRenderer) push(name, open, close string) {
	r.flush(false)
	r.out.WriteString(open)
	r.stack = append(r.stack, bbOpen{name, close})
}

func (r *bbRenderer) pop() {
	top := r.stack[len(r.stack)-1]
	r.stack = r.stack[:len(r.stack)-1]
	if top.name == "url" && top.close != "" {
		r.inA = false
	}
	r.out.WriteString(top.close)
}

// flush writes the pending text escaped, newlines as <br>. Before block
// markup (lists, quotes) a trailing newline is dropped: the block breaks
// the line already. Text directly inside <ul>/<ol> is only whitespace in
// sane input and is not allowed there, so it is dropped.
func (r *bbRenderer) flush(block bool) {
	t := r.text.String()
	r.text.Reset()
	if block {
		t = strings.TrimRight(t, " \t\r\n")
	}
	if n := len(r.stack); n > 0 && r.stack[n-1].name == "list" {
		if strings.TrimSpace(t) == "" {
			return
		}
		r.out.WriteString("<li>") // stray text before the first [*]
		defer r.out.WriteString("</li>")
	}
	t = strings.ReplaceAll(t, "\r\n", "\n")
	r.out.WriteString(strings.ReplaceAll(html.EscapeString(t), "\n", "<br>\n"))
}

// safeURL accepts http, https and mailto links only: no javascript:, data:.
func safeURL(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, " \t\"'<>\\`") {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return s, u.Host != ""
	case "mailto":
		return s, u.Opaque != ""
	}
	return "", false
}

// indexFold is a case-insensitive strings.Index for an ASCII needle.
func indexFold(s, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}

// BBCodeToText is the comment for the text/plain part: the same
// rendering as BBCodeToHTML, written as text a mail client shows as it
// is: list items as "• " (numbered lists "1. "), quotes as "> " lines,
// links as "text (url)", code as it is.
func BBCodeToText(s string) string { return fragmentText(BBCodeToHTML(s)) }

// fragmentText turns BBCodeToHTML's output (a small, well-formed set of
// tags) into text.
func fragmentText(h string) string {
	var w textOut
	z := xhtml.NewTokenizer(strings.NewReader(h))
	type list struct {
		ordered bool
		n       int
	}
	var lists []list
	var hrefs []string
	var linkText strings.Builder
	inLink := 0
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			break
		}
		tok := z.Token()
		switch tt {
		case xhtml.TextToken:
			if inLink > 0 {
				linkText.WriteString(tok.Data)
				continue
			}
			w.text(tok.Data, w.pre > 0)
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			switch tok.Data {
			case "br":
				if !w.afterBlock { // a line break right after a list or quote is the block's
					w.newline()
				}
				w.afterBlock = false
			case "ul", "ol":
				w.block()
				lists = append(lists, list{ordered: tok.Data == "ol"})
			case "li":
				w.block()
				mark := "• "
				if n := len(lists); n > 0 && lists[n-1].ordered {
					lists[n-1].n++
					mark = strconv.Itoa(lists[n-1].n) + ". "
				}
				w.indent = strings.Repeat("  ", max(len(lists)-1, 0))
				w.text(mark, true)
			case "blockquote":
				w.block()
				w.quote++
			case "pre":
				w.block()
				w.pre++
			case "a":
				href := ""
				for _, a := range tok.Attr {
					if a.Key == "href" {
						href = a.Val
					}
				}
				hrefs = append(hrefs, href)
				inLink++
				linkText.Reset()
			}
		case xhtml.EndTagToken:
			switch tok.Data {
			case "ul", "ol":
				if len(lists) > 0 {
					lists = lists[:len(lists)-1]
				}
				w.indent = ""
				w.block()
				w.afterBlock = true
			case "li":
				w.newline()
			case "blockquote":
				w.block()
				if w.quote > 0 {
					w.quote--
				}
				w.afterBlock = true
			case "pre":
				w.pre--
				w.block()
			case "a":
				if inLink == 0 {
					continue
				}
				inLink--
				href := hrefs[len(hrefs)-1]
				hrefs = hrefs[:len(hrefs)-1]
				txt := linkText.String()
				shown := strings.TrimPrefix(href, "mailto:")
				switch {
				case strings.TrimSpace(txt) == "" || txt == href || txt == shown:
					w.text(shown, false)
				default:
					w.text(txt+" ("+shown+")", false)
				}
			}
		}
	}
	return strings.TrimSpace(w.b.String())
}

// textOut writes lines with the quote prefix and list indent.
type textOut struct {
	b      strings.Builder
	quote  int
	pre    int
	indent string
	bol    bool // at the beginning of a line
	// afterBlock: a list or quote just ended (its line is broken already)
	afterBlock bool
	blank      bool // the last line written was blank
	any        bool
}

func (w *textOut) prefix() {
	if w.bol || !w.any {
		w.b.WriteString(strings.Repeat("> ", w.quote) + w.indent)
		w.bol, w.any, w.blank = false, true, false
	}
}

func (w *textOut) newline() {
	if !w.any {
		return
	}
	if w.bol {
		w.blank = true
	}
	w.b.WriteString("\n")
	w.bol = true
}

// block starts a block on a fresh line.
func (w *textOut) block() {
	if w.any && !w.bol {
		w.newline()
	}
}

func (w *textOut) text(s string, keep bool) {
	if !keep {
		// BBCodeToHTML writes "<br>\n": the line break is the <br>'s.
		s = strings.ReplaceAll(s, "\n", "")
	}
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			w.newline()
		}
		if line == "" {
			continue
		}
		w.prefix()
		w.afterBlock = false
		w.b.WriteString(line)
	}
}
