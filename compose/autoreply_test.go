package compose

import (
	"bytes"
	"io"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/emersion/go-message"
	gmail "github.com/emersion/go-message/mail"
)

// part is a parsed MIME tree node for assertions.
type part struct {
	ctype  string
	params map[string]string
	header message.Header
	body   []byte
	kids   []*part
}

func parseTree(t testing.TB, raw []byte) *part {
	t.Helper()
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return walk(t, e)
}

func walk(t testing.TB, e *message.Entity) *part {
	t.Helper()
	ct, params, err := e.Header.ContentType()
	if err != nil {
		t.Fatalf("content-type: %v", err)
	}
	p := &part{ctype: ct, params: params, header: e.Header}
	if mr := e.MultipartReader(); mr != nil {
		for {
			c, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("next part: %v", err)
			}
			p.kids = append(p.kids, walk(t, c))
		}
		return p
	}
	if p.body, err = io.ReadAll(e.Body); err != nil {
		t.Fatalf("body: %v", err)
	}
	return p
}

func (p *part) shape() string {
	if len(p.kids) == 0 {
		return p.ctype
	}
	var s []string
	for _, k := range p.kids {
		s = append(s, k.shape())
	}
	return p.ctype + "(" + strings.Join(s, ", ") + ")"
}

func replyParams(t testing.TB) ReplyParams {
	t.Helper()
	tm, err := DefaultTemplates("ru")
	if err != nil {
		t.Fatal(err)
	}
	return ReplyParams{
		Templates: tm,
		Data: TemplateData{Greeting: "Иван Петров", Name: "Иван Петров", Email: "ivan@client.example",
			Subject: "Не работает вход в личный кабинет", TaskID: "123", TaskURL: "https://b24.example/task/123/"},
		Hostname:    "mx.example.com",
		From:        mail.Address{Name: "Служба поддержки", Address: "support@example.com"},
		To:          "ivan@client.example",
		OrigFrom:    mail.Address{Name: "Иван Петров", Address: "Ivan@Client.example"},
		InReplyToID: "<orig-1@client.example>",
		References:  []string{"<root@client.example> <mid@client.example>"},
		MessageID:   "fixed-1@mx.example.com",
		LoopID:      "supportgate@mx.example.com",
		Date:        time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
	}
}

func TestAutoReplyTree(t *testing.T) {
	raw, err := AutoReply(replyParams(t))
	if err != nil {
		t.Fatal(err)
	}
	root := parseTree(t, raw)
	want := "multipart/related(multipart/alternative(text/plain, text/html), image/png)"
	if got := root.shape(); got != want {
		t.Fatalf("tree = %s, want %s", got, want)
	}
	if root.params["type"] != "multipart/alternative" {
		t.Errorf("related type = %q", root.params["type"])
	}
	alt, img := root.kids[0], root.kids[1]
	plain, html := alt.kids[0], alt.kids[1]
	for _, p := range []*part{plain, html} {
		if enc := p.header.Get("Content-Transfer-Encoding"); enc != "quoted-printable" || p.params["charset"] != "utf-8" {
			t.Errorf("%s: encoding %q charset %q", p.ctype, enc, p.params["charset"])
		}
	}
	if img.header.Get("Content-Transfer-Encoding") != "base64" {
		t.Errorf("image encoding %q", img.header.Get("Content-Transfer-Encoding"))
	}
	disp, dparams, _ := img.header.ContentDisposition()
	if disp != "inline" || dparams["filename"] != "logo.png" {
		t.Errorf("image disposition %q %v", disp, dparams)
	}
	logo, _ := os.ReadFile(filepath.Join("templates", "logo.png"))
	if !bytes.Equal(img.body, logo) {
		t.Error("image bytes differ from templates/logo.png")
	}
	// The cid in the HTML names the image part.
	cid := strings.Trim(img.header.Get("Content-Id"), "<>")
	if !regexp.MustCompile(`^[0-9a-f]{24}@mx\.example\.com$`).MatchString(cid) {
		t.Errorf("Content-ID %q", cid)
	}
	if !bytes.Contains(html.body, []byte(`src="cid:`+cid+`"`)) || bytes.Contains(html.body, []byte(`src="logo.png"`)) {
		t.Errorf("html does not refer to cid:%s", cid)
	}
	for _, s := range []string{"Здравствуйте, Иван Петров!", "#123", "Служба поддержки"} {
		if !bytes.Contains(html.body, []byte(s)) || !bytes.Contains(plain.body, []byte(s)) {
			t.Errorf("%q missing from html or text:\n%s", s, plain.body)
		}
	}
	// .TaskURL is an intranet page (issue 10): the defaults do not link it.
	if bytes.Contains(html.body, []byte("b24.example")) || bytes.Contains(plain.body, []byte("b24.example")) {
		t.Errorf("the default acknowledgement links the portal:\n%s", html.body)
	}
	if bytes.Contains(plain.body, []byte("<p")) || bytes.Contains(plain.body, []byte("<td")) || bytes.HasPrefix(plain.body, []byte(" ")) {
		t.Errorf("plain text has markup:\n%s", plain.body)
	}
	// Every line, headers and bodies, within RFC 5322's 78 advice.
	for _, l := range strings.Split(string(raw), "\r\n") {
		if len(l) > 78 {
			t.Errorf("line of %d: %q", len(l), l)
		}
	}
}

