package mailparse

import (
	"strings"
)

// maxIDs bounds the ids taken from one header. Real References fields
// are trimmed by clients to a few dozen; thousands are an attack.
const maxIDs = 500

// MessageIDs extracts message ids from an In-Reply-To, References or
// Message-ID value, without angle brackets, in order, without duplicates.
//
// Old and broken clients wrap ids in free text ("Your message of … <id>")
// or drop the brackets entirely, so: every <…> token is an id; if there
// are none, every whitespace- or comma-separated word containing '@' is.
func MessageIDs(v string) []string {
	var ids []string
	seen := make(map[string]bool)
	add := func(id string) {
		id = strings.TrimSpace(id)
		if id == "" || seen[id] || len(ids) >= maxIDs {
			return
		}
		seen[id] = true
		ids = append(ids, id)
	}
	rest := v
	for len(ids) < maxIDs {
		lt := strings.IndexByte(rest, '<')
		if lt < 0 {
			break
		}
		rest = rest[lt+1:]
		gt := strings.IndexAny(rest, "<>")
		if gt < 0 {
			// Unclosed bracket: take the word that follows.
			if f := strings.Fields(rest); len(f) > 0 && strings.Contains(f[0], "@") {
				add(f[0])
			}
			break
		}
		if rest[gt] == '>' {
			tok := rest[:gt]
			if strings.IndexAny(strings.TrimSpace(tok), " \t\r\n") < 0 {
				add(tok)
			}
			rest = rest[gt+1:]
		}
	}
	if len(ids) > 0 {
		return ids
	}
	for _, w := range strings.FieldsFunc(v, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == ','
	}) {
		w = strings.Trim(w, `"'()[];.<>`)
		if strings.Contains(w, "@") && !strings.HasPrefix(w, "@") && !strings.HasSuffix(w, "@") {
			add(w)
		}
		if len(ids) >= maxIDs {
			break
		}
	}
	return ids
}
