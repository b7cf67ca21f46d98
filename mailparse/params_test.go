package mailparse

import (
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

func pct(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[raw[i]>>4])+string("0123456789abcdef"[raw[i]&15])))
	}
	return b.String()
}

// Cases 43-46 and the other parameter malformations of
// docs/autoreply-rules.md (§7, §6).
func TestParseMediaTypeFilenames(t *testing.T) {
	const name = "Договор 5.pdf"
	cp := enc(t, charmap.Windows1251, name)
	koi := enc(t, charmap.KOI8R, name)
	tests := []struct {
		name, in, key, want string
	}{
		{"43 rfc2231 utf-8", "attachment; filename*=UTF-8''" + pct(name), "filename", name},
		{"43 rfc2231 windows-1251", "attachment; filename*=windows-1251''" + pct(cp), "filename", name},
		{"rfc2231 koi8-r with language", "attachment; filename*=koi8-r'ru'" + pct(koi), "filename", name},
		{"43 continuations", "attachment; filename*0*=UTF-8''" + pct("Дог") + "; filename*1*=" + pct("овор 5") + `; filename*2=".pdf"`, "filename", name},
		{"continuations out of order", "attachment; filename*1*=" + pct("овор 5.pdf") + "; filename*0*=utf-8''" + pct("Дог"), "filename", name},
		{"extended wins over plain", `attachment; filename="fallback.pdf"; filename*=utf-8''` + pct(name), "filename", name},
		{"44 encoded word in quoted filename", `attachment; filename="=?UTF-8?B?` + b64(name) + `?="`, "filename", name},
		{"44 encoded word in quoted name cp1251", `application/pdf; name="=?windows-1251?B?` + b64(cp) + `?="`, "name", name},
		{"Q word in name", `application/pdf; name="` + qword("windows-1251", cp) + `"`, "name", name},
		{"raw cp1251 in quotes", `attachment; filename="` + cp + `"`, "filename", name},
		{"raw utf-8 in quotes", `attachment; filename="` + name + `"`, "filename", name},
		{"unquoted with spaces", "attachment; filename=Договор от 1.pdf", "filename", "Договор от 1.pdf"},
		{"45 boundary kept beside unquoted name", `multipart/mixed; boundary="b"; name=My file.pdf`, "boundary", "b"},
		{"45 name read too", `multipart/mixed; boundary="b"; name=My file.pdf`, "name", "My file.pdf"},
		{"46 duplicate first wins", `application/pdf; name="first.pdf"; name="second.pdf"`, "name", "first.pdf"},
		{"escaped quote", `attachment; filename="a \"b\".txt"`, "filename", `a "b".txt`},
		{"unclosed quote", `attachment; filename="open.txt`, "filename", "open.txt"},
		{"key case and spaces", `text/plain; CHARSET = "KOI8-R" ; format=flowed`, "charset", "KOI8-R"},
		{"junk param skipped", `text/plain; junk; charset=utf-8`, "charset", "utf-8"},
		{"bad percent kept", "attachment; filename*=utf-8''a%ZZb", "filename", "a%ZZb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, params := parseMediaType(tc.in)
			if got := params[tc.key]; got != tc.want {
				t.Errorf("parseMediaType(%q)[%q] = %q, want %q (all: %q)", tc.in, tc.key, got, tc.want, params)
			}
		})
	}
}

func TestParseMediaTypeType(t *testing.T) {
	for in, want := range map[string]string{
		"Text/HTML; charset=utf-8": "text/html",
		"  multipart/Mixed ":       "multipart/mixed",
		"":                         "",
		";;;":                      "",
	} {
		if got, _ := parseMediaType(in); got != want {
			t.Errorf("parseMediaType(%q) = %q, want %q", in, got, want)
		}
	}
}
