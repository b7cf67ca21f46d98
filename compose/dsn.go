package compose

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-message"
)

// DSNParams is a failure notice (RFC 3464) for mail the gateway accepted
// but could not forward before giving up.
type DSNParams struct {
	Hostname   string // Reporting-MTA and MAILER-DAEMON@hostname
	To         string // the original envelope sender
	Recipients []DSNRecipient
	Arrival    time.Time // when we accepted the message
	// OriginalHeader is the original's header block (a whole message is
	// cut at the first blank line).
	OriginalHeader []byte
	MessageID      string    // no brackets; generated when empty
	Date           time.Time // zero: now
}

// DSNRecipient is one failed recipient.
type DSNRecipient struct {
	Address    string
	Status     string // "5.x.x"; anything else becomes 5.0.0
	Diagnostic string // the remote server's reply, e.g. "550 5.1.1 User unknown"
}

var dsnStatusRE = regexp.MustCompile(`^5\.[0-9]{1,3}\.[0-9]{1,3}$`)

// DSN builds multipart/report; report-type=delivery-status with the three
// parts of RFC 3464 §2 / RFC 6522: a human text, message/delivery-status,
// and text/rfc822-headers of the original.
func DSN(p DSNParams) ([]byte, error) {
	to := cleanAddr(p.To)
	if to == "" {
		return nil, errors.New("compose: DSN recipient is not a plain address (never send a DSN to <>)")
	}
	if len(p.Recipients) == 0 {
		return nil, errors.New("compose: DSN without failed recipients")
	}
	host := hostOr(p.Hostname)
	msgID := cleanMsgID(p.MessageID)
	if msgID == "" {
		var err error
		if msgID, err = NewMessageID(host); err != nil {
			return nil, err
		}
	}
	boundary, err := randomID(12)
	if err != nil {
		return nil, err
	}
	h := buildHeader([]hfield{
		{"From", "Mail Delivery System <MAILER-DAEMON@" + host + ">"},
		{"To", "<" + to + ">"},
		{"Subject", "Undelivered Mail Returned to Sender"},
		{"Date", dateOr(p.Date).Format(dateLayout)},
		{"Message-Id", "<" + msgID + ">"},
		{"Auto-Submitted", "auto-replied"},
		{"Mime-Version", "1.0"},
		{"Content-Type", mime.FormatMediaType("multipart/report",
			map[string]string{"report-type": "delivery-status", "boundary": "d" + boundary})},
	})

	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}

	var human message.Header
	human.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	human.Set("Content-Description", "Notification")
	human.Set("Content-Transfer-Encoding", "quoted-printable")
	if err := writePart(w, human, []byte(dsnText(host, p.Recipients))); err != nil {
		return nil, err
	}

	var ds message.Header
	ds.SetContentType("message/delivery-status", nil)
	ds.Set("Content-Description", "Delivery report")
	ds.Set("Content-Transfer-Encoding", "7bit")
	if err := writePart(w, ds, []byte(deliveryStatus(host, dateOr(p.Arrival), p.Recipients))); err != nil {
		return nil, err
	}

	orig := originalHeader(p.OriginalHeader)
	var oh message.Header
	oh.SetContentType("text/rfc822-headers", nil)
	oh.Set("Content-Description", "Undelivered Message Headers")
	oh.Set("Content-Transfer-Encoding", "7bit")
	if !isASCII(orig) {
		oh.Set("Content-Transfer-Encoding", "quoted-printable") // 8-bit headers (RFC 6532)
	}
	if err := writePart(w, oh, orig); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func dsnText(host string, rcpts []DSNRecipient) string {
	var b strings.Builder
	fmt.Fprintf(&b, "This is the mail system at host %s.\n\n", host)
	b.WriteString("Your message could not be delivered to one or more recipients.\n")
	b.WriteString("Ваше письмо не удалось доставить одному или нескольким получателям.\n\n")
	for _, r := range rcpts {
		fmt.Fprintf(&b, "<%s>: %s\n", asciiText(r.Address), asciiText(r.Diagnostic))
	}
	return b.String()
}

// deliveryStatus is the machine-readable part: 7-bit text (RFC 3464 §2.1).
func deliveryStatus(host string, arrival time.Time, rcpts []DSNRecipient) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Reporting-MTA: dns; %s\r\n", host)
	fmt.Fprintf(&b, "Arrival-Date: %s\r\n", arrival.Format(dateLayout))
	for _, r := range rcpts {
		status := strings.TrimSpace(r.Status)
		if !dsnStatusRE.MatchString(status) {
			status = "5.0.0"
		}
		diag := asciiText(r.Diagnostic)
		if diag == "" {
			diag = "delivery failed"
		}
		b.WriteString("\r\n")
		fmt.Fprintf(&b, "Final-Recipient: rfc822; %s\r\n", asciiText(r.Address))
		b.WriteString("Action: failed\r\n")
		fmt.Fprintf(&b, "Status: %s\r\n", status)
		fmt.Fprintf(&b, "Diagnostic-Code: smtp; %s\r\n", diag)
	}
	return b.String()
}

// asciiText cleans a value for the 7-bit report: one line, non-ASCII as '?'.
func asciiText(s string) string {
	return strings.Map(func(r rune) rune {
		if r > 0x7e {
			return '?'
		}
		return r
	}, cleanText(s))
}

// originalHeader cuts a message at its header end and normalises line
// endings to CRLF.
func originalHeader(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		b = b[:i+1]
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
