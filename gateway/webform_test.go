package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/bitrix/bitrixtest"
	"supportgate/mailtest"
	"supportgate/pipeline"
)

const intakeToken = "s3cret-intake-token"

// newWebformEnv is the Bitrix24 env with [webform] on; wf is extra
// [webform] keys, more is appended after the [webform] block.
func newWebformEnv(t *testing.T, wf, more string) (*env, *bitrixtest.Portal) {
	t.Helper()
	portal := bitrixtest.NewWithOptions(t, bitrixtest.Options{UserID: 1, FolderID: 11})
	portal.AddUser(7, "Ольга Смирнова", "olga@example.com")
	e := &env{t: t, dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(e.dir, "intake.token"), []byte(intakeToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(wf, "min_fill_time") {
		wf += "\nmin_fill_time = \"0s\"\n"
	}
	extra := fmt.Sprintf("[bitrix]\nwebhook_url = %q\nresponsible_id = 7\napplication_token = %q\nfolder_id = 11\npoll_interval = \"1h\"\n"+
		"[bitrix.task]\nTAGS = [\"support\"]\nPRIORITY = 1\n"+
		"[webform]\nenabled = true\nmailbox = \"support@example.com\"\napi_token_file = \"intake.token\"\n%s\n"+
		"[webform.task]\nTAGS = [\"Тип отправления: ЛК жителя\", \"Тип отправителя: Физическое лицо\"]\nUF_CHANNEL = \"web\"\n%s\n",
		portal.WebhookURL(), appToken, wf, more)
	e.upstream, e.smarthost = mailtest.Start(t, false), mailtest.Start(t, false)
	e.start(extra, e.upstream.Addr())
	return e, portal
}

// formClient is a browser stand-in: a cookie jar, the page's token.
type formClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newFormClient(t *testing.T, e *env) *formClient {
	jar, _ := cookiejar.New(nil)
	return &formClient{t: t, base: "http://" + e.g.HTTPAddr(), c: &http.Client{Jar: jar}}
}

var tokenRE = regexp.MustCompile(`name="_token" value="([^"]+)"`)

// token loads the form and returns its signed token.
func (f *formClient) token() string {
	f.t.Helper()
	resp, err := f.c.Get(f.base + "/form")
	if err != nil {
		f.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		f.t.Fatalf("GET /form: %d", resp.StatusCode)
	}
	m := tokenRE.FindSubmatch(b)
	if m == nil {
		f.t.Fatalf("no token in the page:\n%s", b)
	}
	return string(m[1])
}

type upload struct {
	name string
	data []byte
}

// post sends the page's multipart form; header adds request headers.
func (f *formClient) post(fields map[string]string, files []upload, header map[string]string) (int, http.Header, string) {
	f.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for _, u := range files {
		w, _ := mw.CreateFormFile("files", u.name)
		w.Write(u.data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", f.base+"/form", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := f.c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func goodFields(tok string) map[string]string {
	return map[string]string{"_token": tok, "name": "Мария Иванова", "email": "maria@resident.test", "phone": "+7 900 123-45-67",
		"subject": "Протечка в подъезде", "text": "Течёт крыша над 5-м этажом.", "consent": "yes"}
}

func intake(t *testing.T, e *env, token, ctype string, body []byte) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+e.g.HTTPAddr()+"/intake", bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func jsonAppeal(t *testing.T, mod func(m map[string]any)) []byte {
	m := map[string]any{"name": "Пётр Сидоров", "email": "petr@resident.test", "subject": "Домофон", "text": "Не работает домофон.", "consent": true}
	if mod != nil {
		mod(m)
	}
	b, _ := json.Marshal(m)
	return b
}

// The API: a good token files the appeal (task with the channel fields and
// the cleaned file name, forwarded copy, one acknowledgement); the person's
// mail reply to the acknowledgement is a comment on the same task; a bad
// token is 401, a missing field 400 naming it.
func TestWebformAPI(t *testing.T) {
	// Sender authentication on, with the strictest policy and a resolver
	// that answers nothing: a web appeal is not held up by it and still
	// gets its acknowledgement (not applicable is not a failure).
	e, portal := newWebformEnv(t, "", "[auth]\nautoreply = \"pass\"\nresolver = \"127.0.0.1:9\"\ntimeout = \"200ms\"\n")
	file := []byte("%PDF-1.4 акт осмотра \x00\x01")
	code, out := intake(t, e, intakeToken, "application/json", jsonAppeal(t, func(m map[string]any) {
		m["files"] = []map[string]string{{"name": "../../etc/ак\x00т.pdf", "content": base64.StdEncoding.EncodeToString(file)}}
	}))
	if code != 201 || out["id"] == "" {
		t.Fatalf("intake = %d %v", code, out)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 1 }, "task")
	task := portal.Tasks()[0]
	waitFor(t, func() bool { task, _ = portal.Task(task.ID); return len(task.Files) >= 1 }, "files linked")
	found := false
	for _, id := range task.Files {
		if f, ok := portal.FileInfo(id); ok && f.Name == "акт.pdf" && bytes.Equal(f.Data, file) {
			found = true
		}
	}
	if !found {
		t.Errorf("file акт.pdf (cleaned of ../ and NUL) not on Drive intact; files %v", task.Files)
	}
	if strings.Join(task.Tags, "|") != "Тип отправления: ЛК жителя|Тип отправителя: Физическое лицо" || task.Fields["UF_CHANNEL"] != "web" {
		t.Errorf("channel fields: tags %q fields %v", task.Tags, task.Fields)
	}
	if task.Priority != 1 {
		t.Errorf("[bitrix.task] PRIORITY not kept under [webform.task]: %d", task.Priority)
	}
	if !strings.Contains(task.Description, "Согласие на обработку персональных данных") || !strings.Contains(task.Description, "ip=127.0.0.1") ||
		!strings.Contains(task.Description, "version=sha256:") {
		t.Errorf("consent record not in the task text:\n%s", task.Description)
	}
	fwd := e.upstream.Wait(1, 10*time.Second)
	if len(fwd) != 1 || !bytes.Contains(fwd[0].Data, []byte("X-Supportgate-Channel: web")) || !bytes.Contains(fwd[0].Data, []byte("X-Supportgate-Consent: time=")) {
		t.Fatalf("forwarded copy: %d messages", len(fwd))
	}
	if fwd[0].From != "petr@resident.test" {
		t.Errorf("forward envelope from %q", fwd[0].From)
	}
	waitFor(t, func() bool { return len(replies(e)) == 1 }, "acknowledgement")
	ack := replies(e)[0]
	if ack.Rcpts[0] != "petr@resident.test" {
		t.Errorf("ack to %v", ack.Rcpts)
	}
	ah := header(t, ack)
	ackID, _ := ah.MessageID()

	// The person answers the acknowledgement by mail: a comment.
	reply := "From: petr@resident.test\r\nTo: support@example.com\r\nSubject: Re: Домофон\r\nMessage-ID: <wr1@resident.test>\r\nIn-Reply-To: <" + ackID + ">\r\n\r\nКод подъезда 1234.\r\n"
	if err := send(t, e.g.SMTPAddr(), "petr@resident.test", []string{"support@example.com"}, reply); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(portal.Comments(task.ID)) == 1 }, "comment")
	if c := portal.Comments(task.ID)[0]; !strings.Contains(c.Message, "Код подъезда 1234") {
		t.Errorf("comment = %q", c.Message)
	}
	if len(portal.Tasks()) != 1 || len(replies(e)) != 1 {
		t.Errorf("tasks %d, replies %d after the mail reply", len(portal.Tasks()), len(replies(e)))
	}

	// Bad token, no token: 401, nothing stored.
	for _, tok := range []string{"wrong", ""} {
		if code, _ := intake(t, e, tok, "application/json", jsonAppeal(t, nil)); code != 401 {
			t.Errorf("token %q: %d, want 401", tok, code)
		}
	}
	// Missing fields: 400 naming each.
	for _, f := range []string{"name", "email", "subject", "text", "consent"} {
		code, out := intake(t, e, intakeToken, "application/json", jsonAppeal(t, func(m map[string]any) { delete(m, f) }))
		if code != 400 || out["field"] != f || out["error"] == "" {
			t.Errorf("without %s: %d %v", f, code, out)
		}
	}
	// Files over the cap: 413 naming the files.
	code, out = intake(t, e, intakeToken, "application/json", jsonAppeal(t, func(m map[string]any) {
		m["files"] = []map[string]string{{"name": "big.bin", "content": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 700<<10))}}
	}))
	if code != 413 || out["field"] != "files" {
		t.Errorf("big file: %d %v", code, out)
	}
	// Multipart works too.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"name": "Анна", "email": "anna@resident.test", "subject": "Лифт", "text": "Стоит лифт", "consent": "on"} {
		mw.WriteField(k, v)
	}
	mw.Close()
	if code, out := intake(t, e, intakeToken, mw.FormDataContentType(), body.Bytes()); code != 201 || out["id"] == "" {
		t.Errorf("multipart intake = %d %v", code, out)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 2 }, "second task")
	// Metrics carry the channel.
	resp, err := http.Get("http://" + e.g.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsText, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`supportgate_webform_submissions_total{channel="web",result="accepted",via="api"}`,
		`supportgate_webform_submissions_total{channel="web",result="unauthorized",via="api"}`} {
		if !bytes.Contains(metricsText, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if n := len(e.upstream.Wait(3, 10*time.Second)); n != 3 {
		t.Errorf("upstream has %d messages, want 3 (2 appeals, 1 mail reply)", n)
	}
}

// The page's abuse controls and bad input, each answered clearly and
// with nothing stored.
func TestWebformPageAbuse(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		status := "failed"
		if r.Form.Get("secret") == "captcha-secret" && r.Form.Get("token") == "solved" && r.Form.Get("ip") == "127.0.0.1" {
			status = "ok"
		}
		fmt.Fprintf(w, `{"status":%q,"message":""}`, status)
	}))
	defer fake.Close()
	dir := t.TempDir()
	secret := filepath.Join(dir, "captcha.secret")
	os.WriteFile(secret, []byte("captcha-secret"), 0o600)
	e, portal := newWebformEnv(t, fmt.Sprintf("max_per_ip = 2\nmax_total_bytes = 4000\ncaptcha_verify_url = %q\ncaptcha_secret_file = %q\n", fake.URL+"/validate", secret), "")
	f := newFormClient(t, e)

	// CSRF: no token, or a token without its cookie: 403.
	if code, _, body := f.post(goodFields(""), nil, nil); code != 403 || !strings.Contains(body, "со страницы обращения") {
		t.Errorf("no token: %d", code)
	}
	tok := f.token()
	other := newFormClient(t, e) // another browser: no cookie
	if code, _, _ := other.post(goodFields(tok), nil, nil); code != 403 {
		t.Errorf("token without its cookie: %d, want 403", code)
	}
	if code, _, _ := other.post(goodFields(tok), nil, map[string]string{"Origin": "https://evil.test"}); code != 403 {
		t.Errorf("token without its cookie from another site: %d, want 403", code)
	}
	// Honeypot.
	fl := goodFields(tok)
	fl["website"] = "http://spam.test"
	if code, _, _ := f.post(fl, nil, nil); code != 400 {
		t.Errorf("honeypot: %d, want 400", code)
	}
	// Missing field: 400, the error next to it, the input kept, HTML as text.
	fl = goodFields(tok)
	delete(fl, "name")
	fl["text"] = "<script>alert(1)</script><b>жирный</b>"
	code, _, body := f.post(fl, nil, nil)
	if code != 400 || !strings.Contains(body, `aria-describedby="name-err"`) || !strings.Contains(body, `id="name-err"`) {
		t.Errorf("missing name: %d\n%s", code, body)
	}
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;жирный&lt;/b&gt;") {
		t.Errorf("text not kept as text:\n%s", body)
	}
	if !strings.Contains(body, `value="maria@resident.test"`) {
		t.Errorf("input not kept")
	}
	// Oversized file: 413 and the message shown.
	code, _, body = f.post(goodFields(f.token()), []upload{{"big.bin", bytes.Repeat([]byte("x"), 5000)}}, nil)
	if code != 413 || !strings.Contains(body, "Файлы слишком большие. Вместе не больше 0,0038 МБ") {
		t.Errorf("big file: %d", code)
	}
	code, _, _ = f.post(goodFields(f.token()), []upload{{"huge.bin", bytes.Repeat([]byte("x"), 200<<10)}}, nil)
	if code != 413 {
		t.Errorf("body over the limit: %d, want 413", code)
	}
	// Captcha: missing or wrong token fails, solved passes.
	code, _, body = f.post(goodFields(f.token()), nil, nil)
	if code != 400 || !strings.Contains(body, "captcha-err") {
		t.Errorf("no captcha: %d", code)
	}
	fl = goodFields(f.token())
	fl["smart-token"] = "wrong"
	if code, _, _ := f.post(fl, nil, nil); code != 400 {
		t.Errorf("bad captcha: %d", code)
	}
	if st, err := e.g.Store.Stats(); err != nil || st.Messages != 0 || spoolCount(t, e) != 0 {
		t.Fatalf("refused posts stored something: %+v %v", st, err)
	}
	if n := len(e.upstream.Messages()) + len(portal.Tasks()); n != 0 {
		t.Fatalf("refused posts went somewhere: %d", n)
	}
	fl = goodFields(f.token())
	fl["smart-token"] = "solved"
	code, _, body = f.post(fl, nil, nil)
	if code != 200 || !strings.Contains(body, `id="request-id"`) {
		t.Fatalf("good post: %d\n%s", code, body)
	}
	// Two accepted from this IP: the third is 429 with Retry-After.
	fl = goodFields(f.token())
	fl["smart-token"] = "solved"
	if code, _, _ := f.post(fl, nil, nil); code != 200 {
		t.Fatalf("second post: %d", code)
	}
	code, hdr, _ := f.post(fl, nil, nil)
	if ra, _ := strconv.Atoi(hdr.Get("Retry-After")); code != 429 || ra < 1 || ra > 3601 {
		t.Errorf("third post: %d Retry-After %q", code, hdr.Get("Retry-After"))
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 2 }, "two tasks")
	if n := len(e.upstream.Wait(2, 5*time.Second)); n != 2 {
		t.Errorf("upstream got %d, want 2", n)
	}
}