func TestAutoReplyHeaders(t *testing.T) {
	raw, err := AutoReply(replyParams(t))
	if err != nil {
		t.Fatal(err)
	}
	mr, err := gmail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := mr.Header
	from, _ := h.AddressList("From")
	to, _ := h.AddressList("To")
	if len(from) != 1 || from[0].Name != "Служба поддержки" || from[0].Address != "support@example.com" {
		t.Errorf("From = %v", from)
	}
	if len(to) != 1 || to[0].Name != "Иван Петров" || to[0].Address != "ivan@client.example" {
		t.Errorf("To = %v", to)
	}
	subj, _ := h.Subject()
	if subj != "[autoreply] Не работает вход в личный кабинет [#123]" {
		t.Errorf("Subject = %q", subj)
	}
	id, _ := h.MessageID()
	irt, _ := h.MsgIDList("In-Reply-To")
	refs, _ := h.MsgIDList("References")
	if id != "fixed-1@mx.example.com" || strings.Join(irt, " ") != "orig-1@client.example" ||
		strings.Join(refs, " ") != "root@client.example mid@client.example orig-1@client.example" {
		t.Errorf("ids: %q %q %q", id, irt, refs)
	}
	for k, v := range map[string]string{
		"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All", "Precedence": "bulk",
		"X-Loop": "supportgate@mx.example.com", "Mime-Version": "1.0",
		"Date": "Mon, 23 Nov 2026 10:00:00 +0000",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// The tag stays readable ASCII in the raw header.
	rawSubj := rawHeader(t, raw, "Subject")
	if !strings.Contains(rawSubj, " [#123]") {
		t.Errorf("raw Subject %q hides the tag", rawSubj)
	}
}

// rawHeader returns the unfolded raw value of key.
func rawHeader(t testing.TB, raw []byte, key string) string {
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	unfolded := strings.ReplaceAll(string(head), "\r\n ", " ")
	for _, l := range strings.Split(unfolded, "\r\n") {
		if k, v, ok := strings.Cut(l, ": "); ok && strings.EqualFold(k, key) {
			return v
		}
	}
	t.Fatalf("no %s header", key)
	return ""
}

// Without an original Message-ID: References copied, no In-Reply-To.
func TestAutoReplyThreadingNoMessageID(t *testing.T) {
	for _, tc := range []struct {
		id         string
		refs, irt  []string
		wantIRT    string
		wantRefs   string
		wantNoRefs bool
	}{
		{"", []string{"<a@x> <b@x>"}, nil, "", "<a@x> <b@x>", false},
		{"", nil, []string{"<p@x>"}, "", "<p@x>", false},
		{"<m@x>", nil, []string{"<p@x>"}, "<m@x>", "<p@x> <m@x>", false},
		{"<m@x>", nil, []string{"<p@x>", "<q@x>"}, "<m@x>", "<m@x>", false},
		{"", nil, nil, "", "", true},
		{"bad id\r\nBcc: x@y", nil, nil, "", "", true},
	} {
		p := replyParams(t)
		p.InReplyToID, p.References, p.InReplyTo = tc.id, tc.refs, tc.irt
		raw, err := AutoReply(p)
		if err != nil {
			t.Fatal(err)
		}
		e, _ := message.Read(bytes.NewReader(raw))
		if got := e.Header.Get("In-Reply-To"); got != tc.wantIRT {
			t.Errorf("%q: In-Reply-To %q, want %q", tc.id, got, tc.wantIRT)
		}
		if got := e.Header.Get("References"); got != tc.wantRefs {
			t.Errorf("%q: References %q, want %q", tc.id, got, tc.wantRefs)
		}
		if e.Header.Has("Bcc") {
			t.Errorf("%q: injected Bcc", tc.id)
		}
	}
}

var encodedWordRE = regexp.MustCompile(`=\?[^?]+\?[bBqQ]\?[^?]*\?=`)

func TestAutoReplyCyrillicSubject(t *testing.T) {
	long := strings.Repeat("Очень длинная тема письма про ёлки и ЪЬ ", 6) + "конец"
	for _, subj := range []string{long, "Заказ[#77]оплата", "Тема", "ASCII only", "😀 эмодзи 😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀"} {
		p := replyParams(t)
		p.Data.Subject = subj
		raw, err := AutoReply(p)
		if err != nil {
			t.Fatal(err)
		}
		rs := rawHeader(t, raw, "Subject")
		for _, w := range encodedWordRE.FindAllString(rs, -1) {
			if len(w) > 75 {
				t.Errorf("encoded word of %d chars: %s", len(w), w)
			}
			// Each word decodes alone: no rune split across words.
			if _, err := (&mime.WordDecoder{}).Decode(w); err != nil {
				t.Errorf("word %s: %v", w, err)
			}
			dec, _ := (&mime.WordDecoder{}).Decode(w)
			if strings.ContainsRune(dec, '\uFFFD') {
				t.Errorf("word %s splits a rune", w)
			}
		}
		e, _ := gmail.CreateReader(bytes.NewReader(raw))
		got, _ := e.Header.Subject()
		want := "[autoreply] " + cleanText(tagRE.ReplaceAllString(EchoSubject(subj), " $0 ")) + " [#123]" // long ones cut at 200
		if got != want {
			t.Errorf("subject round trip:\n got %q\nwant %q", got, want)
		}
		if strings.Contains(subj, "[#77]") && !strings.Contains(rs, " [#77] ") {
			t.Errorf("tag encoded: %s", rs)
		}
	}
}

func TestAutoReplyEscaping(t *testing.T) {
	p := replyParams(t)
	p.Data.Greeting = `"><script>alert(1)</script>`
	p.Data.Subject = "hi\r\nBcc: victim@example.org\r\n\r\n<b>body</b>"
	p.OrigFrom.Name = "Evil\r\nBcc: victim@example.org"
	p.From.Name = "Support\nX-Injected: 1"
	raw, err := AutoReply(p)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, bad := range []string{"\r\nBcc:", "\r\nX-Injected:", "\nBcc:"} {
		if bytes.Contains(head, []byte(bad)) {
			t.Errorf("header injection %q:\n%s", bad, head)
		}
	}
	root := parseTree(t, raw)
	html := string(root.kids[0].kids[1].body)
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&#34;&gt;&lt;script&gt;") {
		t.Errorf("greeting not escaped: %s", html)
	}
	if strings.Contains(html, "<b>body</b>") {
		t.Error("subject not escaped in html")
	}
	// A recipient that is not a plain address is refused outright.
	p.To = "a@b.example\r\nBcc: c@d.example"
	if _, err := AutoReply(p); err == nil {
		t.Error("bad To accepted")
	}
}

