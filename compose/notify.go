package compose

import (
	"bytes"
	"errors"
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
	Team       string       // shown after the name: "Anna (Support)"; default "Support"
	Mailbox    string       // the support address: From and Reply-To
	To         mail.Address // the customer

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
// no Auto-Submitted: the customer's own responder may answer it.
//
//	multipart/mixed (only with files)
//	├─ multipart/alternative (text/plain, text/html)
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
	team := cleanText(p.Team)
	if team == "" {
		team = "Support"
	}
	name := cleanText(p.Specialist)
	if name == "" {
		name = team
	} else {
		name += " (" + team + ")"
	}
	html := BBCodeToHTML(p.Body)
	text := htmlToText(html)
	html = `<div style="font-family:Arial, Helvetica, sans-serif; font-size:15px; line-height:22px;">` + html + "</div>"

	irt, refs := threadIDs(p.InReplyToID, p.References, nil)
	boundary, err := randomID(12)
	if err != nil {
		return nil, "", err
	}
	ctype := "multipart/alternative"
	if len(p.Files) > 0 {
		ctype = "multipart/mixed"
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
		{"Content-Type", mime.FormatMediaType(ctype, map[string]string{"boundary": "m" + boundary})},
	})

	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, h)
	if err != nil {
		return nil, "", err
	}
	if len(p.Files) == 0 {
		// The top level is the alternative itself.
		for _, part := range []struct{ ctype, body string }{{"text/plain", text}, {"text/html", html}} {
			var th message.Header
			th.SetContentType(part.ctype, map[string]string{"charset": "utf-8"})
			th.Set("Content-Transfer-Encoding", "quoted-printable")
			if err := writePart(w, th, []byte(part.body)); err != nil {
				return nil, "", err
			}
		}
	} else {
		if err := writeAlternative(w, text, html); err != nil {
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