// In a company page's iframe the browser may withhold our cookie: the
// signed token and our own Origin are enough then.
func TestWebformTokenWithOwnOrigin(t *testing.T) {
	e, portal := newWebformEnv(t, "", "")
	tok := newFormClient(t, e).token()
	other := newFormClient(t, e) // no cookie
	code, _, body := other.post(goodFields(tok), nil, map[string]string{"Origin": "http://" + e.g.HTTPAddr()})
	if code != 200 || !requestIDRE.MatchString(body) {
		t.Fatalf("own origin, no cookie: %d", code)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 1 }, "task")
}

// A post sooner than min_fill_time is refused with the form again; a
// company page listed in allowed_origins posts without a token.
func TestWebformTooFastAndOrigin(t *testing.T) {
	e, portal := newWebformEnv(t, "min_fill_time = \"1h\"\nallowed_origins = [\"https://www.company.test\"]\n", "")
	f := newFormClient(t, e)
	code, _, body := f.post(goodFields(f.token()), nil, nil)
	if code != 400 || !strings.Contains(body, "слишком быстро") || !strings.Contains(body, `value="Мария Иванова"`) {
		t.Errorf("too fast: %d", code)
	}
	code, _, _ = f.post(goodFields(""), nil, map[string]string{"Origin": "https://evil.test"})
	if code != 403 {
		t.Errorf("foreign origin: %d, want 403", code)
	}
	code, _, body = f.post(goodFields(""), nil, map[string]string{"Origin": "https://www.company.test"})
	if code != 200 || !strings.Contains(body, "request-id") {
		t.Errorf("allowed origin: %d", code)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 1 }, "task")
	// explain names the channel (in-process: where its endpoint lives is
	// not this test's business).
	fwd := e.upstream.Wait(1, 5*time.Second)
	var out bytes.Buffer
	err := e.g.Store.View(func(tx *bolt.Tx) error {
		return pipeline.Explain(context.Background(), tx, e.g.Cfg.Get(), pipeline.ExplainInput{Raw: fwd[0].Data}, &out)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "channel:     web") || !strings.Contains(out.String(), "not applicable: web form") {
		t.Errorf("explain:\n%s", out.String())
	}
}

