package webform

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"supportgate/mailparse"
	"supportgate/rules"
)

func TestCleanFileName(t *testing.T) {
	for in, want := range map[string]string{
		"../../etc/passwd":                "passwd",
		`..\..\windows\win.ini`:           "win.ini",
		"акт\x00.pdf":                     "акт.pdf",
		"/abs/path/Счёт №1.pdf":           "Счёт №1.pdf",
		"..":                              "",
		"../":                             "",
		".hidden":                         "hidden",
		"a\r\nb.txt":                      "ab.txt",
		"../../etc/акт\u202egnp.exe":      "актgnp.exe",
		"a\u200bb\u2066c\ufeff.pdf":       "abc.pdf",
		"x\u2028y\u0085.txt":              "xy.txt",
		strings.Repeat("я", 300) + ".pdf": strings.Repeat("я", 146) + ".pdf",
	} {
		if got := CleanFileName(in); got != want {
			t.Errorf("CleanFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

// The built message parses back: From, To, subject, the text, the file
// with its Cyrillic name (an RFC 2047 encoded word) and bytes, the channel headers.
func TestBuildParsesBack(t *testing.T) {
	a := &Appeal{Name: "Мария Иванова", Email: "maria@resident.test", Phone: "+7 900", Subject: "Протечка [#12]",
		Text: "Текст <b>как есть</b>\nвторая строка", Consent: true,
		Files: []File{{Name: "Акт осмотра.pdf", Data: []byte("%PDF \x00\x01")}}}
	raw, err := build(a, mail.Address{Name: "Поддержка", Address: "support@example.com"}, "abc@mx.test", "time=x; ip=1.2.3.4; version=v1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pm, err := mailparse.Parse(bytes.NewReader(raw), mailparse.Limits{})
	if err != nil || pm == nil {
		t.Fatalf("parse: %v", err)
	}
	if pm.From.Addr != "maria@resident.test" || pm.From.Name != "Мария Иванова" || pm.To[0].Addr != "support@example.com" {
		t.Errorf("from/to: %+v %+v", pm.From, pm.To)
	}
	if pm.Subject != "Протечка (#12)" {
		t.Errorf("subject %q: a typed task tag must be broken", pm.Subject)
	}
	if !strings.Contains(pm.Text, "Текст <b>как есть</b>") || !strings.Contains(pm.Text, "Телефон: +7 900") {
		t.Errorf("text %q", pm.Text)
	}
	if len(pm.Attachments) != 1 || pm.Attachments[0].Filename != "Акт осмотра.pdf" || !bytes.Equal(pm.Attachments[0].Data, a.Files[0].Data) {
		t.Errorf("attachments %+v", pm.Attachments)
	}
	if pm.MessageID != "abc@mx.test" || pm.Header.Get(HeaderChannel) != "web" || pm.Header.Get(HeaderConsent) != "time=x; ip=1.2.3.4; version=v1" {
		t.Errorf("headers: %q %q %q", pm.MessageID, pm.Header.Get(HeaderChannel), pm.Header.Get(HeaderConsent))
	}
	if !bytes.Contains(raw, []byte("filename*=")) && !bytes.Contains(raw, []byte("=?utf-8?")) {
		t.Errorf("file name not encoded:\n%s", raw)
	}
}

func TestCheckNamesFields(t *testing.T) {
	w := rules.Defaults().Webform
	a := &Appeal{Name: " ", Email: "not an address", Phone: "call me", Subject: "x\r\nBcc: evil@x", Text: "t"}
	got := map[string]string{}
	for _, e := range a.check(&w) {
		got[e.Field] = e.Code
	}
	want := map[string]string{"name": codeRequired, "email": codeInvalid, "phone": codeInvalid, "consent": codeConsent}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("errors %v, want %v", got, want)
	}
	if a.Subject != "x Bcc: evil@x" {
		t.Errorf("subject not folded to one line: %q", a.Subject)
	}
}

// The captcha check against a fake verify server: the secret, token and
// client IP are sent; "ok" passes, anything else or no server fails.
func TestCaptcha(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("secret") == "sec" && r.Form.Get("token") == "good" && r.Form.Get("ip") == "10.0.0.1" {
			fmt.Fprint(w, `{"status":"ok","message":""}`)
			return
		}
		fmt.Fprint(w, `{"status":"failed","message":"Token invalid or expired."}`)
	}))
	defer srv.Close()
	secret := filepath.Join(t.TempDir(), "s")
	os.WriteFile(secret, []byte("sec\n"), 0o600)
	h := &Handler{client: srv.Client()}
	wf := &rules.Webform{CaptchaVerifyURL: srv.URL, CaptchaSecretFile: secret}
	ctx := context.Background()
	if ok, err := h.captchaOK(ctx, wf, "good", "10.0.0.1"); !ok || err != nil {
		t.Errorf("good token: %v %v", ok, err)
	}
	for _, tok := range []string{"bad", ""} {
		if ok, _ := h.captchaOK(ctx, wf, tok, "10.0.0.1"); ok {
			t.Errorf("token %q passed", tok)
		}
	}
	srv.Close()
	if ok, err := h.captchaOK(ctx, wf, "good", "10.0.0.1"); ok || err == nil {
		t.Errorf("unreachable provider: %v %v (must fail)", ok, err)
	}
}

func TestTokenSignature(t *testing.T) {
	h := &Handler{key: []byte("k1")}
	now := time.Now()
	tok := h.issue("n1", now)
	if n, at, ok := h.verify(tok); !ok || n != "n1" || at.UnixMilli() != now.UnixMilli() {
		t.Errorf("verify own token: %v %v %v", n, at, ok)
	}
	other := &Handler{key: []byte("k2")}
	if _, _, ok := other.verify(tok); ok {
		t.Error("a token signed with another key verified")
	}
	p := strings.Split(tok, ".")
	p[1] = "1"
	if _, _, ok := h.verify(strings.Join(p, ".")); ok {
		t.Error("a token with a changed time verified")
	}
}

func TestWindow(t *testing.T) {
	w := newWindow()
	now := time.Now()
	w.add("1.1.1.1", time.Hour, now)
	w.add("1.1.1.1", time.Hour, now.Add(time.Minute))
	if full, _ := w.full("1.1.1.1", 3, time.Hour, now.Add(2*time.Minute)); full {
		t.Error("full at 2 of 3")
	}
	w.add("1.1.1.1", time.Hour, now.Add(2*time.Minute))
	full, wait := w.full("1.1.1.1", 3, time.Hour, now.Add(3*time.Minute))
	if !full || wait != 57*time.Minute {
		t.Errorf("full %v wait %v", full, wait)
	}
	if full, _ := w.full("2.2.2.2", 3, time.Hour, now); full {
		t.Error("another IP is full")
	}
	if full, _ := w.full("1.1.1.1", 3, time.Hour, now.Add(61*time.Minute)); full {
		t.Error("still full after the window")
	}
}

// Both shipped pages load (the built-in Russian one and examples/'s
// English one) and render an error next to its field.
func TestShippedPagesLoad(t *testing.T) {
	for _, f := range []string{"", "../examples/form.en.html"} {
		p, err := loadPage(f)
		if err != nil {
			t.Fatalf("%q: %v", f, err)
		}
		var b bytes.Buffer
		if err := p.t.Execute(&b, pageData{Values: map[string]string{"name": "<b>x</b>"}, Errors: map[string]string{"email": codeInvalid}, MaxFiles: 1}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), `id="email-err"`) || !strings.Contains(b.String(), "&lt;b&gt;x&lt;/b&gt;") {
			t.Errorf("%q renders wrong:\n%s", f, b.String())
		}
	}
}

