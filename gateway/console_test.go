package gateway

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"supportgate/console"
)

func post(t *testing.T, url, body string, auth ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if len(auth) == 2 {
		req.SetBasicAuth(auth[0], auth[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// explain is on the console listener only, and never reads a file named
// by the request (issue 14: template=/etc/shadow came back rendered).
func TestExplainOnlyOnConsole(t *testing.T) {
	e := newEnv(t, "")
	msg := plainMsg("anna@customer.test", "support@example.com", "Help", "hi")
	if code, _ := post(t, "http://"+e.g.HTTPAddr()+"/explain", msg); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		t.Errorf("POST /explain on the public listener: %d, want 404", code)
	}
	pass, err := console.ReadPassword(filepath.Join(e.dir, "state", console.PasswordName))
	if err != nil {
		t.Fatal(err)
	}
	code, out := post(t, "http://"+e.g.ConsoleAddr()+"/explain", msg, console.DefaultUser, pass)
	if code != 200 || !strings.Contains(out, "auto-reply:") {
		t.Fatalf("console explain: %d %s", code, out)
	}
	// A config of the attacker's, naming a secret file as the template.
	evil := filepath.Join(e.dir, "evil.toml")
	secret := filepath.Join(e.dir, "shadow")
	os.WriteFile(secret, []byte("root:$6$secret-hash"), 0o600)
	os.WriteFile(evil, []byte("[autoreply]\ntemplate = \""+secret+"\"\n"), 0o600)
	for _, q := range []string{"config=" + evil + "&render=1", "template=" + secret + "&render=1"} {
		code, out := post(t, "http://"+e.g.ConsoleAddr()+"/explain?"+q, msg, console.DefaultUser, pass)
		if code != http.StatusBadRequest || strings.Contains(out, "secret-hash") {
			t.Errorf("explain?%s: %d %q, want 400 and no file content", q, code, out)
		}
	}
}

// With a users file, the console asks for a login (HTTP Basic, bcrypt).
func TestConsoleLogin(t *testing.T) {
	dir := t.TempDir()
	line, err := console.HashLine("olga", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(dir, "console.users")
	os.WriteFile(users, []byte("# operators\n"+line+"\n"), 0o600)
	e := newEnv(t, "[console]\nlisten = \"127.0.0.1:0\"\nusers_file = \""+users+"\"\n")
	msg := plainMsg("anna@customer.test", "support@example.com", "Help", "hi")
	url := "http://" + e.g.ConsoleAddr() + "/explain"
	if code, out := post(t, url, msg); code != http.StatusUnauthorized || strings.Contains(out, "thread") {
		t.Errorf("no login: %d %q", code, out)
	}
	if code, _ := post(t, url, msg, "olga", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", code)
	}
	if code, out := post(t, url, msg, "olga", "correct horse"); code != 200 || !strings.Contains(out, "thread:") {
		t.Errorf("login: %d %s", code, out)
	}
}

func get(t *testing.T, url string, auth ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if len(auth) == 2 {
		req.SetBasicAuth(auth[0], auth[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Without a users file a loopback console is not open to every local
// user: the built-in login admin has a random password in
// storage.dir/console.password (0600), made once and kept over restarts.
func TestConsoleBuiltinLogin(t *testing.T) {
	e := newEnv(t, "")
	base := "http://" + e.g.ConsoleAddr()
	if code, out := get(t, base+"/db/backup"); code != http.StatusUnauthorized || strings.Contains(out, "bolt") {
		t.Fatalf("GET /db/backup without a login: %d, want 401", code)
	}
	msg := plainMsg("anna@customer.test", "support@example.com", "Help", "hi")
	if code, _ := post(t, base+"/explain", msg); code != http.StatusUnauthorized {
		t.Errorf("POST /explain without a login: %d, want 401", code)
	}
	path := filepath.Join(e.dir, "state", console.PasswordName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want 0600", path, fi.Mode().Perm())
	}
	pass, err := console.ReadPassword(path)
	if err != nil || len(pass) < 20 {
		t.Fatalf("password file: %q %v", pass, err)
	}
	if code, _ := get(t, base+"/db/backup", console.DefaultUser, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", code)
	}
	code, out := get(t, base+"/db/backup", console.DefaultUser, pass)
	if code != 200 || len(out) < 4096 {
		t.Fatalf("GET /db/backup with the generated password: %d, %d bytes", code, len(out))
	}
	// The pages' login form takes it too.
	c := pagesClient(t)
	if resp, _ := fetch(t, c, "GET", base+"/messages", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the pages without a login: %d, want a redirect to /login", resp.StatusCode)
	}
	_, page := fetch(t, c, "GET", base+"/login", nil)
	resp, _ := fetch(t, c, "POST", base+"/login", url.Values{"csrf": {csrfOf(t, page)}, "name": {console.DefaultUser}, "password": {pass}, "next": {"/queue"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/queue" {
		t.Errorf("the login form with the generated password: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := fetch(t, c, "GET", base+"/queue", nil); resp.StatusCode != 200 {
		t.Errorf("the queue page after the login: %d", resp.StatusCode)
	}
	// A restart keeps the password (it is made once).
	e.stop()
	e.startPath(filepath.Join(e.dir, "config.toml"))
	if again, _ := console.ReadPassword(path); again != pass {
		t.Errorf("the password changed over a restart")
	}
	if code, _ := get(t, "http://"+e.g.ConsoleAddr()+"/db/check", console.DefaultUser, pass); code != 200 {
		t.Errorf("db check after the restart: %d", code)
	}
}