// queueIdle is the barrier: no job left (every appeal fully handled).
func queueIdle(t *testing.T, e *env) func() bool {
	return func() bool {
		jobs, err := e.g.Store.Jobs()
		if err != nil {
			t.Fatal(err)
		}
		return len(jobs) == 0
	}
}

// intakeFrom posts an appeal to /intake from a given loopback address
// (127.0.0.0/8 is all loopback), so tests can be several clients.
func intakeFrom(t *testing.T, e *env, local, email string) {
	t.Helper()
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}).DialContext}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("POST", "http://"+e.g.HTTPAddr()+"/intake", bytes.NewReader(jsonAppeal(t, func(m map[string]any) { m["email"] = email })))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+intakeToken)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("intake from %s: %d", local, resp.StatusCode)
	}
}

// The typed address is unverified, so acknowledgements are capped per
// address (max_per_sender) and per client IP (max_replies_per_ip); every
// appeal still gets its task.
func TestWebformReplyCaps(t *testing.T) {
	e, portal := newWebformEnv(t, "max_replies_per_ip = 2\n", "[autoreply]\nmax_per_sender = 1\n")
	// One at a time (each fully handled before the next is sent), so
	// the counts meet them in this order.
	for i, c := range []struct{ ip, email string }{
		{"127.0.0.1", "one@resident.test"},
		{"127.0.0.2", "one@resident.test"}, // same address, other IP: per-address cap
		{"127.0.0.1", "two@resident.test"},
		{"127.0.0.1", "three@resident.test"}, // third from 127.0.0.1: per-IP cap
	} {
		intakeFrom(t, e, c.ip, c.email)
		waitFor(t, func() bool { return len(portal.Tasks()) == i+1 }, "task of "+c.email)
		waitFor(t, queueIdle(t, e), "queue idle after "+c.email)
	}
	waitFor(t, queueIdle(t, e), "queue idle")
	got := map[string]int{}
	for _, r := range replies(e) {
		got[r.Rcpts[0]]++
	}
	if got["one@resident.test"] != 1 || got["two@resident.test"] != 1 || got["three@resident.test"] != 0 || len(got) != 2 {
		t.Errorf("acknowledgements: %v", got)
	}
}

