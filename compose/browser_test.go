package compose

import (
	"bytes"
	"encoding/base64"
	htmltemplate "html/template"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"supportgate/browsertest"
)

// letterPage renders a built-in letter as a browser sees it: the inline
// images as data: URLs in place of cid:.
func letterPage(t *testing.T, kind, lang string, d TemplateData) string {
	t.Helper()
	tm, err := Load("", Builtin(kind, lang), Source{}, lang)
	if err != nil {
		t.Fatal(err)
	}
	h, err := tm.renderHTML(d)
	if err != nil {
		t.Fatal(err)
	}
	h, images, err := embedImages(tm, nil, h, "mx.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		h = strings.ReplaceAll(h, "cid:"+img.cid, "data:"+img.ctype+";base64,"+base64.StdEncoding.EncodeToString(img.data))
	}
	return h
}

// The default acknowledgement and answer, Russian and English, in a real
// browser at a phone's width (390 px) and a desktop's (1024 px): nothing
// is wider than the window (the old fixed 600 px table cut the text off
// at 390), and the screenshots are kept for a person to look at.
func TestLettersInBrowser(t *testing.T) {
	browsertest.Chromium(t)
	long := "Не работает вход в личный кабинет после смены пароля, очень длинная тема без пробелов: https://example.com/very/long/path/that/does/not/break/anywhere/at/all/0123456789"
	body := "Здравствуйте!\n[list=1][*]Откройте [url=https://example.com/login]страницу входа[/url][*]Нажмите «Забыли пароль»[/list][quote=Иван]Не могу войти с телефона[/quote]С уважением."
	pages := map[string]string{}
	for _, lang := range []string{"ru", "en"} {
		ack := TemplateData{Greeting: "Пётр Сидоров", Subject: long, TaskID: "1024", Team: map[string]string{"ru": "Служба поддержки", "en": "Support"}[lang],
			Mailbox: "support@example.com", Language: lang, NextOpen: "в понедельник, 11 января, в 9:00", AnswerBy: "в понедельник, 11 января, в 13:00"}
		if lang == "en" {
			ack.NextOpen, ack.AnswerBy = "on Monday, 11 January, at 9:00", "on Monday, 11 January, at 13:00"
		}
		pages["ack-"+lang] = letterPage(t, "autoreply", lang, ack)
		ack.InHours = true
		ack.AnswerBy = map[string]string{"ru": "сегодня в 14:00", "en": "today at 14:00"}[lang]
		pages["ack-inhours-"+lang] = letterPage(t, "autoreply", lang, ack)
		n := ack
		n.Specialist, n.Body = "Ольга Смирнова", htmlTemplateHTML(BBCodeToHTML(body))
		pages["notify-"+lang] = letterPage(t, "notify", lang, n)
	}
	dir := t.TempDir()
	for _, width := range []int{390, 1024} {
		ctx := browsertest.New(t, width, 900)
		for name, h := range pages {
			p := filepath.Join(dir, name+".html")
			if err := os.WriteFile(p, []byte(h), 0o600); err != nil {
				t.Fatal(err)
			}
			u := (&url.URL{Scheme: "file", Path: p}).String()
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), 900), chromedp.Navigate(u)); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			over, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
			if err != nil {
				t.Fatal(err)
			}
			if over {
				sw, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
				t.Errorf("%s at %d px: the page is %d px wide (horizontal scroll)", name, width, sw)
			}
			logo, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)`))
			if err != nil || !logo {
				t.Errorf("%s: an image did not load (%v)", name, err)
			}
			shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(shot, []byte("\x89PNG")) {
				t.Errorf("%s: the screenshot is no image", name)
			}
			browsertest.Keep(t, name+"-"+itoa(width)+".png", shot)
		}
	}
}

func htmlTemplateHTML(s string) htmltemplate.HTML { return htmltemplate.HTML(s) }

func itoa(n int) string { return strconv.Itoa(n) }
