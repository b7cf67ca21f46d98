package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"supportgate/bitrix/bitrixtest"
	"supportgate/mailtest"
)

func cli(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	good := writeConfig(t, dir, "127.0.0.1:2525", "127.0.0.1:2526")
	if code, out, errs := cli("check", "-config", good); code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("check good: %d %s %s", code, out, errs)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[smtp]\nhostname = \"mx\"\nlisten = \"nope\"\n[upstream]\naddress = \"a:1\"\nprotcol = \"lmtp\"\n"), 0o600)
	code, _, errs := cli("check", "--config", bad)
	if code != 1 || !strings.Contains(errs, "upstream.protcol (line 6): unknown key") {
		t.Fatalf("check bad: %d %q", code, errs)
	}
	os.WriteFile(bad, []byte("[smtp]\nhostname = \"mx\"\nlisten = \"nope\"\n[upstream]\naddress = \"a:1\"\n"), 0o600)
	code, _, errs = cli("check", "-config", bad)
	for _, want := range []string{"smtp.listen", "mailbox", "outbound.address"} {
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("check: %d, %q lacks %q", code, errs, want)
		}
	}
}

func TestExplain(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:2525", "127.0.0.1:2526")
	text, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(text), "enabled = false", "enabled = true", 1)+"[rules]\nexclude_domains = [\"partner.test\"]\n"), 0o600)
	cases := []struct{ name, msg, want string }{
		{"person", "From: Anna <anna@customer.test>\r\nTo: support@example.com\r\nSubject: Help\r\nMessage-ID: <e1@customer.test>\r\n\r\nhi\r\n",
			"auto-reply:  yes"},
		{"robot", "From: news@list.test\r\nTo: support@example.com\r\nSubject: News\r\nList-Id: <l.list.test>\r\nMessage-ID: <e2@list.test>\r\n\r\nhi\r\n",
			"reason:      list"},
		{"excluded", "From: p@a.partner.test\r\nTo: support@example.com\r\nSubject: Hi\r\nMessage-ID: <e3@partner.test>\r\n\r\nhi\r\n",
			"reason:      excluded-domain"},
	}
	for _, tc := range cases {
		p := filepath.Join(dir, tc.name+".eml")
		os.WriteFile(p, []byte(tc.msg), 0o600)
		code, out, errs := cli("explain", "-config", cfg, p)
		if code != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: %d\n%s%s", tc.name, code, out, errs)
		}
	}
	// -render prints the reply; nothing is written to storage.dir.
	p := filepath.Join(dir, "person.eml")
	code, out, _ := cli("explain", "-config", cfg, "-render", p)
	if code != 0 || !strings.Contains(out, "Auto-Submitted: auto-replied") || !strings.Contains(out, "multipart/related") {
		t.Errorf("-render: %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); !os.IsNotExist(err) {
		t.Errorf("explain created the state folder")
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := cli("version")
	if code != 0 || !strings.HasPrefix(out, "supportgate ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestCheckOnline(t *testing.T) {
	portal := bitrixtest.New(t)
	dir := t.TempDir()
	up := mailtest.Start(t, false)
	cfg := writeConfig(t, dir, "127.0.0.1:2525", up.Addr())
	text, _ := os.ReadFile(cfg)
	good := string(text) + "[bitrix]\nwebhook_url = \"" + portal.WebhookURL() + "\"\nresponsible_id = 1\n"
	os.WriteFile(cfg, []byte(good), 0o600)
	if code, out, errs := cli("check", "-online", "-config", cfg); code != 0 || !strings.Contains(out, "answers user.current") {
		t.Fatalf("good webhook: %d %s %s", code, out, errs)
	}
	bad := strings.Replace(good, portal.Secret(), "wrongsecret", 1)
	os.WriteFile(cfg, []byte(bad), 0o600)
	code, out, errs := cli("check", "-online", "-config", cfg)
	if code != 1 || !strings.Contains(errs, "bitrix.webhook_url") {
		t.Fatalf("wrong secret: %d %s %s", code, out, errs)
	}
	if strings.Contains(out+errs, "wrongsecret") {
		t.Errorf("the webhook secret leaked into check's output:\n%s%s", out, errs)
	}
}

func TestCheckCatchesWhatServeWouldRefuse(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:2525", "127.0.0.1:2526")
	text, _ := os.ReadFile(cfg)
	os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("not a certificate"), 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), []byte("not a key"), 0o600)
	bad := strings.Replace(string(text), `hostname = "mx.crash.test"`, "hostname = \"mx.crash.test\"\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"", 1)
	bad = strings.Replace(bad, "[autoreply]\nenabled = false", "[autoreply]\nenabled = true\nsubject = \"Re: {{.Subjekt}}\"", 1)
	os.WriteFile(cfg, []byte(bad), 0o600)
	code, _, errs := cli("check", "-config", cfg)
	if code != 1 || !strings.Contains(errs, "smtp.tls_key: certificate and key do not load") {
		t.Errorf("bad TLS pair: %d %q", code, errs)
	}
	os.WriteFile(cfg, []byte(strings.Replace(string(text), "[autoreply]\nenabled = false", "[autoreply]\nenabled = true\nsubject = \"Re: {{.Subjekt}}\"", 1)), 0o600)
	code, _, errs = cli("check", "-config", cfg)
	if code != 1 || !strings.Contains(errs, "autoreply.subject") || !strings.Contains(errs, "1 problem(s)") {
		t.Errorf("subject template: %d %q", code, errs)
	}
}
