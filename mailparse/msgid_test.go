package mailparse

import (
	"slices"
	"testing"
)

// Cases 31-33 (docs/autoreply-rules.md §7): the ids threading matches on, from clean and messy fields.
func TestMessageIDs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"<a@b>", []string{"a@b"}},
		{"<a@b> <c@d>\r\n <e@f>", []string{"a@b", "c@d", "e@f"}},
		{`Your message of "Mon, 1 Jan 2024" <id1@host>`, []string{"id1@host"}},
		{"<id1@host> (John's message of Mon)", []string{"id1@host"}},
		{"id-without-brackets@host.example", []string{"id-without-brackets@host.example"}},
		{"a@b, c@d", []string{"a@b", "c@d"}},
		{"<a@b><a@b><c@d>", []string{"a@b", "c@d"}},
		{"<unclosed@host", []string{"unclosed@host"}},
		{"<a@b> <broken <c@d>", []string{"a@b", "c@d"}},
		{"<with space@x>", []string{"space@x"}}, // fallback: the word with the @
		{"", nil},
		{"no ids here", nil},
	}
	for _, tc := range tests {
		if got := MessageIDs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("MessageIDs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestReferencesFromSeveralFields(t *testing.T) { // case 32
	m := mustParse(t, "From: a@b.c\r\nReferences: <r1@x>\r\n <r2@x>\r\nReferences: <r3@x>\r\n\r\nbody")
	if !slices.Equal(m.References, []string{"r1@x", "r2@x", "r3@x"}) {
		t.Errorf("References = %q", m.References)
	}
}
