package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMergeTask(t *testing.T) {
	base := map[string]any{"GROUP_ID": 5, "TAGS": []string{"support"}}
	got := MergeTask(base, nil, map[string]any{"TAGS": []string{"web"}, "UF_X": "1"})
	if fmt.Sprint(got) != "map[GROUP_ID:5 TAGS:[web] UF_X:1]" {
		t.Errorf("merge = %v", got)
	}
	if fmt.Sprint(base) != "map[GROUP_ID:5 TAGS:[support]]" {
		t.Errorf("base changed: %v", base)
	}
	if m := MergeTask(nil, map[string]any{"A": 1}); m["A"] != 1 {
		t.Errorf("nil base: %v", m)
	}
}

// Every [webform] problem is reported with its key, all at once.
func TestWebformValidation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	os.WriteFile(path, []byte(`
[smtp]
hostname = "mx.test"
[upstream]
address = "127.0.0.1:25"
[outbound]
address = "127.0.0.1:26"
[[mailbox]]
address = "support@example.com"
[webform]
enabled = true
path = "/intake"
mailbox = "other@example.com"
api_token_file = "missing.token"
honeypot = "a b"
allowed_origins = ["www.example.com"]
captcha_secret_file = "missing.secret"
template = "page.html"
captcha_verify_url = "ftp://x"
`), 0o600)
	os.WriteFile(filepath.Join(dir, "page.html"), []byte("<p>{{.Name}}</p>"), 0o600) // no "msg"
	_, err := Load(path)
	if err == nil {
		t.Fatal("bad [webform] accepted")
	}
	for _, k := range []string{"webform.template", "webform.path", "webform.mailbox", "webform.api_token_file", "webform.honeypot",
		"webform.allowed_origins[0]", "webform.captcha_secret_file", "webform.captcha_verify_url"} {
		if !strings.Contains(err.Error(), k+":") {
			t.Errorf("no error for %s in:\n%v", k, err)
		}
	}
	// Disabled, the same block is not checked.
	os.WriteFile(path, []byte(`
[smtp]
hostname = "mx.test"
[upstream]
address = "127.0.0.1:25"
[outbound]
address = "127.0.0.1:26"
[[mailbox]]
address = "support@example.com"
[webform]
enabled = false
mailbox = "other@example.com"
`), 0o600)
	if _, err := Load(path); err != nil {
		t.Errorf("disabled [webform] checked: %v", err)
	}
}
