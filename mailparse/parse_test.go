package mailparse

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math/rand"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

func TestGmailAlternative(t *testing.T) {
	m, err := parseFile(t, "gmail-alternative.eml", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Re: Проблема с доступом [#42]" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if id, ok := TaskTag(m.Subject); !ok || id != 42 {
		t.Errorf("TaskTag = %d, %v", id, ok)
	}
	if m.From != (Address{"Иван Петров", "ivan.petrov@gmail.com"}) {
		t.Errorf("From = %+v", m.From)
	}
	if m.MessageID != "CAF=abc123@mail.gmail.com" {
		t.Errorf("MessageID = %q", m.MessageID)
	}
	if len(m.InReplyTo) != 1 || m.InReplyTo[0] != "ticket-42.1@support.example.com" {
		t.Errorf("InReplyTo = %q", m.InReplyTo)
	}
	if len(m.References) != 2 || m.References[0] != "orig-1@example.com" {
		t.Errorf("References = %q", m.References)
	}
	if m.Date.IsZero() || m.Date.Year() != 2024 {
		t.Errorf("Date = %v", m.Date)
	}
	if !strings.HasPrefix(m.Text, "Здравствуйте!\nДоступ так и не появился.") {
		t.Errorf("Text = %q", m.Text)
	}
	if got := TrimQuoted(m.Text); got != "Здравствуйте!\nДоступ так и не появился." {
		t.Errorf("TrimQuoted(Text) = %q", got)
	}
	if !strings.Contains(m.HTML, "gmail_quote") || len(m.Attachments) != 0 || m.Broken {
		t.Errorf("HTML %q attachments %d broken %v", m.HTML, len(m.Attachments), m.Broken)
	}
}

func TestOutlookHTMLOnly(t *testing.T) {
	m, err := parseFile(t, "outlook-html-only-cp1251.eml", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "RE: Не работает принтер" || m.From.Name != "Сергей Иванов" {
		t.Errorf("Subject %q From %+v", m.Subject, m.From)
	}
	for _, want := range []string{"Добрый день!\n", "кабинете 305.", "база знаний <https://intranet.example.ru/kb>"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("Text lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "MsoNormal") || strings.Contains(m.Text, "spidmax") {
		t.Errorf("style or xml leaked into Text:\n%s", m.Text)
	}
	got := TrimQuoted(m.Text)
	if strings.Contains(got, "старый текст") || !strings.Contains(got, "305") {
		t.Errorf("TrimQuoted:\n%s", got)
	}
}

func TestAttachmentBytesSurviveDecoding(t *testing.T) {
	data := make([]byte, 10000)
	rand.New(rand.NewSource(1)).Read(data)
	enc := base64.StdEncoding.EncodeToString(data)
	var wrapped strings.Builder
	for len(enc) > 76 {
		wrapped.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	wrapped.WriteString(enc)
	qpText := "line with = sign and é"
	raw := crlf("From: a@example.com\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\nhi\n--zz\n"+
		"Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=blob.bin\nContent-Transfer-Encoding: base64\n\n") +
		wrapped.String() + crlf("\n--zz\nContent-Type: text/plain; charset=utf-8; name=note.txt\nContent-Transfer-Encoding: quoted-printable\n\n"+
		"line with =3D sign and =C3=A9=\n\n--zz\nContent-Type: image/png\nContent-ID: <logo@x>\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--zz--\n")
	m := mustParse(t, raw)
	if len(m.Attachments) != 3 {
		t.Fatalf("%d attachments: %+v", len(m.Attachments), m.Attachments)
	}
	if a := m.Attachments[0]; a.Filename != "blob.bin" || !bytes.Equal(a.Data, data) || a.Inline {
		t.Errorf("blob: name %q, %d bytes, equal %v", a.Filename, len(a.Data), bytes.Equal(a.Data, data))
	}
	if a := m.Attachments[1]; a.Filename != "note.txt" || string(a.Data) != qpText {
		t.Errorf("note: %q %q", a.Filename, a.Data)
	}
	if a := m.Attachments[2]; a.ContentID != "logo@x" || !a.Inline || string(a.Data) != "\x89PNG\r\n\x1a\n" {
		t.Errorf("logo: %+v", a)
	}
	if m.Text != "hi" {
		t.Errorf("Text = %q", m.Text)
	}
}

func TestCyrillicFilenamesEveryEncoding(t *testing.T) {
	m, err := parseFile(t, "cyrillic-filenames.eml", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// utf-8 2231, cp1251 2231, koi8-r 2231, continuations, B word,
	// cp1251 Q word, koi8-r word in name=, raw cp1251.
	if len(m.Attachments) != 8 {
		t.Fatalf("%d attachments", len(m.Attachments))
	}
	for i, a := range m.Attachments {
		if a.Filename != "Договор 5.pdf" {
			t.Errorf("attachment %d: Filename = %q", i, a.Filename)
		}
	}
}

func TestNoContentType(t *testing.T) {
	m, err := parseFile(t, "no-content-type.eml", Limits{})
	if err != nil || m.Text != "Just text.\n" || m.ContentType != "text/plain" || m.Broken {
		t.Errorf("err %v text %q ct %q broken %v", err, m.Text, m.ContentType, m.Broken)
	}
}

func TestNoHeaderStillGivesText(t *testing.T) {
	m, err := parseFile(t, "no-header.eml", Limits{})
	if !errors.Is(err, ErrNoHeader) || m == nil || !strings.HasPrefix(m.Text, "Just a body") {
		t.Errorf("err %v message %+v", err, m)
	}
	m, err = Parse(strings.NewReader(""), Limits{})
	if !errors.Is(err, ErrEmpty) || m == nil {
		t.Errorf("empty: err %v message %v", err, m)
	}
}

func TestMissingClosingBoundary(t *testing.T) {
	m, err := parseFile(t, "broken-no-closing-boundary.eml", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// Case 45 of docs/autoreply-rules.md §7 (unquoted name beside the boundary) and 47 (label
	// windows-1251, bytes UTF-8) are in the same message.
	if m.Text != "Текст в UTF-8 хотя заявлен cp1251" {
		t.Errorf("Text = %q", m.Text)
	}
	if !m.Broken || len(m.Warnings) == 0 {
		t.Error("missing closing boundary not flagged")
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "Отчёт за март.xlsx" ||
		!bytes.HasPrefix(m.Attachments[0].Data, []byte("PK")) {
		t.Errorf("attachments %+v", m.Attachments)
	}
}

func TestWrongBoundaryParameter(t *testing.T) {
	m, _ := parseFile(t, "broken-wrong-boundary.eml", Limits{})
	if m.Text != "text under a different boundary" || !m.Broken {
		t.Errorf("Text %q broken %v", m.Text, m.Broken)
	}
}

func TestDuplicateParamsPartStillParsed(t *testing.T) { // case 46
	m := mustParse(t, crlf("From: a@b.c\nContent-Type: multipart/mixed; boundary=q; boundary=other\n\n--q\n"+
		"Content-Type: application/pdf; name=\"first.pdf\"; name=\"second.pdf\"\n\n%PDF\n--q--\n"))
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "first.pdf" {
		t.Errorf("attachments %+v", m.Attachments)
	}
}

func TestTextCharsetValidation(t *testing.T) { // case 47
	cp := enc(t, charmap.Windows1251, "Добрый день")
	for _, tc := range []struct{ name, ct, body string }{
		{"no charset, cp1251 bytes", "text/plain", cp},
		{"us-ascii label, cp1251 bytes", "text/plain; charset=us-ascii", cp},
		{"windows-1251 label, utf-8 bytes", "text/plain; charset=windows-1251", "Добрый день"},
		{"koi8-r label, utf-8 bytes", "text/plain; charset=koi8-r", "Добрый день"},
		{"correct cp1251", "text/plain; charset=\"Windows-1251\"", cp},
		{"html meta charset", "text/html", `<meta charset="windows-1251"><p>` + cp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, "From: a@b.c\r\nContent-Type: "+tc.ct+"\r\n\r\n"+tc.body)
			if m.Text != "Добрый день" {
				t.Errorf("Text = %q", m.Text)
			}
		})
	}
}

func TestEightBitMessages(t *testing.T) { // case 42 end to end
	for _, f := range []string{"raw8bit-cp1251.eml", "raw8bit-koi8r.eml"} {
		m, err := parseFile(t, f, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if m.From.Name != "Пётр Сидоров" || !strings.Contains(m.Text, "почта") && !strings.Contains(m.Text, "счёт") {
			t.Errorf("%s: From %+v Subject %q Text %q", f, m.From, m.Subject, m.Text)
		}
	}
	m, _ := parseFile(t, "odd-charsets.eml", Limits{})
	if m.Subject != "Тема письма" || m.From.Name != "Мак Пользователь" || len(m.Cc) != 2 ||
		m.Cc[0].Name != "Копия" || m.Cc[1].Name != "Дос" || m.To[0].Name != "Поддержка" {
		t.Errorf("odd charsets: %q %+v %+v %+v", m.Subject, m.From, m.To, m.Cc)
	}
	if !strings.Contains(m.Text, "soft break and Привет =ZZ") {
		t.Errorf("lenient QP: %q", m.Text)
	}
}

func TestReport(t *testing.T) {
	m, _ := parseFile(t, "dsn-report.eml", Limits{})
	if !m.IsReport || m.ReportType != "delivery-status" || m.ContentType != "multipart/report" {
		t.Errorf("IsReport %v ReportType %q ContentType %q", m.IsReport, m.ReportType, m.ContentType)
	}
	if !strings.Contains(m.Text, "could not be delivered") || len(m.Attachments) != 2 ||
		m.Attachments[1].ContentType != "message/rfc822" || !strings.HasSuffix(m.Attachments[1].Filename, ".eml") {
		t.Errorf("Text %q attachments %+v", m.Text, m.Attachments)
	}
	if m.Header.Get("auto-submitted") != "auto-replied" {
		t.Errorf("Header.Get = %q", m.Header.Get("auto-submitted"))
	}
}

func TestTNEF(t *testing.T) {
	m, _ := parseFile(t, "outlook-tnef.eml", Limits{})
	if len(m.Attachments) != 2 {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	a, b := m.Attachments[0], m.Attachments[1]
	if a.Filename != "Отчёт за квартал.pdf" || a.ContentType != "application/pdf" || string(a.Data) != "%PDF-1.4 fake" {
		t.Errorf("first: %q %q %q", a.Filename, a.ContentType, a.Data)
	}
	if b.Filename != "NOTES.TXT" || string(b.Data) != "plain notes" {
		t.Errorf("second: %q %q", b.Filename, b.Data)
	}
	m, _ = parseFile(t, "tnef-garbage.eml", Limits{})
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "winmail.dat" || !m.Broken {
		t.Errorf("garbage TNEF: %+v", m.Attachments)
	}
}

func TestLimits(t *testing.T) {
	m, err := parseFile(t, "parts-1000.eml", Limits{})
	if err != nil || m.Text != "first part text" || len(m.Attachments) >= 500 || !m.Broken {
		t.Errorf("1000 parts: err %v text %q %d attachments broken %v", err, m.Text, len(m.Attachments), m.Broken)
	}
	m, _ = parseFile(t, "nested-100.eml", Limits{})
	if !m.Broken {
		t.Error("100 levels not flagged")
	}
	m, _ = parseFile(t, "nested-100.eml", Limits{MaxDepth: 200})
	if m.Text != "deepest text" {
		t.Errorf("deep text with MaxDepth 200: %q", m.Text)
	}
	big := "From: a@b.c\nContent-Type: application/octet-stream\n\n" + strings.Repeat("x", 5000)
	m, _ = Parse(strings.NewReader(big), Limits{MaxPartBytes: 1000})
	if len(m.Attachments) != 1 || len(m.Attachments[0].Data) != 1000 || !m.Broken {
		t.Errorf("MaxPartBytes: %d attachments", len(m.Attachments))
	}
	m, _ = Parse(strings.NewReader(big), Limits{MaxTotalBytes: 2000})
	if m.Broken != true || len(m.Attachments) != 0 && len(m.Attachments[0].Data) > 2000 {
		t.Errorf("MaxTotalBytes: broken %v", m.Broken)
	}
	_, err = Parse(strings.NewReader("Subject: "+strings.Repeat("x", 3000)+"\n\nbody"), Limits{MaxHeaderBytes: 1000})
	if !errors.Is(err, ErrHeaderTooLarge) {
		t.Errorf("MaxHeaderBytes: err %v", err)
	}
}
