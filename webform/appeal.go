package webform

import (
	"bytes"
	"fmt"
	"mime"
	"net/mail"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gomail "github.com/emersion/go-message/mail"

	"supportgate/mailparse"
	"supportgate/rules"
)

// Appeal is one request typed into the form or posted to /intake: the
// field names are the contract's (docs/CONTRACT.md, "Web-form fields").
type Appeal struct {
	Name    string
	Email   string
	Phone   string
	Subject string
	Text    string
	Consent bool
	Files   []File
}

// File is one attached file, its name already cleaned.
type File struct {
	Name string
	Data []byte
}

// FieldError is a bad or missing field: Field is the contract's name,
// Code one of the codes below (the page's template turns it into words).
type FieldError struct {
	Field string
	Code  string
}

func (e *FieldError) Error() string { return e.Field + ": " + apiText[e.Code] }

// Error codes; apiText is their English wording for the API.
const (
	codeRequired = "required"
	codeInvalid  = "invalid"
	codeTooLong  = "too_long"
	codeTooMany  = "too_many"
	codeTooBig   = "too_big"
	codeTooFast  = "too_fast"
	codeExpired  = "expired"
	codeCaptcha  = "captcha"
	codeRobot    = "robot"
	codeConsent  = "consent"
)

var apiText = map[string]string{
	codeRequired: "required",
	codeInvalid:  "not valid",
	codeTooLong:  "too long",
	codeTooMany:  "too many files",
	codeTooBig:   "files too big",
	codeTooFast:  "sent too fast after the form was opened; send it again",
	codeExpired:  "the form expired; send it again",
	codeCaptcha:  "captcha check failed",
	codeRobot:    "rejected as automated",
	codeConsent:  "required: consent to the processing of personal data",
}

// Field length caps, in runes; the text's cap is [webform] max_text_bytes.
const (
	maxName    = 200
	maxEmail   = 254
	maxPhone   = 40
	maxSubject = 250
)

// check validates an appeal against w, in the order of the form's fields,
// and returns every problem (the page shows each next to its field).
func (a *Appeal) check(w *rules.Webform) []*FieldError {
	var errs []*FieldError
	bad := func(f, c string) { errs = append(errs, &FieldError{f, c}) }
	a.Name = oneLine(a.Name)
	a.Email = strings.TrimSpace(a.Email)
	a.Phone = oneLine(a.Phone)
	a.Subject = oneLine(a.Subject)
	a.Text = strings.ReplaceAll(strings.TrimSpace(a.Text), "\x00", "")
	switch {
	case a.Name == "":
		bad("name", codeRequired)
	case utf8.RuneCountInString(a.Name) > maxName:
		bad("name", codeTooLong)
	}
	switch {
	case a.Email == "":
		bad("email", codeRequired)
	case len(a.Email) > maxEmail || !validEmail(a.Email):
		bad("email", codeInvalid)
	}
	if a.Phone != "" {
		if utf8.RuneCountInString(a.Phone) > maxPhone || strings.IndexFunc(a.Phone, func(r rune) bool {
			return !unicode.IsDigit(r) && !strings.ContainsRune("+-() .", r)
		}) >= 0 {
			bad("phone", codeInvalid)
		}
	}
	switch {
	case a.Subject == "":
		bad("subject", codeRequired)
	case utf8.RuneCountInString(a.Subject) > maxSubject:
		bad("subject", codeTooLong)
	}
	switch {
	case a.Text == "":
		bad("text", codeRequired)
	case len(a.Text) > w.MaxTextBytes || !utf8.ValidString(a.Text):
		bad("text", codeTooLong)
	}
	if len(a.Files) > w.MaxFiles {
		bad("files", codeTooMany)
	}
	if !a.Consent {
		bad("consent", codeConsent)
	}
	return errs
}

// validEmail: one plain address, no display name, no spaces.
func validEmail(s string) bool {
	if strings.ContainsAny(s, " \t\r\n<>,;\"") {
		return false
	}
	p, err := mail.ParseAddress(s)
	if err != nil || p.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".") && !strings.HasSuffix(s, ".")
}

