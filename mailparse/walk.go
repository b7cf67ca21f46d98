package mailparse

import (
	"bytes"
	"strings"
)

// walker descends the MIME tree, enforcing the limits and collecting
// body text and attachments into msg.
type walker struct {
	lim        Limits
	msg        *Message
	parts      int
	kept       int64 // decoded bytes kept so far (text + attachments)
	overParts  bool
	overKept   bool
	texts      []string
	htmls      []string
	tnefBodies []string
	base       []byte // the whole message: Raw offsets are into it
}

func (w *walker) entity(h Header, body []byte, depth int, inAlternative bool) {
	w.parts++
	if w.parts > w.lim.MaxParts {
		if !w.overParts {
			w.overParts = true
			w.msg.warnf("more than %d MIME parts; the rest is ignored", w.lim.MaxParts)
		}
		return
	}
	mt, params := parseMediaType(h.Get("Content-Type"))
	switch {
	case mt == "multipart":
		mt = "multipart/mixed"
	case mt == "" || !strings.Contains(mt, "/"):
		mt = "text/plain" // RFC 2045 §5.2 default, also for junk values
	}
	if strings.HasPrefix(mt, "multipart/") {
		w.multipart(mt, params, body, depth)
		return
	}
	w.leaf(h, mt, params, body, inAlternative, depth == 0)
}

func (w *walker) multipart(mt string, params map[string]string, body []byte, depth int) {
	if depth >= w.lim.MaxDepth {
		w.msg.warnf("multipart nested deeper than %d; inner parts ignored", w.lim.MaxDepth)
		return
	}
	b := params["boundary"]
	if b == "" {
		b = sniffBoundary(body)
		if b == "" {
			w.msg.warnf("%s without boundary; body used as text", mt)
			w.addText("text/plain", nil, body)
			return
		}
		w.msg.warnf("%s without boundary; guessed %q", mt, b)
	}
	room := w.lim.MaxParts - w.parts + 1
	parts, closed, truncated := splitMultipart(body, b, max(room, 0))
	if len(parts) == 0 && !truncated {
		// A wrong boundary parameter: try the one the body actually uses.
		if g := sniffBoundary(body); g != "" && g != b {
			parts, closed, truncated = splitMultipart(body, g, max(room, 0))
			if len(parts) > 0 {
				w.msg.warnf("%s: boundary %q not found; used %q from the body", mt, b, g)
			}
		}
		if len(parts) == 0 {
			w.msg.warnf("%s: boundary %q not found; body used as text", mt, b)
			w.addText("text/plain", nil, body)
			return
		}
	}
	if !closed && !truncated {
		w.msg.warnf("%s: closing boundary missing", mt)
	}
	alt := mt == "multipart/alternative"
	for _, p := range parts {
		ph, pb, tooBig := readHeader(p, w.lim.MaxHeaderBytes)
		if tooBig {
			w.msg.warnf("part header larger than %d bytes", w.lim.MaxHeaderBytes)
		}
		w.entity(ph, pb, depth+1, alt)
		if w.overParts {
			return
		}
	}
}

