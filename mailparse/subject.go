package mailparse

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// subjectPrefixes are the reply/forward tokens stripped by
// NormalizeSubject, from the table in docs/autoreply-rules.md §3.
// Matching is case-insensitive and needs the ':' after the token, so
// "Ответ на вопрос" and "Note: meeting" survive. We do not follow the
// greedy "any ≤4-letter word before a colon" rule of some parsers: it
// eats ticket subjects like "Note: …" or "Счёт: …".
var subjectPrefixes = func() map[string]bool {
	m := make(map[string]bool)
	for _, p := range strings.Fields(`
		re fwd fw fwd fw
		отв ответ пересл переслано пересылка перес
		відп відповідь отг отговор пре препратено
		aw wg antw doorst sv vs vb vl fs vast vastus ed
		réf ref rép tr r rif i respuesta rv res resposta enc
		odp pd odg prosl vá továbbítás απ σχετ πρθ ynt ilt i̇lt
		atb ats pārs persiųsta yml bls trs
		השב תשובה הועבר העברה رد إعادة پاسخ
		回复 答复 回覆 答覆 转发 轉寄 返信 転送 회신 답장 전달
		ตอบกลับ ส่งต่อ`) {
		m[strings.ToLower(p)] = true
	}
	// Multi-word prefixes, matched as a whole before the colon.
	for _, p := range []string{"trả lời", "chuyển tiếp", "إعادة توجيه"} {
		m[p] = true
	}
	return m
}()

// NormalizeSubject strips reply/forward prefixes ("Re:", "RE[2]:",
// "Отв:", "回复："), a leading mailing-list tag, ticket tags, an enclosing
// "[fwd: …]" and a trailing "(fwd)", repeatedly, and collapses
// whitespace. The result keeps its case; compare with strings.EqualFold.
// Extract the ticket tag with TaskTag first: it is removed here.
func NormalizeSubject(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > maxSubject {
		// Nobody compares subjects past this point, and it bounds the
		// quadratic worst case of the loop below.
		s = strings.ToValidUTF8(s[:maxSubject], "")
	}
	s = norm.NFC.String(s)
	s = strings.Join(strings.Fields(s), " ")
	for {
		t := stripTicketTags(s)
		t = stripOnce(t)
		t = strings.Join(strings.Fields(t), " ")
		if len(t) >= len(s) { // every change shortens s, so this ends
			return s
		}
		s = t
	}
}

// maxSubject is the longest subject NormalizeSubject looks at.
const maxSubject = 4096

func stripOnce(s string) string {
	if rest, ok := stripPrefixToken(s); ok {
		return rest
	}
	lower := strings.ToLower(s)
	if strings.HasPrefix(lower, "[fwd:") && strings.HasSuffix(s, "]") {
		return s[len("[fwd:") : len(s)-1]
	}
	if strings.HasSuffix(lower, "(fwd)") {
		return s[:len(s)-len("(fwd)")]
	}
	if strings.HasPrefix(s, "[") {
		// A list tag "[support] …". Only when something follows, so a
		// subject that is just "[urgent]" is not emptied.
		if end := strings.IndexByte(s[:min(len(s), 80)], ']'); end > 1 && strings.TrimSpace(s[end+1:]) != "" {
			return s[end+1:]
		}
	}
	return s
}

// stripPrefixToken removes one "<token>[n]:" or "<token>(n)：" prefix.
func stripPrefixToken(s string) (string, bool) {
	i := 0
	for i < len(s) && i < 40 { // the longest prefix is far shorter
		r, sz := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) && !unicode.Is(unicode.Mn, r) && !(r == ' ' && i > 0) {
			break
		}
		i += sz
	}
	tok := strings.ToLower(strings.TrimSpace(s[:i]))
	if tok == "" || !subjectPrefixes[tok] {
		return s, false
	}
	rest := s[i:]
	// Counter: Re[2]:, Re(3):, Re^2:
	if len(rest) > 0 && (rest[0] == '[' || rest[0] == '(' || rest[0] == '^') {
		closer := map[byte]byte{'[': ']', '(': ')', '^': 0}[rest[0]]
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if j == 1 {
			return s, false
		}
		if closer != 0 {
			if j >= len(rest) || rest[j] != closer {
				return s, false
			}
			j++
		}
		rest = rest[j:]
	}
	rest = strings.TrimLeft(rest, " ") // French "RE :"
	switch {
	case strings.HasPrefix(rest, ":"):
		return rest[1:], true
	case strings.HasPrefix(rest, "："):
		return rest[len("："):], true
	}
	return s, false
}

// stripTicketTags removes every [#123] / [Ticket#123] tag.
func stripTicketTags(s string) string {
	for {
		start, end, _, ok := findTag(s)
		if !ok {
			break
		}
		s = s[:start] + " " + s[end:]
	}
	return s
}

// TaskTag finds the first "[#123]" or "[Ticket#123]" ("ticket" in any
// case) in a subject. The form is strict — no spaces inside — so random
// bracketed text is not taken for a ticket number.
func TaskTag(subject string) (id int64, ok bool) {
	_, _, id, ok = findTag(subject)
	return id, ok
}

func findTag(s string) (start, end int, id int64, ok bool) {
	from := 0
	for from < len(s) {
		i := strings.IndexByte(s[from:], '[')
		if i < 0 {
			break
		}
		i += from
		// Stop at the next bracket of either kind: "[[[…]" is scanned
		// once, not once per '['.
		j := strings.IndexAny(s[i+1:], "[]")
		if j < 0 {
			break
		}
		j += i + 1
		if s[j] == ']' {
			if n, good := tagNumber(s[i+1 : j]); good {
				return i, j + 1, n, true
			}
		}
		from = j
	}
	return 0, 0, 0, false
}

// tagNumber parses "#123" or "Ticket#123".
func tagNumber(inner string) (int64, bool) {
	if len(inner) > 6 && strings.EqualFold(inner[:6], "ticket") {
		inner = inner[6:]
	}
	if len(inner) < 2 || inner[0] != '#' {
		return 0, false
	}
	for _, c := range []byte(inner[1:]) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(inner[1:], 10, 64)
	return n, err == nil && n > 0
}

// TagSubject appends " [#id]" unless that tag is already present.
func TagSubject(subject string, id int64) string {
	tag := "[#" + strconv.FormatInt(id, 10) + "]"
	rest := subject
	for {
		_, end, got, ok := findTag(rest)
		if !ok {
			break
		}
		if got == id {
			return subject
		}
		rest = rest[end:]
	}
	subject = strings.TrimRight(subject, " \t")
	if subject == "" {
		return tag
	}
	return subject + " " + tag
}