// oneLine folds white space (CR and LF included: nothing typed can
// start a header) and drops control characters.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// CleanFileName keeps the last path element of a browser's or a
// system's file name, without NUL, control characters, path separators
// or leading dots, so "../../etc/passwd" is "passwd" and no name can
// climb out of a folder wherever it is saved. Bidi overrides (U+202E:
// "акт\u202egnp.exe" shows as "актexe.png") and every other format
// character go too, as for mail's file names (mailparse.CleanFileName).
// Empty when nothing is left.
func CleanFileName(name string) string {
	name = mailparse.CleanFileName(name)
	name = strings.Map(func(r rune) rune {
		if r == 0 || unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		if r == '\\' {
			return '/'
		}
		return r
	}, name)
	name = path.Base("/" + name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	name = strings.TrimSpace(name)
	if name == "/" || name == "" {
		return ""
	}
	if r := []rune(name); len(r) > maxFileName {
		ext := []rune(path.Ext(name))
		if len(ext) > 20 {
			ext = nil
		}
		name = string(r[:maxFileName-len(ext)]) + string(ext)
	}
	return name
}

const maxFileName = 150 // runes

// contentType guesses a file's type from its name; anything unknown is
// application/octet-stream (the specialist's computer decides).
func contentType(name string) string {
	if t := mime.TypeByExtension(strings.ToLower(path.Ext(name))); t != "" {
		if mt, _, err := mime.ParseMediaType(t); err == nil {
			return mt
		}
	}
	return "application/octet-stream"
}

// safeSubject breaks a ticket tag ("[#123]") in a typed subject: a web
// appeal always starts a new request, and a typed tag must not write
// into someone else's task (the address is unverified).
func safeSubject(s string) string {
	if _, ok := mailparse.TaskTag(s); !ok {
		return s
	}
	return strings.NewReplacer("[", "(", "]", ")").Replace(s)
}

// Consent is the personal-data consent record kept with the appeal.
func consentRecord(at time.Time, ip, version string) string {
	return fmt.Sprintf("time=%s; ip=%s; version=%s", at.UTC().Format(time.RFC3339), ip, version)
}

// Header names we write on a web appeal; docs/CONTRACT.md lists the
// channel's, the rest are for people reading the forwarded copy.
const (
	HeaderChannel = "X-Supportgate-Channel"
	HeaderConsent = "X-Supportgate-Consent"
	HeaderPhone   = "X-Supportgate-Phone"
)

// build turns an appeal into an RFC 5322 message: From the person, To
// the mailbox, the text as text/plain UTF-8 (quoted-printable), each file
// an attachment (its name RFC 2231-encoded by go-message), our own
// Message-ID, Date, and the channel and consent headers.
func build(a *Appeal, to mail.Address, msgID, consent string, now time.Time) ([]byte, error) {
	var h gomail.Header
	h.SetDate(now)
	h.SetAddressList("From", []*gomail.Address{{Name: a.Name, Address: a.Email}})
	h.SetAddressList("To", []*gomail.Address{{Name: to.Name, Address: to.Address}})
	h.SetSubject(safeSubject(a.Subject))
	h.SetMessageID(msgID)
	h.Set("MIME-Version", "1.0")
	h.Set(HeaderChannel, "web")
	h.Set(HeaderConsent, consent)
	if a.Phone != "" {
		h.Set(HeaderPhone, a.Phone)
	}
	var buf bytes.Buffer
	text := a.Text
	if a.Phone != "" {
		text = "Телефон: " + a.Phone + "\n\n" + text
	}
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n") + "\r\n"
	if len(a.Files) == 0 {
		h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		w, err := gomail.CreateSingleInlineWriter(&buf, h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(text)); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	mw, err := gomail.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	var th gomail.InlineHeader
	th.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	th.Set("Content-Transfer-Encoding", "quoted-printable")
	tw, err := mw.CreateSingleInline(th)
	if err != nil {
		return nil, err
	}
	if _, err := tw.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	for _, f := range a.Files {
		var ah gomail.AttachmentHeader
		ah.SetContentType(contentType(f.Name), nil)
		ah.SetFilename(f.Name)
		ah.Set("Content-Transfer-Encoding", "base64")
		aw, err := mw.CreateAttachment(ah)
		if err != nil {
			return nil, err
		}
		if _, err := aw.Write(f.Data); err != nil {
			return nil, err
		}
		if err := aw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