// The display name of the original From is used only for the same address.
func TestAutoReplyRecipientName(t *testing.T) {
	p := replyParams(t)
	p.OrigFrom = mail.Address{Name: "Someone Else", Address: "other@client.example"}
	raw, err := AutoReply(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := rawHeader(t, raw, "To"); got != "<ivan@client.example>" {
		t.Errorf("To = %q", got)
	}
}

func TestLoadTemplatesErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.html", `<p>Hi {{.Greeting}}</p><img src="logo.png"><img src="https://x.example/a.png">`)
	write("logo.png", "\x89PNG\r\n\x1a\nfake")
	tm, err := LoadTemplates("Re: {{.Subject}}", good)
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.images) != 1 {
		t.Errorf("preloaded %d images", len(tm.images))
	}
	for _, tc := range []struct{ subj, file, content, want string }{
		{"Re: {{.Subject", "a.html", "<p></p>", "subject template"},
		{"Re: {{.Nope}}", "b.html", "<p></p>", "subject template"},
		{"", "c.html", "<p>{{if}}</p>", "c.html"},
		{"", "d.html", "<p>{{.Greting}}</p>", "d.html"},
		{"", "e.html", `<img src="missing.png">`, "missing.png"},
		{"", "", "", "nothere.html"},
	} {
		path := filepath.Join(dir, "nothere.html")
		if tc.file != "" {
			path = write(tc.file, tc.content)
		}
		_, err := LoadTemplates(tc.subj, path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want mention of %q", tc.file, err, tc.want)
		}
	}
}

