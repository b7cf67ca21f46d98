package compose

import (
	"bytes"
	"io/fs"
	"strings"
	"testing"

	gmail "github.com/emersion/go-message/mail"
)

// The specialist's answer in the default Russian letter: framed, signed
// by the specialist in the mailbox's words, the request number in the
// body, and lists, quotes and links in both parts.
func TestNotificationDefaultLetter(t *testing.T) {
	p := notifyParams()
	p.Team, p.Language = "", "ru"
	p.Specialist = "Ольга Смирнова"
	p.Body = "Здравствуйте!\n[list=1][*]Откройте [url=https://example.com/login]страницу входа[/url][*]Нажмите «Забыли пароль»[/list][list][*]проверьте «Спам»[/list][quote]не могу войти[/quote]"
	raw, _, err := Notification(p)
	if err != nil {
		t.Fatal(err)
	}
	root := parseTree(t, raw)
	alt := root.kids[0]
	text, html := strings.ReplaceAll(string(alt.kids[0].body), "\r\n", "\n"), string(alt.kids[1].body)
	for _, want := range []string{"1. Откройте страницу входа (https://example.com/login)", "2. Нажмите «Забыли пароль»",
		"• проверьте «Спам»", "> не могу войти", "Ольга Смирнова\nСлужба поддержки", "Обращение #123", "\n-- \n"} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{"<ol>", "<ul>", "<blockquote", `href="https://example.com/login"`, "<b>Ольга Смирнова</b><br>Служба поддержки",
		"Обращение #123", "max-width:600px", `src="cid:`} {
		if !strings.Contains(html, want) {
			t.Errorf("html part lacks %q", want)
		}
	}
	if n := fromName(t, raw); n != "Ольга Смирнова, Служба поддержки" {
		t.Errorf("From name %q", n)
	}
}

// No built-in letter links an intranet page or a staff id, and every
// one is fluid with a 600 px cap (no fixed width but Outlook's).
func TestBuiltinTemplatesNoIntranet(t *testing.T) {
	err := fs.WalkDir(defaultFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".png") {
			return err
		}
		b, _ := fs.ReadFile(defaultFS, p)
		if strings.Contains(string(b), "/company/personal/") || strings.Contains(string(b), ".TaskURL") {
			t.Errorf("%s links the portal", p)
		}
		if strings.Contains(string(b), `width="600"`) {
			t.Errorf("%s has a fixed 600 px table", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"ru", "en"} {
		for _, kind := range []string{"autoreply", "notify"} {
			if _, err := Load("", Builtin(kind, lang), Source{}, lang); err != nil {
				t.Errorf("%s.%s: %v", kind, lang, err)
			}
		}
	}
}

func fromName(t *testing.T, raw []byte) string {
	t.Helper()
	mr, err := gmail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	from, _ := mr.Header.AddressList("From")
	if len(from) != 1 {
		return ""
	}
	return from[0].Name
}
