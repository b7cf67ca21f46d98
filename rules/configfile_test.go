package rules

import (
	"bufio"
	"encoding"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// configKeys walks Config's toml tags: every key a config file may have,
// dotted ("smtp.trusted_relays"; [[mailbox]]'s keys as "mailbox.address").
// Maps ([bitrix.task]: free-form fields) are one key, not walked.
func configKeys(t reflect.Type, prefix string, out map[string]bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			configKeys(f.Type, prefix, out) // embedded: its keys are the parent's
			continue
		}
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		key := prefix + tag
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		leaf := ft.Kind() != reflect.Struct || reflect.PointerTo(ft).Implements(reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem())
		if leaf {
			out[key] = true
			continue
		}
		configKeys(ft, key+".", out)
	}
}

// fileKeys reads the keys a TOML file names, commented out ("# key =") or
// not, with their table: "[smtp]" then "listen = …" is smtp.listen.
func fileKeys(t *testing.T, path string) map[string]bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table := regexp.MustCompile(`^#?\s*\[\[?([a-z_.]+)\]\]?`)
	key := regexp.MustCompile(`^#?\s*([a-z_]+)\s*=`)
	out := map[string]bool{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := table.FindStringSubmatch(line); m != nil {
			section = m[1] + "."
			for t := m[1]; t != ""; {
				out[t] = true // a table is its key too ([bitrix.task]), and so are its parents
				i := strings.LastIndex(t, ".")
				if i < 0 {
					break
				}
				t = t[:i]
			}
			continue
		}
		if m := key.FindStringSubmatch(line); m != nil {
			out[section+m[1]] = true
		}
	}
	return out
}

// config.toml says it lists every key with its default: keep it so. When
// this fails, add the key it names to config.toml (commented out when
// its value would change behaviour) in its table, with a short comment.
func TestConfigTomlListsEveryKey(t *testing.T) {
	want := map[string]bool{}
	configKeys(reflect.TypeOf(Config{}), "", want)
	have := fileKeys(t, "../config.toml")
	var missing []string
	for k := range want {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		table, name := "", k
		if i := strings.LastIndex(k, "."); i >= 0 {
			table, name = k[:i], k[i+1:]
		}
		t.Errorf("config.toml lacks %s: add `%s = …` (or `# %s = …`) under [%s]", k, name, name, table)
	}
	// The walk itself: keys that must be found, whatever the file says.
	for _, k := range []string{"smtp.trusted_relays", "console.users_file", "mailbox.forward_to", "bitrix.task", "webform.task"} {
		if !want[k] {
			t.Errorf("the struct walk missed %s", k)
		}
	}
}
