// Package mailparse reads incoming support mail the way people and broken
// mailers actually write it: best effort, never panicking, bounded in
// memory. It extracts what the gateway needs for a task or comment (text,
// attachments), for the auto-reply decision (raw header, report type) and
// for threading (Message-IDs, subject, ticket tag).
package mailparse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"
)

// Limits bound the work Parse does. Zero fields take the defaults.
type Limits struct {
	MaxHeaderBytes int   // per header block; default 1 MiB
	MaxDepth       int   // multipart nesting; default 20
	MaxParts       int   // MIME entities in total; default 500
	MaxPartBytes   int   // decoded bytes kept per part; default 32 MiB
	MaxTotalBytes  int64 // raw bytes read, and decoded bytes kept; default 64 MiB
	// RawAttachments: ordinary attachments keep a Raw reference into the
	// message (offset, length, encoding) instead of their decoded Data,
	// so a caller can stream them from the spool file rather than hold
	// every attachment in memory (tracker uploads). TNEF contents and
	// quoted-printable parts still come decoded.
	RawAttachments bool
}

func (l Limits) withDefaults() Limits {
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 1 << 20
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 20
	}
	if l.MaxParts <= 0 {
		l.MaxParts = 500
	}
	if l.MaxPartBytes <= 0 {
		l.MaxPartBytes = 32 << 20
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = 64 << 20
	}
	return l
}

// Attachment is a non-body part. Inline is set for parts meant to be
// shown in the HTML (disposition inline, or a Content-ID without an
// attachment disposition), e.g. signature logos.
type Attachment struct {
	Filename    string
	ContentType string
	ContentID   string // without angle brackets
	Inline      bool
	Data        []byte
	// Raw, with Limits.RawAttachments, is where the still-encoded body
	// is in the message; Data is then nil. Open it with Reader.
	Raw *RawRef
}

// RawRef locates an attachment's encoded body in the raw message.
type RawRef struct {
	Offset, Length int64
	Encoding       string // "base64" or "" (7bit, 8bit, binary)
}

// Message is what Parse could make of a message. Fields that were
// missing or unreadable are zero. Broken is set when the MIME structure
// was damaged or limits were hit; Warnings says why.
type Message struct {
	Header Header // raw top-level header

	Subject    string // decoded
	From       Address
	ReplyTo    []Address
	To         []Address
	Cc         []Address
	MessageID  string   // without brackets
	InReplyTo  []string // without brackets
	References []string // without brackets, oldest first
	Date       time.Time

	ContentType       string            // top-level media type, lower case
	ContentTypeParams map[string]string // e.g. "report-type", "boundary"
	IsReport          bool              // multipart/report
	ReportType        string            // its report-type, lower case

	Text        string // text/plain body in UTF-8, or the HTML rendered as text
	HTML        string // text/html body converted to UTF-8 (ignore its <meta charset>)
	Attachments []Attachment

	Broken   bool
	Warnings []string
}

// Errors returned by Parse. The *Message is returned with them anyway.
var (
	ErrEmpty          = errors.New("mailparse: empty message")
	ErrNoHeader       = errors.New("mailparse: no header fields found")
	ErrHeaderTooLarge = errors.New("mailparse: header exceeds MaxHeaderBytes")
)

func (m *Message) warnf(format string, args ...any) {
	m.Broken = true
	if len(m.Warnings) < 50 { // a warning per part of a 10k-part bomb helps no one
		m.Warnings = append(m.Warnings, fmt.Sprintf(format, args...))
	}
}

// Parse reads a whole message (at most lim.MaxTotalBytes) and extracts
// what it can. It returns an error only if reading fails or the top-level
// header is unusable (empty input, no fields at all, too large); even then
// the returned Message holds whatever was found. Damaged MIME is never an
// error: see Message.Broken.
func Parse(r io.Reader, lim Limits) (*Message, error) {
	lim = lim.withDefaults()
	m := &Message{}
	data, err := readAll(r, lim.MaxTotalBytes+1)
	if int64(len(data)) > lim.MaxTotalBytes {
		data = data[:lim.MaxTotalBytes]
		m.warnf("message truncated at %d bytes", lim.MaxTotalBytes)
	}
	if err != nil {
		err = fmt.Errorf("mailparse: reading message: %w", err)
	} else if len(strings.TrimSpace(string(data[:min(len(data), 512)]))) == 0 {
		err = ErrEmpty
	}

	h, body, tooBig := readHeader(data, lim.MaxHeaderBytes)
	m.Header = h
	if tooBig && err == nil {
		err = ErrHeaderTooLarge
	}
	if len(h.Fields) == 0 && err == nil {
		err = ErrNoHeader
	}
	m.fillEnvelope()

	w := &walker{lim: lim, msg: m, base: data}
	w.entity(h, body, 0, false)
	w.finish()
	return m, err
}

// fillEnvelope decodes the addressing and threading fields.
func (m *Message) fillEnvelope() {
	h := m.Header
	m.Subject = DecodeHeader(h.Get("Subject"))
	if from := ParseAddressList(h.Get("From")); len(from) > 0 {
		m.From = from[0]
	}
	m.ReplyTo = ParseAddressList(h.Get("Reply-To"))
	m.To = ParseAddressList(strings.Join(h.Values("To"), ", "))
	m.Cc = ParseAddressList(strings.Join(h.Values("Cc"), ", "))
	if ids := MessageIDs(h.Get("Message-ID")); len(ids) > 0 {
		m.MessageID = ids[0]
	}
	m.InReplyTo = MessageIDs(h.Get("In-Reply-To"))
	m.References = MessageIDs(strings.Join(h.Values("References"), " "))
	m.Date = parseDate(h.Get("Date"))

	mt, params := parseMediaType(h.Get("Content-Type"))
	if mt == "" || !strings.Contains(mt, "/") {
		mt = "text/plain"
	}
	m.ContentType, m.ContentTypeParams = mt, params
	if mt == "multipart/report" {
		m.IsReport = true
		m.ReportType = strings.ToLower(strings.TrimSpace(params["report-type"]))
	}
}

// dateLayouts are tried after net/mail for dates it rejects.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700 (MST)",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
	"Mon, 02 Jan 2006 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"2006-01-02 15:04:05 -0700",
	time.RFC3339,
}

func parseDate(v string) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t
	}
	v = strings.Join(strings.Fields(v), " ")
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

// readAll is io.ReadAll with one allocation when the reader knows its
// length (bytes.Reader, strings.Reader, bytes.Buffer): ReadAll's growth
// doubles the memory for a large message.
func readAll(r io.Reader, max int64) ([]byte, error) {
	lr := io.LimitReader(r, max)
	if l, ok := r.(interface{ Len() int }); ok && l.Len() >= 0 {
		buf := bytes.NewBuffer(make([]byte, 0, min(int64(l.Len())+bytes.MinRead, max)))
		_, err := buf.ReadFrom(lr)
		return buf.Bytes(), err
	}
	return io.ReadAll(lr)
}
