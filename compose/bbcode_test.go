package compose

import (
	"regexp"
	"strings"
	"testing"
)

func TestBBCodeToHTML(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain <text> & \"quotes\"", "plain &lt;text&gt; &amp; &#34;quotes&#34;"},
		{"[b]bold[/b] [I]it[/I] [u]u[/u] [s]s[/s]", "<b>bold</b> <i>it</i> <u>u</u> <s>s</s>"},
		{"line1\nline2", "line1<br>\nline2"},
		{"[url=https://example.com/a?b=1&c=2]site[/url]", `<a href="https://example.com/a?b=1&amp;c=2">site</a>`},
		{"[URL]https://example.com[/URL]", `<a href="https://example.com">https://example.com</a>`},
		{"[url=javascript:alert(1)]x[/url]", "x"},
		{"[url]javascript:alert(1)[/url]", "javascript:alert(1)"},
		{`[url="https://e.com/" onclick="x"]y[/url]`, `y`},
		{"[url=mailto:a@b.example]mail[/url]", `<a href="mailto:a@b.example">mail</a>`},
		{"[quote]said[/quote]after", `<blockquote style="margin:0 0 0 8px; padding-left:8px; border-left:2px solid #ccc;">said</blockquote>after`},
		{"[code]<b>[b]x[/b]</b>[/code]", "<pre><code>&lt;b&gt;[b]x[/b]&lt;/b&gt;</code></pre>"},
		{"[list]\n[*]one\n[*]two\n[/list]", "<ul><li>one</li><li>two</li></ul>"},
		{"[list=1][*]a[*][b]b[/list]", "<ol><li>a</li><li><b>b</b></li></ol>"},
		{"[USER=15]Anna Smirnova[/USER], hello", "Anna Smirnova, hello"},
		{"see [DISK FILE ID=n1234] attached", "see  attached"},
		{"[color=#ff0000]red[/color]", "red"},
		{"[img]x.png[/img] [table]", "[img]x.png[/img] [table]"},
		{"[b]unclosed", "<b>unclosed</b>"},
		{"stray[/b] close", "stray[/b] close"},
		{"[b][i]x[/b]y[/i]", "<b><i>x</i></b>y[/i]"},
		{"[*] not in list", "[*] not in list"},
		{"[code]no end", "[code]no end"},
		{"[url]no end", "[url]no end"},
		{"[b", "[b"},
		{"a [ b ] c", "a [ b ] c"},
		{"[url=https://a.example][url=https://b.example]x[/url][/url]", `<a href="https://a.example">x</a>`},
		{"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
	} {
		if got := BBCodeToHTML(tc.in); got != tc.want {
			t.Errorf("BBCodeToHTML(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

var bbTagRE = regexp.MustCompile(`<(/?)(b|i|u|s|a|blockquote|ul|ol|li|pre|code|br)((?: [a-z]+="[^"<>]*")*)>`)

// checkBBOutput: only our tags, properly nested, safe hrefs.
func checkBBOutput(t *testing.T, in, out string) {
	var stack []string
	last := 0
	for _, m := range bbTagRE.FindAllStringSubmatchIndex(out, -1) {
		if strings.ContainsAny(out[last:m[0]], "<>") {
			t.Fatalf("%q: raw markup in %q", in, out)
		}
		last = m[1]
		closing, name, attrs := out[m[2]:m[3]] == "/", out[m[4]:m[5]], out[m[6]:m[7]]
		if strings.Contains(attrs, "href=") && !regexp.MustCompile(`^ href="(https?://|mailto:)`).MatchString(attrs) {
			t.Fatalf("%q: unsafe link %q", in, attrs)
		}
		switch {
		case name == "br":
		case closing:
			if len(stack) == 0 || stack[len(stack)-1] != name {
				t.Fatalf("%q: misnested </%s> in %q", in, name, out)
			}
			stack = stack[:len(stack)-1]
		default:
			stack = append(stack, name)
		}
	}
	if strings.ContainsAny(out[last:], "<>") || len(stack) != 0 {
		t.Fatalf("%q: bad output %q", in, out)
	}
}

func TestBBCodeWellFormed(t *testing.T) {
	for _, in := range []string{"[list][b][*]x[/list]", "[quote][list][*]a[/quote]", "[url=https://x.example][b]y", "[list]text[*]z[/list]"} {
		checkBBOutput(t, in, BBCodeToHTML(in))
	}
}

func FuzzBBCodeToHTML(f *testing.F) {
	for _, s := range []string{"[b]x[/b]", "[url=https://a.example]a[/url]", "[list][*]a[*]b[/list]",
		"[quote=Anna]q[/quote]", "[code]<x>[/code]", "[user=1]N[/user]", "[disk file id=1]", "[url]javascript:x[/url]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkBBOutput(t, in, BBCodeToHTML(in))
	})
}

func TestBBCodeToText(t *testing.T) {
	in := "Здравствуйте!\nСделайте так:\n[list=1][*]откройте [url=https://example.com/login]страницу входа[/url]\n[*]нажмите [b]«Забыли пароль»[/b][/list]\nЧто ещё проверить:\n[list][*]почту\n[*]папку «Спам»[/list][quote=Иван]У меня не работает\nвход[/quote]Пишите: [url]mailto:help@example.com[/url]"
	got := BBCodeToText(in)
	want := "Здравствуйте!\nСделайте так:\n1. откройте страницу входа (https://example.com/login)\n2. нажмите «Забыли пароль»\nЧто ещё проверить:\n• почту\n• папку «Спам»\n> Иван:\n> У меня не работает\n> вход\nПишите: help@example.com"
	if got != want {
		t.Errorf("text:\n%s\nwant:\n%s", got, want)
	}
}
