package console

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadUsers(t *testing.T) {
	dir := t.TempDir()
	line, err := HashLine("olga", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("# operators\n\n"+line+"\n"), 0o600)
	u, err := LoadUsers(good)
	if err != nil {
		t.Fatal(err)
	}
	if !u.Check("olga", "correct horse") || u.Check("olga", "wrong") || u.Check("nobody", "correct horse") {
		t.Error("Check gives the wrong answers")
	}
	for name, text := range map[string]string{
		"plain password": "olga:secret\n",
		"no colon":       "olga\n",
		"empty":          "# nobody\n",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		os.WriteFile(p, []byte(text), 0o600)
		if _, err := LoadUsers(p); err == nil {
			t.Errorf("%s: loaded", name)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows the file's content: %v", name, err)
		}
	}
}
