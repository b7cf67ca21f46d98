package gateway

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"supportgate/console"
	"supportgate/mailtest"
	"supportgate/store"
)

// pagesClient is a browser-like client: cookies, no redirects followed.
func pagesClient(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept-Language", "en")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

func usersEnv(t *testing.T) *env {
	dir := t.TempDir()
	line, err := console.HashLine("olga", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(dir, "console.users")
	os.WriteFile(users, []byte(line+"\n"), 0o600)
	return newEnv(t, "[console]\nlisten = \"127.0.0.1:0\"\nusers_file = \""+users+"\"\n")
}

// The pages' login: no session means the login form (303), a POST
// without the CSRF token is refused (403), a wrong password gets the
// same words whether the name exists or not, and guessing is stopped
// after a few tries, even with the right password.
func TestPagesLogin(t *testing.T) {
	e := usersEnv(t)
	base := "http://" + e.g.ConsoleAddr()
	c := pagesClient(t)
	for _, path := range []string{"/messages", "/queue", "/config", "/messages/x", "/"} {
		resp, _ := fetch(t, c, "GET", base+path, nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("GET %s without a session: %d %q, want 303 to /login", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// The CLI's API keeps HTTP Basic.
	if code, _ := post(t, base+"/explain", plainMsg("a@customer.test", "support@example.com", "x", "y"), "olga", "correct horse"); code != 200 {
		t.Errorf("explain with Basic auth: %d", code)
	}

	resp, page := fetch(t, c, "GET", base+"/login", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("login form: %d", resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure {
			t.Errorf("cookie %s: HttpOnly %v SameSite %v Secure %v (plain HTTP)", ck.Name, ck.HttpOnly, ck.SameSite, ck.Secure)
		}
	}
	token := csrfOf(t, page)
	if resp, _ := fetch(t, c, "POST", base+"/login", url.Values{"name": {"olga"}, "password": {"correct horse"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("login without the CSRF token: %d, want 403", resp.StatusCode)
	}
	_, wrongUser := fetch(t, c, "POST", base+"/login", url.Values{"csrf": {token}, "name": {"nobody"}, "password": {"x"}})
	resp, wrongPass := fetch(t, c, "POST", base+"/login", url.Values{"csrf": {token}, "name": {"olga"}, "password": {"wrong"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(wrongPass, "Wrong name or password.") || !strings.Contains(wrongUser, "Wrong name or password.") {
		t.Errorf("wrong password: %d %q", resp.StatusCode, wrongPass)
	}
	resp, _ = fetch(t, c, "POST", base+"/login", url.Values{"csrf": {token}, "name": {"olga"}, "password": {"correct horse"}, "next": {"/queue"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/queue" {
		t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "sg_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie: %+v", session)
	}
	resp, page = fetch(t, c, "GET", base+"/queue", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "olga") {
		t.Fatalf("queue after the login: %d", resp.StatusCode)
	}
	// Every action needs the session's token.
	for _, path := range []string{"/queue/retry", "/queue/drop", "/config/check", "/logout"} {
		if resp, _ := fetch(t, c, "POST", base+path, url.Values{"job": {"1"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without the CSRF token: %d, want 403", path, resp.StatusCode)
		}
		if resp, _ := fetch(t, c, "POST", base+path, url.Values{"job": {"1"}, "csrf": {token}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with the pre-login token: %d, want 403", path, resp.StatusCode)
		}
	}
	resp, page = fetch(t, c, "POST", base+"/config/check", url.Values{"csrf": {csrfOf(t, page)}})
	if resp.StatusCode != 200 || !strings.Contains(page, "The config file is valid.") {
		t.Errorf("Check: %d\n%s", resp.StatusCode, page)
	}

	// Guessing: another client (its own cookies), the same name.
	g := pagesClient(t)
	_, page = fetch(t, g, "GET", base+"/login", nil)
	token = csrfOf(t, page)
	codes := []int{}
	for i := 0; i < 6; i++ {
		resp, _ := fetch(t, g, "POST", base+"/login", url.Values{"csrf": {token}, "name": {"olga"}, "password": {"guess"}})
		codes = append(codes, resp.StatusCode)
	}
	for i, code := range codes[:5] {
		if code != http.StatusUnauthorized {
			t.Errorf("try %d: %d, want 401", i+1, code)
		}
	}
	if codes[5] != http.StatusTooManyRequests {
		t.Errorf("the 6th wrong try: %d, want 429", codes[5])
	}
	resp, page = fetch(t, g, "POST", base+"/login", url.Values{"csrf": {token}, "name": {"olga"}, "password": {"correct horse"}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(page, "Wait") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the right password while locked: %d %q, want 429 and a wait", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// The operator already logged in is not locked out.
	if resp, _ := fetch(t, c, "GET", base+"/messages", nil); resp.StatusCode != 200 {
		t.Errorf("the open session during the lockout: %d", resp.StatusCode)
	}
}

// With open_loopback (the demo's opt-out) the pages need no login, but
// their actions still need the CSRF token; the pages speak Russian when
// asked.
func TestPagesLocal(t *testing.T) {
	e := newEnv(t, "[console]\nlisten = \"127.0.0.1:0\"\nopen_loopback = true\n")
	base := "http://" + e.g.ConsoleAddr()
	c := pagesClient(t)
	resp, page := fetch(t, c, "GET", base+"/queue", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "no login") {
		t.Fatalf("local queue page: %d", resp.StatusCode)
	}
	if resp, _ := fetch(t, c, "POST", base+"/queue/retry", url.Values{"job": {"1"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST without the CSRF token: %d, want 403", resp.StatusCode)
	}
	_, page = fetch(t, c, "GET", base+"/config", nil)
	if resp, _ := fetch(t, c, "POST", base+"/queue/retry", url.Values{"job": {"999"}, "csrf": {csrfOf(t, page)}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("retry of an unknown job: %d, want 409", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", base+"/messages", nil)
	req.Header.Set("Accept-Language", "de-DE,ru;q=0.8,en;q=0.5")
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !strings.Contains(string(b), "Письма") || !strings.Contains(string(b), `lang="ru"`) {
		t.Errorf("Accept-Language ru: the page is not in Russian")
	}
}

// Drop asks first, then removes the job for good and says who did it;
// Check reports a broken config file key by key.
func TestPagesDropAndCheck(t *testing.T) {
	e, _ := consoleEnvWith(t, false)
	base := "http://" + e.g.ConsoleAddr()
	c := pagesClient(t)
	e.upstream.FailMail(mailtest.Temp)
	if err := send(t, e.g.SMTPAddr(), "ivan@customer.test", []string{"support@example.com"}, plainMsg("ivan@customer.test", "support@example.com", "Stuck", "hi")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		j := jobOf(t, e, "forward")
		return j != nil && j.State == store.Queued && j.LastError != ""
	}, "the forward failing")
	j := jobOf(t, e, "forward")
	id := strconv.FormatUint(j.ID, 10)
	_, page := fetch(t, c, "GET", base+"/queue", nil)
	if !strings.Contains(page, `data-job="`+id+`"`) || !strings.Contains(page, "/queue/drop?job="+id) {
		t.Fatalf("the failing forward is not on the queue page:\n%s", page)
	}
	resp, page := fetch(t, c, "GET", base+"/queue/drop?job="+id, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "Drop this job for good?") || jobOf(t, e, "forward") == nil {
		t.Fatalf("the confirmation: %d, job there: %v", resp.StatusCode, jobOf(t, e, "forward") != nil)
	}
	resp, _ = fetch(t, c, "POST", base+"/queue/drop", url.Values{"job": {id}, "csrf": {csrfOf(t, page)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("drop: %d", resp.StatusCode)
	}
	if jobOf(t, e, "forward") != nil {
		t.Fatal("the forward is still queued after Drop")
	}
	rec := e.g.Store.HistoryOf(j.MsgID)
	entry, err := e.g.Store.GetEntry(rec)
	if err != nil || entry == nil {
		t.Fatalf("record: %v %v", entry, err)
	}
	if fj := entry.Job("forward"); fj == nil || fj.State != store.Dropped || fj.By != "local@127.0.0.1" {
		t.Errorf("the dropped forward in the record: %+v", fj)
	}
	_, page = fetch(t, c, "GET", base+"/messages?state=failed", nil)
	if !strings.Contains(page, "Stuck") {
		t.Errorf("state=failed does not list the dropped message")
	}

	// A broken edit of the config file: Check says what and where.
	path := e.g.Cfg.Get().Path
	good, _ := os.ReadFile(path)
	os.WriteFile(path, append(good, []byte("\n[console]\nkeep_days = 0\n")...), 0o600)
	_, page = fetch(t, c, "GET", base+"/config", nil)
	_, page = fetch(t, c, "POST", base+"/config/check", url.Values{"csrf": {csrfOf(t, page)}})
	if !strings.Contains(page, "The config file has problems") || !strings.Contains(page, "console") {
		t.Errorf("Check on a broken file:\n%s", page)
	}
	os.WriteFile(path, good, 0o600)
}
