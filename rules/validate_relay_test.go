package rules

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Five problems of both kinds in one file: every one is reported in one
// run, the type errors with their lines, and the keys after a type error
// are still validated.
func TestFiveMixedErrorsAllReported(t *testing.T) {
	text := `
[smtp]
hostname = "mx.example.com"
listen = "127.0.0.1:2525"
max_message_bytes = "25MB"
[http]
listen = "127.0.0.1:2525"
[upstream]
address = "mail.internal:25"
protocol = "imap"
[outbound]
address = "smtp.example.com:587"
[queue]
workers = "8"
[[mailbox]]
address = "support@example.com"
forward_to = ["not an address"]
`
	_, err := Load(write(t, "c.toml", text))
	if err == nil {
		t.Fatal("no error")
	}
	es, ok := err.(*Errors)
	if !ok {
		t.Fatalf("error type %T: %v", err, err)
	}
	want := []string{
		"smtp.max_message_bytes (line 5)",
		"queue.workers (line 14)",
		"http.listen: \"127.0.0.1:2525\" clashes with smtp.listen",
		"upstream.protocol: must be",
		"mailbox[0].forward_to[0]: not an email address",
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("not reported: %q\n%v", w, err)
		}
	}
	if len(es.Errs) != len(want) {
		t.Errorf("%d problems reported, want %d:\n%v", len(es.Errs), len(want), err)
	}
}

func TestSyntaxErrorAfterTypeError(t *testing.T) {
	_, err := Load(write(t, "c.toml", minimal+"[queue]\nworkers = \"8\"\n[broken\n"))
	if err == nil || !strings.Contains(err.Error(), "queue.workers (line 11)") || !strings.Contains(err.Error(), "line 12") {
		t.Errorf("want the type error and the syntax error: %v", err)
	}
}

func TestPasswordInClearOnlyToLoopback(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("secret\n"), 0o600)
	conf := func(addr string) string {
		return strings.Replace(minimal, `address = "smtp.example.com:587"`,
			`address = "`+addr+`"`+"\nusername = \"gw\"\npassword_file = \""+pw+"\"\ntls = \"none\"", 1)
	}
	for _, addr := range []string{"smtp.example.com:587", "192.0.2.7:25", "[2001:db8::1]:25"} {
		_, err := Load(write(t, "c.toml", conf(addr)))
		if err == nil || !strings.Contains(err.Error(), "outbound.tls:") || !strings.Contains(err.Error(), "in clear") {
			t.Errorf("%s: password in clear not refused: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:25", "localhost:2525", "[::1]:25"} {
		if _, err := Load(write(t, "c.toml", conf(addr))); err != nil {
			t.Errorf("%s: loopback refused: %v", addr, err)
		}
	}
}

func TestTrustedRelays(t *testing.T) {
	c, err := Load(write(t, "c.toml", strings.Replace(minimal, "[smtp]\n", "[smtp]\ntrusted_relays = [\"10.1.2.0/24\", \"192.0.2.7\", \"2001:db8::/32\"]\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{"10.1.2.9": true, "10.1.3.1": false, "192.0.2.7": true, "192.0.2.8": false,
		"::ffff:10.1.2.3": true, "2001:db8::5": true, "2001:db9::5": false} {
		if got := c.TrustedRelay(netip.MustParseAddr(ip)); got != want {
			t.Errorf("TrustedRelay(%s) = %v", ip, got)
		}
	}
	_, err = Load(write(t, "c.toml", strings.Replace(minimal, "[smtp]\n", "[smtp]\ntrusted_relays = [\"10.1.2.0/33\", \"x\"]\nproxy_protocol = true\n", 1)))
	for _, w := range []string{"smtp.trusted_relays[0]", "smtp.trusted_relays[1]"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("%s not reported: %v", w, err)
		}
	}
	_, err = Load(write(t, "c.toml", strings.Replace(minimal, "[smtp]\n", "[smtp]\nproxy_protocol = true\n", 1)))
	if err == nil || !strings.Contains(err.Error(), "smtp.proxy_protocol") {
		t.Errorf("proxy_protocol without trusted relays accepted: %v", err)
	}
}

func TestUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(write(t, "c.toml", minimal+"[contacts]\nfile = \""+dir+"\"\n"))
	if err == nil || !strings.Contains(err.Error(), "contacts.file: is a folder") {
		t.Errorf("a folder as a file not reported: %v", err)
	}
	if os.Geteuid() == 0 {
		return // root reads everything
	}
	p := filepath.Join(dir, "c.csv")
	os.WriteFile(p, []byte("email,name\n"), 0)
	_, err = Load(write(t, "c.toml", minimal+"[contacts]\nfile = \""+p+"\"\n"))
	if err == nil || !strings.Contains(err.Error(), "contacts.file: cannot read") {
		t.Errorf("unreadable file not reported: %v", err)
	}
}

func TestListenerClash(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"127.0.0.1:25", "127.0.0.1:25", true},
		{"0.0.0.0:25", "127.0.0.1:25", true},
		{"127.0.0.1:25", "127.0.0.1:26", false},
		{"127.0.0.1:0", "127.0.0.1:0", false},
		{"localhost:8025", "127.0.0.1:8025", true},
		{"10.0.0.1:25", "127.0.0.1:25", false},
	} {
		if got := clash(tc.a, tc.b); got != tc.want {
			t.Errorf("clash(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

// A wrong type on a value spanning lines is stepped over whole: no
// made-up syntax error, and the keys after it are still validated.
func TestMultiLineTypeError(t *testing.T) {
	text := strings.Replace(minimal, "[smtp]\n", "[smtp]\nmax_recipients = [\n  1,\n  2,\n]\ntrusted_relays = \"\"\"\n10.0.0.1\n\"\"\"\n", 1) + "[queue]\nworkers = 0\n"
	_, err := Load(write(t, "c.toml", text))
	if err == nil {
		t.Fatal("no error")
	}
	es := err.(*Errors)
	for _, w := range []string{"smtp.max_recipients (line 3)", "smtp.trusted_relays (line 7)", "queue.workers: must be positive"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("not reported: %q\n%v", w, err)
		}
	}
	if len(es.Errs) != 3 {
		t.Errorf("%d problems, want 3:\n%v", len(es.Errs), err)
	}
}

func TestNotifyNotOurOwnAddress(t *testing.T) {
	_, err := Load(write(t, "c.toml", strings.Replace(minimal, "[outbound]\n", "notify = \"Support@example.com\"\n[outbound]\n", 1)))
	if err == nil || !strings.Contains(err.Error(), "upstream.notify") {
		t.Errorf("notify to our own mailbox accepted: %v", err)
	}
	if _, err := Load(write(t, "c.toml", strings.Replace(minimal, "[outbound]\n", "notify = \"admin@example.com\"\n[outbound]\n", 1))); err != nil {
		t.Errorf("a real admin address refused: %v", err)
	}
}
