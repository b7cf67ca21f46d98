package rules

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	"github.com/pelletier/go-toml/v2"
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

// bareDurations finds durations written as bare numbers. go-toml stores
// an integer straight into Duration (an int64) without UnmarshalText, so
// `command_timeout = 30` would be 30 nanoseconds, silently; it is refused
// as the string form is required ("30s"? "30m"?).
func bareDurations(data []byte) []error {
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return nil // the decode proper reports it
	}
	var errs []error
	walkDurations(reflect.TypeOf(Config{}), m, "", &errs)
	return errs
}

func walkDurations(t reflect.Type, m map[string]any, prefix string, errs *[]error) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		v, ok := m[tag]
		if tag == "" || tag == "-" || !f.IsExported() || !ok {
			continue
		}
		key := prefix + tag
		switch ft := f.Type; {
		case ft == reflect.TypeOf(Duration(0)):
			switch n := v.(type) {
			case int64, float64:
				*errs = append(*errs, &KeyError{Key: key, Msg: fmt.Sprintf(`want a duration such as "30s", "5m", "2h", got a bare number %v (seconds? minutes?)`, n)})
			}
		case ft.Kind() == reflect.Struct:
			if sub, ok := v.(map[string]any); ok {
				walkDurations(ft, sub, key+".", errs)
			}
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			if list, ok := v.([]any); ok {
				for _, item := range list {
					if sub, ok := item.(map[string]any); ok {
						walkDurations(ft.Elem(), sub, key+".", errs)
					}
				}
			}
		}
	}
}
