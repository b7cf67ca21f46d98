package tracker

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"os"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"supportgate/mailparse"
	"supportgate/queue"
	"supportgate/store"
)

// inMail is a spooled customer message as the tracker uses it: parsed
// for its text, its attachments kept as references into the spool (not
// in memory: uploads stream them, issue 14).
type inMail struct {
	id   string // the message's queue id
	msg  *mailparse.Message
	size int64                    // the whole message, for the .eml
	open func() (bodyFile, error) // the raw message, again
}

// loadMail reads and parses the message a job belongs to. A job whose
// spool file is gone cannot do anything useful: permanent.
func (t *Tracker) loadMail(j *store.Job) (*inMail, error) {
	if j.MsgID == "" {
		return nil, queue.Permanent(fmt.Errorf("job %d has no message", j.ID))
	}
	open := func() (bodyFile, error) { return openBody(t.st, j.MsgID) }
	f, err := open()
	if err != nil {
		if os.IsNotExist(err) {
			return nil, queue.Permanent(fmt.Errorf("message %s is not in the spool", j.MsgID))
		}
		return nil, err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return nil, err
	}
	pm, err := mailparse.Parse(f, mailparse.Limits{RawAttachments: true})
	if pm == nil {
		return nil, queue.Permanent(fmt.Errorf("message %s: %v", j.MsgID, err))
	}
	return &inMail{id: j.MsgID, msg: pm, size: size, open: open}, nil
}

// readBody is the whole message (tests).
func readBody(st *store.Store, id string) ([]byte, error) { return st.ReadBody(id) }

// bodyFile is a message body to read again and again: a spool file, or
// an inline body from the database.
type bodyFile interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
}

type memBody struct{ *bytes.Reader }

func (memBody) Close() error { return nil }

// openBody opens message id: its spool file, else the inline body.
func openBody(st *store.Store, id string) (bodyFile, error) {
	f, err := os.Open(st.SpoolPath(id))
	if err == nil || !os.IsNotExist(err) {
		return f, err
	}
	data, err := st.ReadBody(id)
	if err != nil {
		return nil, err
	}
	return memBody{bytes.NewReader(data)}, nil
}

// maxTextRunes caps the customer's text copied into a task or comment;
// the whole message is attached as .eml anyway.
const maxTextRunes = 30000

// newText is the message's own text: text/plain (or the HTML as text)
// with the quoted history cut off, escaped for BBCode.
func (m *inMail) newText() string {
	text := m.msg.Text
	if strings.TrimSpace(text) == "" && m.msg.HTML != "" {
		text = mailparse.HTMLToText(m.msg.HTML)
	}
	text = strings.TrimSpace(mailparse.TrimQuoted(text))
	if utf8.RuneCountInString(text) > maxTextRunes {
		r := []rune(text)
		text = string(r[:maxTextRunes]) + "\n…\n(текст обрезан, полностью — во вложенном письме .eml)"
	}
	return escapeBBCode(text)
}

// sender is "Name <addr>" or "addr".
func (m *inMail) sender() string {
	a := m.msg.From
	name := strings.TrimSpace(a.Name)
	switch {
	case a.Addr == "":
		return name
	case name == "":
		return a.Addr
	}
	return name + " <" + a.Addr + ">"
}

// tagLike matches what the portal could take for a BBCode tag: "[" then
// an optional "/" and a letter or "*".
var tagLike = regexp.MustCompile(`\[(/?[\p{L}*])`)

// escapeBBCode keeps a customer's literal "[b]", "[url=…]", "[/quote]"
// from being rendered (or from closing our own tags): a zero-width space
// after the bracket breaks the tag but reads the same. Ticket tags like
// "[#123]" are left alone.
func escapeBBCode(s string) string {
	return tagLike.ReplaceAllString(s, "[\u200b$1")
}

// part is a file to upload: an attachment or the message itself,
// streamed from the spool by open.
type part struct {
	name string
	size int64
	open func() (io.ReadCloser, error)
}