// leaf handles a non-multipart entity: body text or an attachment.
func (w *walker) leaf(h Header, mt string, params map[string]string, body []byte, inAlternative, top bool) {
	disp, dparams := parseMediaType(h.Get("Content-Disposition"))
	filename := firstNonEmpty(dparams["filename"], params["name"], dparams["name"])
	if w.rawAttachment(h, mt, body, filename, disp, inAlternative, top) {
		return
	}
	data, truncated, fresh := decodeTransfer(body, h.Get("Content-Transfer-Encoding"), w.lim.MaxPartBytes)
	if truncated {
		w.msg.warnf("part %q truncated at %d bytes", mt, w.lim.MaxPartBytes)
	}

	isText := mt == "text/plain" || mt == "text/html"
	// A text part with a file name is a file the sender attached (a log,
	// a .txt), not what they wrote; without one it is the body. A
	// single-part message is always its own body, whatever its name says.
	if isText && (top || disp != "attachment" && filename == "") {
		w.addText(mt, params, data)
		return
	}
	if inAlternative && strings.HasPrefix(mt, "text/") && filename == "" {
		return // text/enriched, text/watch-html: other renderings of the body
	}
	if mt == "application/ms-tnef" || strings.EqualFold(filename, "winmail.dat") {
		if atts, text, ok := parseTNEF(data, max(w.lim.MaxParts-len(w.msg.Attachments), 0)); ok {
			for _, a := range atts {
				w.addAttachment(a)
			}
			if text != "" {
				w.tnefBodies = append(w.tnefBodies, text)
			}
			return
		}
		w.msg.warnf("unreadable TNEF; kept as %s", firstNonEmpty(filename, "winmail.dat"))
	}
	if filename == "" && (mt == "message/rfc822" || mt == "message/global") {
		filename = embeddedName(data)
	}
	if !fresh {
		// Do not let an attachment pin (or share) the whole raw message.
		data = bytes.Clone(data)
	}
	cid := strings.Trim(strings.TrimSpace(h.Get("Content-ID")), "<>")
	w.addAttachment(Attachment{
		Filename:    filename,
		ContentType: mt,
		ContentID:   cid,
		Inline:      disp == "inline" || (disp == "" && cid != ""),
		Data:        data,
	})
}

func (w *walker) keep(n int) bool {
	if w.kept+int64(n) > w.lim.MaxTotalBytes {
		if !w.overKept {
			w.overKept = true
			w.msg.warnf("decoded content exceeds %d bytes; the rest is dropped", w.lim.MaxTotalBytes)
		}
		return false
	}
	w.kept += int64(n)
	return true
}

func (w *walker) addAttachment(a Attachment) {
	a.Filename = CleanFileName(a.Filename)
	if w.keep(len(a.Data)) {
		w.msg.Attachments = append(w.msg.Attachments, a)
	}
}

func (w *walker) addText(mt string, params map[string]string, data []byte) {
	if !w.keep(len(data)) {
		return
	}
	cs := params["charset"]
	if mt == "text/html" && cs == "" {
		cs = sniffHTMLCharset(data)
	}
	s := decodeText(data, cs)
	if mt == "text/html" {
		w.htmls = append(w.htmls, s)
		return
	}
	w.texts = append(w.texts, strings.ReplaceAll(s, "\r\n", "\n"))
}

// finish joins the collected bodies. Several text/plain parts happen when
// clients split text around inline images; they are read in order.
func (w *walker) finish() {
	m := w.msg
	m.Text = strings.Join(w.texts, "\n")
	m.HTML = strings.Join(w.htmls, "\n")
	if strings.TrimSpace(m.Text) == "" && m.HTML != "" {
		m.Text = HTMLToText(m.HTML)
	}
	if strings.TrimSpace(m.Text) == "" && len(w.tnefBodies) > 0 {
		m.Text = strings.Join(w.tnefBodies, "\n")
	}
}

// sniffHTMLCharset finds <meta charset=…> or http-equiv charset in the
// first KB. Only used when the MIME label is missing.
func sniffHTMLCharset(b []byte) string {
	head := strings.ToLower(string(b[:min(len(b), 1024)]))
	i := strings.Index(head, "charset=")
	if i < 0 {
		return ""
	}
	v := strings.TrimLeft(head[i+len("charset="):], `"' `)
	end := strings.IndexAny(v, `"'; />`)
	if end < 0 {
		return ""
	}
	return v[:end]
}

// embeddedName names an attached message after its subject.
func embeddedName(data []byte) string {
	h, _, _ := readHeader(data[:min(len(data), 64<<10)], 64<<10)
	s := DecodeHeader(h.Get("Subject"))
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, s)
	if len([]rune(s)) > 100 {
		s = string([]rune(s)[:100])
	}
	if strings.TrimSpace(s) == "" {
		s = "message"
	}
	return s + ".eml"
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
