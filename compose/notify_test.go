package compose

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"
	"time"

	gmail "github.com/emersion/go-message/mail"
)

func notifyParams() NotifyParams {
	return NotifyParams{
		Hostname:    "mx.example.com",
		Specialist:  "Анна Смирнова",
		Team:        "Support",
		Mailbox:     "support@example.com",
		To:          mail.Address{Name: "Иван Петров", Address: "ivan@client.example"},
		Subject:     "Не работает вход",
		TaskID:      "123",
		Body:        "[b]Здравствуйте![/b]\nПароль сброшен, [url=https://example.com/login]войдите[/url] снова.\n[disk file id=77]",
		InReplyToID: "<cust-2@client.example>",
		References:  []string{"<cust-1@client.example>", "<auto-1@mx.example.com>"},
		Date:        time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC),
	}
}

func TestNotificationHeaders(t *testing.T) {
	raw, id, err := Notification(notifyParams())
	if err != nil {
		t.Fatal(err)
	}
	mr, err := gmail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := mr.Header
	from, _ := h.AddressList("From")
	if len(from) != 1 || from[0].Name != "Анна Смирнова, Support" || from[0].Address != "support@example.com" {
		t.Errorf("From = %v", from)
	}
	if rt, _ := h.AddressList("Reply-To"); len(rt) != 1 || rt[0].Address != "support@example.com" {
		t.Errorf("Reply-To = %v", rt)
	}
	if subj, _ := h.Subject(); subj != "Re: Не работает вход [#123]" {
		t.Errorf("Subject = %q", subj)
	}
	got, _ := h.MessageID()
	irt, _ := h.MsgIDList("In-Reply-To")
	refs, _ := h.MsgIDList("References")
	if got != id || !strings.HasSuffix(id, "@mx.example.com") {
		t.Errorf("Message-ID %q, returned %q", got, id)
	}
	if strings.Join(irt, " ") != "cust-2@client.example" ||
		strings.Join(refs, " ") != "cust-1@client.example auto-1@mx.example.com cust-2@client.example" {
		t.Errorf("threading: %v / %v", irt, refs)
	}
	for _, k := range []string{"Auto-Submitted", "Precedence"} {
		if h.Has(k) {
			t.Errorf("a person's answer carries %s", k)
		}
	}
	root := parseTree(t, raw)
	if got := root.shape(); got != "multipart/related(multipart/alternative(text/plain, text/html), image/png)" {
		t.Fatalf("tree %s", got)
	}
	root = root.kids[0]
	html := string(root.kids[1].body)
	if !strings.Contains(html, "<b>Здравствуйте!</b>") || !strings.Contains(html, `<a href="https://example.com/login">войдите</a>`) ||
		strings.Contains(html, "disk") {
		t.Errorf("html: %s", html)
	}
	if text := string(root.kids[0].body); !strings.Contains(text, "Пароль сброшен") || strings.Contains(text, "<b>") {
		t.Errorf("text: %s", text)
	}
}

func TestNotificationFiles(t *testing.T) {
	p := notifyParams()
	p.Files = []File{
		{Name: "Договор.pdf", Data: []byte("%PDF-1.4 fake")},
		{Name: "..\\..\\evil\r\nBcc: x.txt", ContentType: "text/plain; charset=koi8-r", Data: []byte("hi")},
	}
	raw, _, err := Notification(p)
	if err != nil {
		t.Fatal(err)
	}
	root := parseTree(t, raw)
	want := "multipart/mixed(multipart/related(multipart/alternative(text/plain, text/html), image/png), application/pdf, text/plain)"
	if got := root.shape(); got != want {
		t.Fatalf("tree %s, want %s", got, want)
	}
	mr, _ := gmail.CreateReader(bytes.NewReader(raw))
	var names []string
	for {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		if ah, ok := part.Header.(*gmail.AttachmentHeader); ok {
			n, _ := ah.Filename()
			names = append(names, n)
		}
	}
	if len(names) != 2 || names[0] != "Договор.pdf" || names[1] != "evil Bcc: x.txt" {
		t.Errorf("attachment names %q", names)
	}
	if !bytes.Equal(root.kids[1].body, []byte("%PDF-1.4 fake")) {
		t.Error("pdf bytes")
	}
}

func TestNotificationSubject(t *testing.T) {
	for in, want := range map[string]string{
		"Вопрос":                "Re: Вопрос [#123]",
		"RE: Вопрос":            "RE: Вопрос [#123]",
		"Re: Вопрос [#123]":     "Re: Вопрос [#123]",
		"":                      "Re: [#123]",
		"a\r\nBcc: x@y.example": "Re: a Bcc: x@y.example [#123]",
	} {
		if got := replySubject(in, "123"); got != want {
			t.Errorf("replySubject(%q) = %q, want %q", in, got, want)
		}
	}
}
