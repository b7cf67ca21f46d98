package mailparse

import "testing"

func TestHTMLToText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"paragraphs", "<p>One</p><p>Two</p>", "One\n\nTwo"},
		{"outlook lines", `<p class=MsoNormal>One<o:p></o:p></p><p class=MsoNormal>Two</p>`, "One\nTwo"},
		{"br and entities", "a&nbsp;&amp;&lt;b<br>c", "a &<b\nc"},
		{"link kept", `see <a href="https://x.example/kb">the KB</a>.`, "see the KB <https://x.example/kb>."},
		{"bare link not doubled", `<a href="https://x.example">https://x.example</a>`, "https://x.example"},
		{"mailto", `<a href="mailto:a@b.c">a@b.c</a>`, "a@b.c"},
		{"lists", "<ul><li>one</li><li>two</li></ul><ol><li>x<li>y</ol>", "- one\n- two\n1. x\n2. y"},
		{"quote", "reply<blockquote>old<br>older</blockquote>", "reply\n> old\n> older"},
		{"style and head dropped", "<html><head><title>T</title><style>p{}</style></head><body>body</body></html>", "body"},
		{"conditional comment", "<!--[if mso]><xml>junk</xml><![endif]-->text", "text"},
		{"table", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"},
		{"whitespace", "  lots   of\n\n  space  ", "lots of space"},
		{"unclosed tags", "<div><b>bold<i>x", "boldx"},
	}
	for _, tc := range tests {
		if got := HTMLToText(tc.in); got != tc.want {
			t.Errorf("%s: HTMLToText = %q, want %q", tc.name, got, tc.want)
		}
	}
}