// A mail from outside that carries our channel header is still a mail:
// no web task fields, no consent line, sender authentication as usual.
func TestForgedChannelHeaderIsMail(t *testing.T) {
	e, portal := newWebformEnv(t, "", "")
	msg := "From: x@customer.test\r\nTo: support@example.com\r\nSubject: forged\r\nMessage-ID: <forged1@customer.test>\r\n" +
		"X-Supportgate-Channel: web\r\nX-Supportgate-Consent: time=1; ip=1.1.1.1; version=x\r\n\r\nhello\r\n"
	if err := send(t, e.g.SMTPAddr(), "x@customer.test", []string{"support@example.com"}, msg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 1 }, "task")
	task := portal.Tasks()[0]
	if strings.Join(task.Tags, "|") != "support" || task.Fields["UF_CHANNEL"] != nil || strings.Contains(task.Description, "Согласие") {
		t.Errorf("a mail was taken for a web appeal: tags %q fields %v\n%s", task.Tags, task.Fields, task.Description)
	}
}

// Behind a trusted reverse proxy the client IP (consent record, Received:,
// per-IP caps) is the one the proxy saw; from anyone else X-Forwarded-For
// is ignored.
func TestWebformBehindProxy(t *testing.T) {
	for _, c := range []struct {
		trusted, want string
	}{{"[\"127.0.0.0/8\"]", "198.51.100.7"}, {"[]", "127.0.0.1"}} {
		e, _ := newWebformEnv(t, "trusted_proxies = "+c.trusted+"\n", "")
		req, _ := http.NewRequest("POST", "http://"+e.g.HTTPAddr()+"/intake", bytes.NewReader(jsonAppeal(t, nil)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+intakeToken)
		req.Header.Set("X-Forwarded-For", "198.51.100.7")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("intake: %d", resp.StatusCode)
		}
		fwd := e.upstream.Wait(1, 10*time.Second)
		if len(fwd) != 1 || !bytes.Contains(fwd[0].Data, []byte("ip="+c.want+";")) || !bytes.Contains(fwd[0].Data, []byte("(["+c.want+"])")) {
			t.Errorf("trusted_proxies %s: want client %s in the consent record and Received:\n%.600s", c.trusted, c.want, fwd[0].Data)
		}
		e.stop()
	}
}