func TestDefaultTemplatesEnglish(t *testing.T) {
	tm, err := DefaultTemplates("en")
	if err != nil {
		t.Fatal(err)
	}
	p := replyParams(t)
	p.Templates = tm
	p.Data.TaskID = ""
	raw, err := AutoReply(p)
	if err != nil {
		t.Fatal(err)
	}
	html := string(parseTree(t, raw).kids[0].kids[1].body)
	if !strings.Contains(html, "Hello Иван Петров,") || strings.Contains(html, "#123") {
		t.Errorf("english template:\n%s", html)
	}
}

func BenchmarkAutoReply(b *testing.B) {
	p := replyParams(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AutoReply(p); err != nil {
			b.Fatal(err)
		}
	}
}

// Same file twice → one part; remote and data: images stay; a src built at
// render time is read then; an unreadable one is left alone, not fatal.
func TestAutoReplyImages(t *testing.T) {
	fsys := fstest.MapFS{
		"t/a.html": {Data: []byte(`<img src="img/logo.png"><img src='img/logo.png'>` +
			`<img src="https://cdn.example/x.png"><img src="data:image/png;base64,AA==">` +
			`<img src="img/{{.TaskID}}.gif"><img src="../secret.png"><img src="img/gone-{{.Name}}.png">`)},
		"t/img/logo.png": {Data: []byte("PNGDATA")},
		"t/img/1.gif":    {Data: []byte("GIF1")},
		"t/img/7.gif":    {Data: []byte("GIF7")},
		"secret.png":     {Data: []byte("SECRET")},
	}
	tm, err := LoadTemplatesFS(fsys, "", "t/a.html")
	if err != nil {
		t.Fatal(err)
	}
	p := replyParams(t)
	p.Templates, p.Data.TaskID = tm, "7"
	raw, err := AutoReply(p)
	if err != nil {
		t.Fatal(err)
	}
	root := parseTree(t, raw)
	if got := root.shape(); got != "multipart/related(multipart/alternative(text/plain, text/html), image/png, image/gif)" {
		t.Fatalf("tree %s", got)
	}
	html := string(root.kids[0].kids[1].body)
	logoCID := strings.Trim(root.kids[1].header.Get("Content-Id"), "<>")
	gifCID := strings.Trim(root.kids[2].header.Get("Content-Id"), "<>")
	if strings.Count(html, "cid:"+logoCID) != 2 || !strings.Contains(html, "cid:"+gifCID) ||
		string(root.kids[2].body) != "GIF7" {
		t.Errorf("cids not wired: %s", html)
	}
	for _, keep := range []string{`src="https://cdn.example/x.png"`, `src="data:image/png;base64,AA=="`, `src="../secret.png"`, `src="img/gone-`} {
		if !strings.Contains(html, keep) {
			t.Errorf("%s rewritten: %s", keep, html)
		}
	}
	// Images FS override.
	p.Images = fstest.MapFS{"img/logo.png": {Data: []byte("OTHER")}, "img/7.gif": {Data: []byte("G")}}
	raw, err = AutoReply(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := parseTree(t, raw).kids[1].body; string(got) != "OTHER" {
		t.Errorf("override ignored: %q", got)
	}
}
