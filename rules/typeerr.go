package rules

import (
	"bytes"
	"reflect"
	"strings"
)

// typeMismatch words a go-toml type error by what the key wants: go-toml
// says only "cannot decode TOML string into struct field …", which
// leaves the admin to guess. raw is the value as written (may be "").
// "smtp.max_message_bytes: want an integer (bytes), got a string "25MB"".
func typeMismatch(key []string, goMsg string, raw string) string {
	got := "a value of another type"
	if _, kind, ok := strings.Cut(goMsg, "cannot decode TOML "); ok {
		kind = strings.Fields(kind + " ")[0]
		got = map[string]string{"string": "a string", "integer": "an integer", "float": "a number", "boolean": "true/false",
			"array": "a list", "inline": "a table", "table": "a table", "datetime": "a date", "date": "a date", "time": "a time",
			"local": "a date"}[kind]
		if got == "" {
			got = "a TOML " + kind
		}
	}
	if raw != "" {
		got += " " + raw
	}
	want := wantOf(key)
	if want == "" {
		return strings.TrimSpace(goMsg) + " (wrong type)"
	}
	return "want " + want + ", got " + got
}

// wantOf describes the Go type behind a toml key path of Config.
func wantOf(key []string) string {
	t := reflect.TypeOf(Config{})
	var last string
	for _, k := range key {
		for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			break
		}
		found := false
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag == k && f.IsExported() {
				t, last, found = f.Type, k, true
				break
			}
		}
		if !found {
			return ""
		}
	}
	switch {
	case t == reflect.TypeOf(Duration(0)):
		return `a duration such as "30s", "5m", "2h"`
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.String:
		return "a string (in quotes)"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		if strings.HasSuffix(last, "bytes") {
			return "an integer (bytes, without quotes)"
		}
		return "an integer (without quotes)"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return `a list of strings, e.g. ["a", "b"]`
	case t.Kind() == reflect.Slice:
		return "a list of tables ([[" + last + "]])"
	case t.Kind() == reflect.Map || t.Kind() == reflect.Struct:
		return "a table ([" + strings.Join(key, ".") + "])"
	}
	return ""
}

// rawValue is the value text of a "key = value # comment" line, cut at
// 60 characters.
func rawValue(line []byte) string {
	_, v, ok := bytes.Cut(line, []byte("="))
	if !ok {
		return ""
	}
	s := strings.TrimSpace(string(v))
	if strings.HasPrefix(s, `"""`) || strings.HasPrefix(s, "'''") || s == "[" || s == "{" {
		return "" // a value spanning lines: its first line says nothing
	}
	if i := strings.Index(s, " #"); i > 0 && !strings.HasPrefix(s, `"`) {
		s = strings.TrimSpace(s[:i])
	} else if strings.HasPrefix(s, `"`) {
		if j := strings.Index(s[1:], `"`); j >= 0 {
			s = s[:j+2]
		}
	}
	return cut(s)
}

// withRawValue adds the value as written to a type error's wording.
func withRawValue(errs []error, line []byte) []error {
	raw := rawValue(line)
	for _, e := range errs {
		if ke, ok := e.(*KeyError); ok && raw != "" && strings.HasPrefix(ke.Msg, "want ") {
			ke.Msg += " " + raw
		}
	}
	return errs
}