var requestIDRE = regexp.MustCompile(`id="request-id">([^<]+)<`)

// A double click posts the same form twice, at once or one after the
// other: one appeal, and both answers name the same request number.
func TestWebformDoublePost(t *testing.T) {
	e, portal := newWebformEnv(t, "", "")
	f := newFormClient(t, e)
	tok := f.token()
	ids := make(chan string, 3)
	post := func() {
		code, _, body := f.post(goodFields(tok), nil, nil)
		m := requestIDRE.FindStringSubmatch(body)
		if code != 200 || m == nil {
			t.Errorf("post: %d", code)
			ids <- ""
			return
		}
		ids <- m[1]
	}
	go post()
	go post()
	a, b := <-ids, <-ids
	post() // and once more after both
	c := <-ids
	if a == "" || a != b || b != c {
		t.Errorf("request numbers %q %q %q: want one", a, b, c)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 1 }, "task")
	waitFor(t, queueIdle(t, e), "queue idle")
	if len(portal.Tasks()) != 1 || len(e.upstream.Messages()) != 1 {
		t.Errorf("tasks %d, forwards %d: want 1 each", len(portal.Tasks()), len(e.upstream.Messages()))
	}
}

// A company page's own plain form (urlencoded, no files) from an allowed
// origin is taken too.
func TestWebformURLEncodedFromAllowedOrigin(t *testing.T) {
	e, portal := newWebformEnv(t, "allowed_origins = [\"https://www.company.test\"]\n", "")
	form := url.Values{"name": {"Олег"}, "email": {"oleg@resident.test"}, "subject": {"Мусор"}, "text": {"Не вывозят мусор"}, "consent": {"on"}}
	req, _ := http.NewRequest("POST", "http://"+e.g.HTTPAddr()+"/form", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://www.company.test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !requestIDRE.Match(body) {
		t.Fatalf("urlencoded post: %d\n%s", resp.StatusCode, body)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 1 }, "task")
	if task := portal.Tasks()[0]; task.Title != "Мусор" {
		t.Errorf("task %q", task.Title)
	}
}

