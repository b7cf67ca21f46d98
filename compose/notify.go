package compose

import (
	"bytes"
	"errors"
	htmltemplate "html/template"
	"mime"
	"net/mail"
	"path"
	"strings"
	"time"

	"github.com/emersion/go-message"
)

// NotifyParams is a specialist's Bitrix24 comment mailed to the customer.
type NotifyParams struct {
	Hostname   string
	Specialist string       // the comment author's name
	Team       string       // the mailbox's name, after the specialist's: "Ольга Смирнова, Служба поддержки"
	Mailbox    string       // the support address: From and Reply-To
	To         mail.Address // the customer
	// Language of the mailbox ("ru" default, "en"): the built-in
	// template's words and the Team's default.
	Language string
	// Templates is the letter (NotifyTemplates); nil: the built-in one.
	Templates *Templates

	Subject string // the original subject, decoded
	TaskID  string // added as " [#TaskID]" unless already there

	Body  string // the comment, BBCode
	Files []File // attachments

	// The thread: the message answered (usually the customer's last) and
	// its References.
	InReplyToID string
	References  []string

	MessageID string    // no brackets; generated when empty
	Date      time.Time // zero: now
}

// File is one attachment.
type File struct {
	Name        string
	ContentType string // guessed from Name when empty
	Data        []byte
}

// Notification builds the mail and returns it with its Message-ID (no
// brackets) for the thread store. It is a person's answer, so it carries
// no Auto-Submitted: the customer's own responder may answer it. The
// comment is rendered into the letter's template (HTML and text, the
// signature and the inline logo).
//
//	multipart/mixed (only with files)
//	├─ multipart/related
//	│  ├─ multipart/alternative (text/plain, text/html)
//	│  └─ image/* (the logo, inline)
//	└─ attachments
func Notification(p NotifyParams) ([]byte, string, error) {
	mbox := cleanAddr(p.Mailbox)
	if mbox == "" {
		return nil, "", errors.New("compose: notification mailbox is not a plain address")
	}
	to := cleanAddr(p.To.Address)
	if to == "" {
		return nil, "", errors.New("compose: notification recipient is not a plain address")
	}
	msgID := cleanMsgID(p.MessageID)
	if msgID == "" {
		var err error
		if msgID, err = NewMessageID(p.Hostname); err != nil {
			return nil, "", err
		}
	}
	tm := p.Templates
	if tm == nil {
		var err error
		if tm, err = NotifyTemplates(Source{}, Source{}, p.Language); err != nil {
			return nil, "", err
		}
	}
	data := TemplateData{Greeting: p.To.Name, Name: p.To.Name, Email: to, Subject: EchoSubject(p.Subject),
		TaskID: cleanText(p.TaskID), Team: cleanText(p.Team), Mailbox: mbox, Language: p.Language,
		InHours: true, Specialist: cleanText(p.Specialist),
		Body: htmltemplate.HTML(BBCodeToHTML(p.Body)), BodyText: BBCodeToText(p.Body)}
	if data.Greeting == "" {
		data.Greeting = to
	}
	data.defaults(mail.Address{Address: mbox})
	name := data.Team
	if data.Specialist != "" {
		name = data.Specialist + ", " + data.Team
	}
	html, err := tm.renderHTML(data)
	if err != nil {
		return nil, "", err
	}
	text, err := tm.textOf(data, html)
	if err != nil {
		return nil, "", err
	}
	html, images, err := embedImages(tm, nil, html, p.Hostname)
	if err != nil {
		return nil, "", err
	}

	irt, refs := threadIDs(p.InReplyToID, p.References, nil)
	boundary, err := randomID(12)
	if err != nil {
		return nil, "", err
	}
	ctype, params := "multipart/related", map[string]string{"type": "multipart/alternative", "boundary": "r" + boundary}
	if len(p.Files) > 0 {
		ctype, params = "multipart/mixed", map[string]string{"boundary": "m" + boundary}
	}
	h := buildHeader([]hfield{
		{"From", formatAddress("From", name, mbox)},
		{"Reply-To", "<" + mbox + ">"},
		{"To", formatAddress("To", p.To.Name, to)},
		{"Subject", encodeSubject(replySubject(p.Subject, p.TaskID))},
		{"Date", dateOr(p.Date).Format(dateLayout)},
		{"Message-Id", "<" + msgID + ">"},
		{"In-Reply-To", idList(irt)},
		{"References", idList(refs)},
		{"Mime-Version", "1.0"},
		{"Content-Type", mime.FormatMediaType(ctype, params)},
	})

	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, h)
	if err != nil {
		return nil, "", err
	}
	rw := w
	if len(p.Files) > 0 {
		var rh message.Header
		rh.SetContentType("multipart/related", map[string]string{"type": "multipart/alternative"})
		if rw, err = w.CreatePart(rh); err != nil {
			return nil, "", err
		}
	}
	if err := writeAlternative(rw, text, html); err != nil {
		return nil, "", err
	}
	if err := writeImages(rw, images); err != nil {
		return nil, "", err
	}
	if len(p.Files) > 0 {
		if err := rw.Close(); err != nil {
			return nil, "", err
		}
		for _, f := range p.Files {
			if err := writePart(w, attachmentHeader(f), f.Data); err != nil {
				return nil, "", err
			}
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), msgID, nil
}

// replySubject is "Re: <subject> [#id]", without doubling either part.
func replySubject(subject, taskID string) string {
	s := EchoSubject(subject)
	if len(s) < 3 || !strings.EqualFold(s[:3], "re:") {
		s = strings.TrimSpace("Re: " + s)
	}
	if id := cleanText(taskID); id != "" && !strings.Contains(s, "[#"+id+"]") {
		s += " [#" + id + "]"
	}
	return s
}

// attachmentHeader names the file safely: no folders, no control
// characters; non-ASCII names go out RFC 2231-encoded (mime.FormatMediaType).
func attachmentHeader(f File) message.Header {
	name := cleanText(strings.ReplaceAll(f.Name, `\`, "/"))
	name = path.Base(name)
	if name == "." || name == "/" || name == "" {
		name = "attachment"
	}
	ctype := f.ContentType
	// Only the media type is kept: parameters from Bitrix24 metadata are
	// not trusted (a wrong charset would garble a text file).
	if mt, _, err := mime.ParseMediaType(ctype); err == nil && strings.Contains(mt, "/") {
		ctype = mt
	} else if ctype = mime.TypeByExtension(path.Ext(name)); ctype == "" {
		ctype = "application/octet-stream"
	} else {
		ctype, _, _ = strings.Cut(ctype, ";")
	}
	var h message.Header
	h.SetContentType(ctype, map[string]string{"name": name})
	h.SetContentDisposition("attachment", map[string]string{"filename": name})
	h.Set("Content-Transfer-Encoding", "base64")
	return h
}