// fileCaps bound what one message uploads ([bitrix] max_files,
// max_files_bytes; 0: no cap); the .eml is not counted.
type fileCaps struct {
	files int
	bytes int64
}

// files lists what goes to Drive: the attachments with their decoded
// names, as many as caps allow (the rest come back in skipped, by name),
// then (withEML) the original message as "<subject>.eml".
func (m *inMail) files(withEML bool, caps fileCaps) (out []part, skipped []string, err error) {
	var f bodyFile
	var total int64
	for i := range m.msg.Attachments {
		a := &m.msg.Attachments[i]
		if a.Raw == nil && len(a.Data) == 0 {
			continue
		}
		name := cleanFileName(a.Filename)
		if name == "" {
			name = fmt.Sprintf("attachment-%d%s", i+1, extFor(a.ContentType))
		}
		if f == nil {
			if f, err = m.open(); err != nil {
				return nil, nil, err
			}
			defer f.Close()
		}
		size, err := a.Size(f)
		if err != nil {
			return nil, nil, err
		}
		if size == 0 {
			continue
		}
		if caps.files > 0 && len(out) >= caps.files || caps.bytes > 0 && total+size > caps.bytes {
			skipped = append(skipped, name)
			continue
		}
		total += size
		out = append(out, part{name: name, size: size, open: func() (io.ReadCloser, error) {
			f, err := m.open()
			if err != nil {
				return nil, err
			}
			return readCloser{a.Reader(f), f}, nil
		}})
	}
	if withEML {
		out = append(out, part{name: emlName(m.msg.Subject), size: m.size, open: func() (io.ReadCloser, error) {
			f, err := m.open()
			return f, err
		}})
	}
	return out, skipped, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// attachmentNames lists the attachments' names (for a description that
// cannot link them).
func (m *inMail) attachmentNames() []string {
	var out []string
	for i, a := range m.msg.Attachments {
		if a.Raw == nil && len(a.Data) == 0 {
			continue
		}
		name := cleanFileName(a.Filename)
		if name == "" {
			name = fmt.Sprintf("attachment-%d%s", i+1, extFor(a.ContentType))
		}
		out = append(out, name)
	}
	return out
}

func extFor(ctype string) string {
	mt, _, err := mime.ParseMediaType(ctype)
	if err != nil {
		return ""
	}
	switch mt { // mime.ExtensionsByType order is not stable across systems
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	case "image/gif":
		return ".gif"
	case "application/pdf":
		return ".pdf"
	case "text/plain":
		return ".txt"
	case "message/rfc822":
		return ".eml"
	}
	if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
		return exts[0]
	}
	return ""
}

// cleanFileName makes a name safe for Drive: no folders, no control
// characters, no characters Windows refuses, at most 200 bytes (the
// extension kept).
func cleanFileName(name string) string {
	name = mailparse.CleanFileName(name) // bidi overrides too
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base(strings.TrimSpace(name))
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), r == utf8.RuneError:
			return -1
		case strings.ContainsRune(`:*?"<>|`, r):
			return '_'
		}
		return r
	}, name)
	name = strings.Trim(name, " .")
	if name == "" || name == "/" {
		return ""
	}
	const max = 200
	if len(name) > max {
		ext := path.Ext(name)
		if len(ext) > 20 {
			ext = ""
		}
		base := name[:max-len(ext)]
		for !utf8.ValidString(base) {
			base = base[:len(base)-1]
		}
		name = base + ext
	}
	return name
}

// emlName is "<subject>.eml", or "message.eml".
func emlName(subject string) string {
	s := strings.ReplaceAll(subject, "/", "_")
	s = cleanFileName(s)
	if r := []rune(s); len(r) > 100 {
		s = strings.TrimSpace(string(r[:100]))
	}
	if s == "" {
		s = "message"
	}
	return s + ".eml"
}