// The per-IP cap holds under parallel posts (the slot is reserved at the
// check), and its 429 page keeps what the person typed, storing nothing.
func TestWebformPerIPCapParallel(t *testing.T) {
	const cap, n = 2, 8
	e, _ := newWebformEnv(t, fmt.Sprintf("max_per_ip = %d\n", cap), "")
	f := newFormClient(t, e)
	toks := make([]string, n)
	for i := range toks {
		toks[i] = f.token()
	}
	codes := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range toks {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			fl := goodFields(toks[i])
			fl["subject"] = fmt.Sprintf("Обращение %d", i)
			<-start
			codes[i], _, bodies[i] = f.post(fl, nil, nil)
		}(i)
	}
	close(start)
	wg.Wait()
	accepted, limited := 0, 0
	for i, c := range codes {
		switch c {
		case 200:
			accepted++
		case 429:
			limited++
			if !strings.Contains(bodies[i], `value="maria@resident.test"`) || !strings.Contains(bodies[i], fmt.Sprintf(`value="Обращение %d"`, i)) ||
				!strings.Contains(bodies[i], "Течёт крыша над 5-м этажом.") || !strings.Contains(bodies[i], "Слишком много обращений") {
				t.Errorf("the 429 page lost the input or the message:\n%s", bodies[i])
			}
		default:
			t.Errorf("post %d: %d", i, c)
		}
	}
	if accepted != cap || limited != n-cap {
		t.Fatalf("%d parallel posts, cap %d: %d accepted, %d refused (429)", n, cap, accepted, limited)
	}
	waitFor(t, queueIdle(t, e), "the queue idle")
	if st, err := e.g.Store.Stats(); err != nil || st.Messages > cap {
		t.Errorf("stored %+v (%v), want at most %d messages", st, err, cap)
	}
}

// A refused post (a validation error) gives its slot back: the person
// who fixes a typo is not locked out by it.
func TestWebformRefusalKeepsNoSlot(t *testing.T) {
	e, _ := newWebformEnv(t, "max_per_ip = 1\n", "")
	f := newFormClient(t, e)
	bad := goodFields(f.token())
	delete(bad, "email")
	if code, _, _ := f.post(bad, nil, nil); code != 400 {
		t.Fatalf("missing email: %d, want 400", code)
	}
	if code, _, body := f.post(goodFields(f.token()), nil, nil); code != 200 {
		t.Fatalf("the corrected post after a refusal: %d\n%s", code, body)
	}
	code, _, body := f.post(goodFields(f.token()), nil, nil)
	if code != 429 || !strings.Contains(body, `value="Мария Иванова"`) || !strings.Contains(body, "Течёт крыша") {
		t.Errorf("the second post with max_per_ip = 1: %d, want 429 with the input kept\n%s", code, body)
	}
}
