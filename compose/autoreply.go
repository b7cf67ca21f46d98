package compose

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/k3a/html2text"
)

// ReplyParams is one auto-reply. To is the envelope sender of the message
// we answer (RFC 3834 §4: never Reply-To, never Cc).
type ReplyParams struct {
	Templates *Templates
	Data      TemplateData

	Hostname string       // ours: Message-ID and Content-ID right-hand side
	From     mail.Address // the mailbox the customer wrote to, with a display name
	To       string       // the recipient address (the envelope sender)
	OrigFrom mail.Address // the original From; its name is used when it is To

	// The original's Message-ID, References and In-Reply-To (brackets optional).
	InReplyToID string
	References  []string
	InReplyTo   []string

	// MessageID is the new message's id (no brackets). Set it from
	// NewMessageID so the id can be stored for threading before sending;
	// when empty, one is generated.
	MessageID string
	LoopID    string    // X-Loop value; empty: no X-Loop
	Date      time.Time // zero: now
	Images    fs.FS     // overrides the template folder for <img> files
}

// AutoReply renders and assembles the reply:
//
//	multipart/related; type="multipart/alternative"
//	├─ multipart/alternative
//	│  ├─ text/plain (quoted-printable, made from the HTML)
//	│  └─ text/html  (quoted-printable)
//	└─ image/* per relative <img src> (base64, Content-ID, inline)
func AutoReply(p ReplyParams) ([]byte, error) {
	if p.Templates == nil {
		return nil, errors.New("compose: no auto-reply templates")
	}
	to := cleanAddr(p.To)
	if to == "" {
		return nil, errors.New("compose: auto-reply recipient is not a plain address")
	}
	from := cleanAddr(p.From.Address)
	if from == "" {
		return nil, errors.New("compose: auto-reply From is not a plain address")
	}
	p.Data.Subject = EchoSubject(p.Data.Subject)
	p.Data.defaults(p.From)
	subject, err := p.Templates.renderSubject(p.Data)
	if err != nil {
		return nil, err
	}
	// The template adds its words; still a sane length in all.
	subject = cutRunes(subject, MaxEchoSubject+100)
	body, err := p.Templates.renderHTML(p.Data)
	if err != nil {
		return nil, err
	}
	text, err := p.Templates.textOf(p.Data, body)
	if err != nil {
		return nil, err
	}
	body, images, err := embedImages(p.Templates, p.Images, body, p.Hostname)
	if err != nil {
		return nil, err
	}
	msgID := cleanMsgID(p.MessageID)
	if msgID == "" {
		if msgID, err = NewMessageID(p.Hostname); err != nil {
			return nil, err
		}
	}

	irt, refs := threadIDs(p.InReplyToID, p.References, p.InReplyTo)
	boundary, err := randomID(12)
	if err != nil {
		return nil, err
	}
	h := buildHeader([]hfield{
		{"From", formatAddress("From", p.From.Name, from)},
		{"To", formatAddress("To", recipientName(to, p.OrigFrom), to)},
		{"Subject", encodeSubject(subject)},
		{"Date", dateOr(p.Date).Format(dateLayout)},
		{"Message-Id", "<" + msgID + ">"},
		{"In-Reply-To", idList(irt)},
		{"References", idList(refs)},
		// RFC 3834 §5 and the loop stoppers of older responders (Exchange,
		// procmail-style X-Loop): docs/autoreply-rules.md §2.
		{"Auto-Submitted", "auto-replied"},
		{"X-Auto-Response-Suppress", "All"},
		{"Precedence", "bulk"},
		{"X-Loop", cleanText(p.LoopID)},
		{"Mime-Version", "1.0"},
		{"Content-Type", mime.FormatMediaType("multipart/related",
			map[string]string{"type": "multipart/alternative", "boundary": "r" + boundary})},
	})

	var buf bytes.Buffer
	rw, err := message.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	if err := writeAlternative(rw, text, body); err != nil {
		return nil, err
	}
	if err := writeImages(rw, images); err != nil {
		return nil, err
	}
	if err := rw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// hfield is one header field; buildHeader keeps the order given and skips
// empty values. (go-message's Header.Add inserts at the top, for DKIM.)
type hfield struct{ k, v string }

func buildHeader(fields []hfield) message.Header {
	var h message.Header
	for i := len(fields) - 1; i >= 0; i-- {
		if fields[i].v != "" {
			h.Add(fields[i].k, fields[i].v)
		}
	}
	return h
}

const dateLayout = "Mon, 02 Jan 2006 15:04:05 -0700"

// idList formats message ids for In-Reply-To/References.
func idList(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return "<" + strings.Join(ids, "> <") + ">"
}

func dateOr(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// writeAlternative writes multipart/alternative(text/plain, text/html) as a
// part of w: plain first, HTML last (last = preferred, RFC 2046 §5.1.4).
func writeAlternative(w *message.Writer, text, html string) error {
	var ah message.Header
	ah.SetContentType("multipart/alternative", nil)
	aw, err := w.CreatePart(ah)
	if err != nil {
		return err
	}
	for _, p := range []struct{ ctype, body string }{{"text/plain", text}, {"text/html", html}} {
		var th message.Header
		th.SetContentType(p.ctype, map[string]string{"charset": "utf-8"})
		th.Set("Content-Transfer-Encoding", "quoted-printable")
		if err := writePart(aw, th, []byte(p.body)); err != nil {
			return err
		}
	}
	return aw.Close()
}

func writePart(w *message.Writer, h message.Header, body []byte) error {
	pw, err := w.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(pw, bytes.NewReader(body)); err != nil {
		return err
	}
	return pw.Close()
}

// htmlToText is the text/plain alternative; links keep their URL.
func htmlToText(h string) string {
	t := html2text.HTML2TextWithOptions(h, html2text.WithUnixLineBreaks(), html2text.WithLinksInnerText())
	// html2text keeps the template's indentation and newlines between
	// tags as spaces; tidy lines and keep at most one blank line.
	return tidyText(t)
}

// tidyText trims each line, drops leading blank lines and keeps at most
// one blank line in a row.
func tidyText(t string) string {
	lines := strings.Split(t, "\n")
	out := lines[:0]
	blank := true // drops leading blank lines too
	for _, l := range lines {
		if l != "-- " { // the signature delimiter keeps its space (RFC 3676 §4.3)
			l = strings.TrimSpace(l)
		}
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n"
}

// defaults fills the mailbox's fields a caller left out: its name (else
// the language's word for support), address and language.
func (d *TemplateData) defaults(from mail.Address) {
	if d.Language != "en" {
		d.Language = "ru"
	}
	if d.Team == "" {
		d.Team = cleanText(from.Name)
	}
	if d.Team == "" {
		d.Team = map[string]string{"ru": "Служба поддержки", "en": "Support"}[d.Language]
	}
	if d.Mailbox == "" {
		d.Mailbox = cleanAddr(from.Address)
	}
}

// writeImages writes the inline image parts of a multipart/related.
func writeImages(w *message.Writer, images []inlineImage) error {
	for _, img := range images {
		var ih message.Header
		ih.SetContentType(img.ctype, map[string]string{"name": img.filename})
		ih.SetContentDisposition("inline", map[string]string{"filename": img.filename})
		ih.Set("Content-Id", "<"+img.cid+">")
		ih.Set("Content-Transfer-Encoding", "base64")
		if err := writePart(w, ih, img.data); err != nil {
			return err
		}
	}
	return nil
}
