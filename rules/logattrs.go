package rules

import (
	"encoding"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// maxLoggedString is how much of a long string value (the consent text)
// the effective-config log line keeps.
const maxLoggedString = 60

// LogAttrs is the redacted config as log attributes, one per key, named
// by their toml path (smtp.listen=…, mailbox.0.address=…): typed values,
// exported keys only (never the parsed internals), long strings cut.
// JSON logs get the same keys as nested objects.
func (c *Config) LogAttrs() []slog.Attr {
	r := c.Redacted()
	return structAttrs(reflect.ValueOf(r))
}

func structAttrs(v reflect.Value) []slog.Attr {
	var out []slog.Attr
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		if a, ok := valueAttr(tag, v.Field(i)); ok {
			out = append(out, a)
		}
	}
	return out
}

var textMarshaler = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()

func valueAttr(key string, v reflect.Value) (slog.Attr, bool) {
	if v.Type().Implements(textMarshaler) {
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return slog.Attr{}, false
		}
		return slog.String(key, cut(string(b))), true
	}
	switch v.Kind() {
	case reflect.Struct:
		return slog.Attr{Key: key, Value: slog.GroupValue(structAttrs(v)...)}, true
	case reflect.String:
		return slog.String(key, cut(v.String())), true
	case reflect.Bool:
		return slog.Bool(key, v.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return slog.Int64(key, v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return slog.Uint64(key, v.Uint()), true
	case reflect.Float32, reflect.Float64:
		return slog.Float64(key, v.Float()), true
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Struct {
			var items []slog.Attr
			for i := 0; i < v.Len(); i++ {
				items = append(items, slog.Attr{Key: strconv.Itoa(i), Value: slog.GroupValue(structAttrs(v.Index(i))...)})
			}
			return slog.Attr{Key: key, Value: slog.GroupValue(items...)}, true
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = cut(fmt.Sprint(v.Index(i).Interface()))
		}
		return slog.String(key, "["+strings.Join(parts, ", ")+"]"), true
	case reflect.Map:
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, fmt.Sprint(k.Interface()))
		}
		sort.Strings(keys)
		var items []slog.Attr
		for _, k := range keys {
			items = append(items, slog.String(k, cut(fmt.Sprint(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())).Interface()))))
		}
		return slog.Attr{Key: key, Value: slog.GroupValue(items...)}, true
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return slog.Attr{}, false
		}
		return valueAttr(key, v.Elem())
	}
	return slog.Attr{}, false
}

// cut keeps maxLoggedString runes of s, marking the cut with its length.
func cut(s string) string {
	if r := []rune(s); len(r) > maxLoggedString {
		return string(r[:maxLoggedString]) + fmt.Sprintf("… (%d characters)", len(r))
	}
	return s
}
