package bitrixtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// omap is a PHP array: an ordered map. The order matters because
// task.commentitem.* reads its arguments by position (docs/bitrix24.md §1.3), so
// params are never kept in a Go map alone. Values are string, json.Number,
// bool, nil or *omap. JSON arrays become omaps with keys "0", "1", ...
type omap struct {
	keys []string
	m    map[string]any
	next int // PHP's next free integer key, for "a[]="
}

func newOmap() *omap { return &omap{m: map[string]any{}} }

// set stores v under k. An existing key keeps its position, like PHP.
func (o *omap) set(k string, v any) {
	if _, ok := o.m[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.m[k] = v
	if n, err := strconv.Atoi(k); err == nil && n >= o.next {
		o.next = n + 1
	}
}

func (o *omap) push(v any) { o.set(strconv.Itoa(o.next), v) }

func (o *omap) get(k string) (any, bool) {
	if o == nil {
		return nil, false
	}
	v, ok := o.m[k]
	return v, ok
}

// getFold looks k up case-insensitively after an exact try: the engine
// controllers behind tasks.task.* are lenient about parameter case.
func (o *omap) getFold(k string) (any, bool) {
	if v, ok := o.get(k); ok || o == nil {
		return v, ok
	}
	for _, key := range o.keys {
		if strings.EqualFold(key, k) {
			return o.m[key], true
		}
	}
	return nil, false
}

// values returns the values in order: the positional view.
func (o *omap) values() []any {
	if o == nil {
		return nil
	}
	out := make([]any, len(o.keys))
	for i, k := range o.keys {
		out[i] = o.m[k]
	}
	return out
}

// child returns the omap under k, replacing a scalar (PHP would too).
func (o *omap) child(k string) *omap {
	if c, ok := o.m[k].(*omap); ok {
		return c
	}
	c := newOmap()
	o.set(k, c)
	return c
}

// merge copies src's keys over o's (body over query, §1.2).
func (o *omap) merge(src *omap) {
	for _, k := range src.keys {
		o.set(k, src.m[k])
	}
}

// plain converts to ordinary Go values for the call log: *omap becomes
// map[string]any, json.Number stays.
func plain(v any) any {
	o, ok := v.(*omap)
	if !ok {
		return v
	}
	m := make(map[string]any, len(o.keys))
	for _, k := range o.keys {
		m[k] = plain(o.m[k])
	}
	return m
}

// addForm adds url.Values with PHP bracket keys: a[b][]=1 → a: {b: {0: 1}}.
// The order of keys in the raw query is kept, so it is parsed by hand.
func (o *omap) addForm(raw string) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || k == "" {
			continue // PHP skips what it cannot decode
		}
		o.setBracket(k, v)
	}
}

func (o *omap) setBracket(key, val string) {
	base, rest, ok := strings.Cut(key, "[")
	if !ok || base == "" || !strings.Contains(rest, "]") {
		o.set(key, val)
		return
	}
	var segs []string
	rest = "[" + rest
	for strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			break
		}
		segs = append(segs, rest[1:end])
		rest = rest[end+1:]
	}
	cur := o
	k := base
	for _, s := range segs {
		next := cur.child(k)
		if s == "" {
			s = strconv.Itoa(next.next)
		}
		cur, k = next, s
	}
	cur.set(k, val)
}

// decodeJSON parses body into an omap keeping key order. Invalid JSON, or
// JSON that is not an object/array, gives an empty map: PHP's
// json_decode returns null and the portal just sees no parameters (§1.2).
func decodeJSON(body []byte) *omap {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return newOmap()
	}
	if _, err := dec.Token(); err == nil {
		return newOmap() // trailing garbage
	}
	o, ok := v.(*omap)
	if !ok {
		return newOmap()
	}
	return o
}

const maxDepth = 64

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		o := newOmap()
		switch t {
		case '{':
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o.set(k, v)
			}
		case '[':
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o.push(v)
			}
		default:
			return nil, fmt.Errorf("unexpected %v", t)
		}
		if _, err := dec.Token(); err != nil { // closing delimiter
			return nil, err
		}
		return o, nil
	default:
		return t, nil
	}
}

// PHP-ish conversions. ok is false when the value cannot stand for the
// wanted type at all (an array where a number is expected).

func toInt(v any) (int64, bool) {
	switch t := v.(type) {
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
		return n, err == nil
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return n, true
		}
		f, err := t.Float64()
		return int64(f), err == nil
	case bool:
		if t {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func toString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		if t {
			return "1", true
		}
		return "", true
	case nil:
		return "", true
	}
	return "", false
}

// toList flattens an array (or a lone scalar) into strings.
func toList(v any) []string {
	if o, ok := v.(*omap); ok {
		var out []string
		for _, x := range o.values() {
			if s, ok := toString(x); ok {
				out = append(out, s)
			}
		}
		return out
	}
	if s, ok := toString(v); ok && s != "" {
		return []string{s}
	}
	return nil
}