func TestClientIP(t *testing.T) {
	wf := &rules.Webform{TrustedProxies: []string{"10.0.0.0/8", "192.0.2.1"}}
	for _, c := range []struct{ peer, xff, want string }{
		{"203.0.113.5:4000", "198.51.100.1", "203.0.113.5"},                   // not a proxy: XFF ignored
		{"10.1.1.1:4000", "198.51.100.1", "198.51.100.1"},                     // our proxy: its entry
		{"10.1.1.1:4000", "6.6.6.6, 198.51.100.1, 192.0.2.1", "198.51.100.1"}, // two proxies; the forged left entry is not reached
		{"10.1.1.1:4000", "", "10.1.1.1"},                                     // a proxy that adds nothing
		{"10.1.1.1:4000", "junk, 10.2.2.2", "10.2.2.2"},                       // garbage: stop at the last trusted hop
	} {
		r := httptest.NewRequest("POST", "/form", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := clientIP(r, wf); got != c.want {
			t.Errorf("peer %s XFF %q: %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
}

// reserve is check-and-add under one lock: of many parallel callers at
// most max get a slot; a released slot is free again.
func TestWindowReserveParallel(t *testing.T) {
	w := newWindow()
	now := time.Now()
	var mu sync.Mutex
	var got []func()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _, release := w.reserve("1.1.1.1", 3, time.Hour, now); ok {
				mu.Lock()
				got = append(got, release)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != 3 {
		t.Fatalf("%d reservations of 3", len(got))
	}
	got[0]()
	got[0]() // twice: still one slot back
	if ok, _, _ := w.reserve("1.1.1.1", 3, time.Hour, now); !ok {
		t.Error("a released slot is not free")
	}
	if ok, wait, _ := w.reserve("1.1.1.1", 3, time.Hour, now.Add(time.Minute)); ok || wait != 59*time.Minute {
		t.Errorf("a fourth slot: %v, wait %v", ok, wait)
	}
}

// The JSON API's file name reaches the forwarded copy without its path
// and without bidi/format characters: the raw Content-Disposition, read
// as a mail client reads it (not through our own cleaning parser).
func TestAPIFileNameInForwardedCopy(t *testing.T) {
	body := `{"name":"Пётр","email":"p@resident.test","subject":"s","text":"t","consent":true,` +
		`"files":[{"name":"../../etc/акт\u202egnp.exe","content":"aGk="}]}`
	r := httptest.NewRequest("POST", "/intake", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	cfg := rules.Defaults()
	a, fe, err := readAPI(r, &cfg)
	if err != nil || fe != nil {
		t.Fatal(err, fe)
	}
	raw, err := build(a, mail.Address{Address: "support@example.com"}, "id@mx.test", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if ah, ok := p.Header.(*gomail.AttachmentHeader); ok {
			n, _ := ah.Filename()
			names = append(names, n)
		}
	}
	if len(names) != 1 || names[0] != "актgnp.exe" {
		t.Errorf("file names in the forwarded copy: %q, want [\"актgnp.exe\"]", names)
	}
}
