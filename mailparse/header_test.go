package mailparse

import (
	"testing"

	"golang.org/x/text/encoding/charmap"
)

// Cases 41 and 42 of docs/autoreply-rules.md §7, plus the other charsets
// and malformations of its §6.
func TestDecodeHeader(t *testing.T) {
	cp := func(s string) string { return enc(t, charmap.Windows1251, s) }
	koi := func(s string) string { return enc(t, charmap.KOI8R, s) }
	tests := []struct {
		name, in, want string
	}{
		{"41 windows-1251 B", "=?windows-1251?B?" + b64(cp("Привет мир")) + "?=", "Привет мир"},
		{"41 Windows-1251 Q", "=?Windows-1251?Q?=D2=E5=F1=F2?=", "Тест"},
		{"41 koi8-r B", "=?koi8-r?B?" + b64(koi("Заявка")) + "?=", "Заявка"},
		{"41 koi8-r Q", qword("koi8-r", koi("Заявка номер")), "Заявка номер"},
		{"41 x-mac-cyrillic", "=?x-mac-cyrillic?B?" + b64(enc(t, charmap.MacintoshCyrillic, "Тест")) + "?=", "Тест"},
		{"41 utf-8*ru", "=?utf-8*ru?B?" + b64("Тест") + "?=", "Тест"},
		{"iso-8859-5", "=?iso-8859-5?B?" + b64(enc(t, charmap.ISO8859_5, "Тест")) + "?=", "Тест"},
		{"cp866", "=?cp866?B?" + b64(enc(t, charmap.CodePage866, "Тест")) + "?=", "Тест"},
		{"ibm866", "=?ibm866?B?" + b64(enc(t, charmap.CodePage866, "Тест")) + "?=", "Тест"},
		{"bogus win-1251", qword("win-1251", cp("Тема письма")), "Тема письма"},
		{"cp1251 alias", "=?cp1251?B?" + b64(cp("Тест")) + "?=", "Тест"},
		{"42 raw cp1251", cp("Счёт на оплату за март"), "Счёт на оплату за март"},
		{"42 raw koi8-r", koi("Не приходит почта"), "Не приходит почта"},
		{"42 raw utf-8 kept", "Привет, мир", "Привет, мир"},
		{"prefix glued to word", "Re:=?utf-8?B?" + b64("Привет") + "?=", "Re:Привет"},
		{"adjacent words joined", "=?utf-8?B?" + b64("При") + "?= =?utf-8?B?" + b64("вет") + "?=", "Привет"},
		{"mixed raw and word", "Re: " + cp("счёт") + " =?utf-8?B?" + b64("№5") + "?=", "Re: счёт №5"},
		{"unknown charset", "=?x-unknown?B?" + b64("Тест") + "?=", "Тест"},
		{"broken word kept", "=?utf-8?B?!!!?= tail", "=?utf-8?B?!!!?= tail"},
		{"newline in word", "=?utf-8?Q?a=0D=0Ab?=", "a  b"},
		{"plain ascii", "  Hello  ", "Hello"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DecodeHeader(tc.in); got != tc.want {
				t.Errorf("DecodeHeader(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseAddressList(t *testing.T) {
	cp := enc(t, charmap.Windows1251, "Пётр Сидоров")
	tests := []struct {
		name, in string
		want     []Address
	}{
		{"encoded cp1251 name", "=?windows-1251?B?" + b64(enc(t, charmap.Windows1251, "Иван")) + "?= <ivan@example.ru>",
			[]Address{{"Иван", "ivan@example.ru"}}},
		{"quoted encoded name", `"=?utf-8?B?` + b64("Иван") + `?=" <ivan@example.ru>`, []Address{{"Иван", "ivan@example.ru"}}},
		{"raw 8-bit name", cp + " <petr@example.ru>", []Address{{"Пётр Сидоров", "petr@example.ru"}}},
		{"list", "a@example.com, B <b@example.com>", []Address{{"", "a@example.com"}, {"B", "b@example.com"}}},
		{"unquoted dot in name", "J. R. Smith <jrs@example.com>, x@example.com",
			[]Address{{"J. R. Smith", "jrs@example.com"}, {"", "x@example.com"}}},
		{"unclosed bracket", "Ivan <ivan@example.ru", []Address{{"Ivan", "ivan@example.ru"}}},
		{"junk around", "ivan@example.ru (Ivan) garbage;; <>", []Address{{"(Ivan) garbage", "ivan@example.ru"}}},
		{"empty", "  ", nil},
		{"group", "undisclosed-recipients:;", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseAddressList(tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("ParseAddressList(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("ParseAddressList(%q)[%d] = %+v, want %+v", tc.in, i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestHeaderFields(t *testing.T) {
	raw := "From Mailer-Daemon Mon Jan  1 00:00:00 2024\nReceived: a\nreceived: b\n  folded\nSubject : spaced key\n\nbody"
	h, body, tooBig := readHeader([]byte(raw), 0)
	if tooBig || string(body) != "body" {
		t.Fatalf("body %q tooBig %v", body, tooBig)
	}
	if got := h.Values("RECEIVED"); len(got) != 2 || got[1] != "b folded" {
		t.Errorf("Values(RECEIVED) = %q", got)
	}
	if got := h.Get("subject"); got != "spaced key" {
		t.Errorf("Get(subject) = %q", got)
	}
	if h.Has("X-Missing") || h.Get("X-Missing") != "" {
		t.Error("missing field reported present")
	}
	// A header line without a colon ends the header: the rest is body.
	h, body, _ = readHeader([]byte("Subject: x\nthis is body text\n"), 0)
	if len(h.Fields) != 1 || string(body) != "this is body text\n" {
		t.Errorf("fields %v body %q", h.Fields, body)
	}
}
