package gateway

import (
	"io"
	"net/http"
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
	code, out := post(t, "http://"+e.g.ConsoleAddr()+"/explain", msg)
	if code != 200 || !strings.Contains(out, "auto-reply:") {
		t.Fatalf("console explain: %d %s", code, out)
	}
	// A config of the attacker's, naming a secret file as the template.
	evil := filepath.Join(e.dir, "evil.toml")
	secret := filepath.Join(e.dir, "shadow")
	os.WriteFile(secret, []byte("root:$6$secret-hash"), 0o600)
	os.WriteFile(evil, []byte("[autoreply]\ntemplate = \""+secret+"\"\n"), 0o600)
	for _, q := range []string{"config=" + evil + "&render=1", "template=" + secret + "&render=1"} {
		code, out := post(t, "http://"+e.g.ConsoleAddr()+"/explain?"+q, msg)
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
