// Package compose builds the messages supportgate sends: the HTML
// auto-reply, a specialist's comment mailed to the customer, and DSNs.
//
// Everything that reaches a header from outside (subjects, display names,
// message ids) passes through this file: CR, LF and other control
// characters are replaced, so no value can add a header line. go-message
// would refuse such a value at write time anyway; cleaning first means the
// message still goes out.
package compose

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"
)

// cleanText turns any control character (CR, LF, TAB, NUL, DEL, C1) and
// invalid UTF-8 into a space and collapses runs of spaces.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, " ")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// cleanAddr keeps an address only if it is a plain addr-spec: nothing that
// could close the angle brackets or start a new line.
func cleanAddr(a string) string {
	a = strings.TrimSpace(a)
	if a == "" || strings.ContainsAny(a, "\r\n\t <>,;\"()\\") || strings.Count(a, "@") != 1 {
		return ""
	}
	return a
}

// cleanMsgID strips brackets and drops ids that are not a single token.
func cleanMsgID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	if id == "" || strings.ContainsAny(id, "\r\n\t <>\"") || !utf8.ValidString(id) {
		return ""
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return ""
		}
	}
	return id
}

func cleanMsgIDs(ids []string) []string {
	var out []string
	for _, id := range ids {
		// Callers may hand over a raw References value: split it.
		for _, f := range strings.Fields(strings.NewReplacer("<", " ", ">", " ").Replace(id)) {
			if c := cleanMsgID(f); c != "" {
				out = append(out, c)
			}
		}
	}
	return out
}

// threadIDs computes In-Reply-To and References for a reply to a message
// with id msgID, References refs and In-Reply-To irt (RFC 5322 §3.6.4):
// References = old References (or a lone In-Reply-To id) + the id; without
// an id, References is copied unchanged and there is no In-Reply-To.
func threadIDs(msgID string, refs, irt []string) (inReplyTo, references []string) {
	msgID = cleanMsgID(msgID)
	references = cleanMsgIDs(refs)
	if len(references) == 0 {
		if ids := cleanMsgIDs(irt); len(ids) == 1 {
			references = ids
		}
	}
	if msgID == "" {
		return nil, references
	}
	// Long threads: keep the first id and the newest ones, so the header
	// stays reasonable (as Thunderbird and RFC 5322 §3.6.4 allow).
	if len(references) > 20 {
		references = append(references[:1:1], references[len(references)-19:]...)
	}
	for _, r := range references {
		if strings.EqualFold(r, msgID) { // already listed: the thread's record ends with it
			return []string{msgID}, references
		}
	}
	return []string{msgID}, append(references, msgID)
}

// randomID returns n random bytes as hex: unguessable message and content ids.
func randomID(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// NewMessageID returns a fresh "<random@hostname>"-style id without the
// brackets. Generate it before composing when the id must be stored.
func NewMessageID(hostname string) (string, error) {
	r, err := randomID(16)
	if err != nil {
		return "", err
	}
	return r + "@" + hostOr(hostname), nil
}

func hostOr(h string) string {
	h = strings.TrimSpace(h)
	if h == "" || strings.ContainsAny(h, "\r\n\t <>@\"") {
		return "localhost"
	}
	return h
}

// formatAddress renders one address for header key. The display name is
// cleaned; an ASCII name is quoted by net/mail, any other becomes B words
// sized so the first fits after "Key: " (go-message folds only at spaces,
// and net/mail's single long Q word would leave a 140-character line).
func formatAddress(key, name, addr string) string {
	name = cleanText(name)
	if name == "" {
		return "<" + addr + ">"
	}
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			return strings.Join(bWords(name, 76-len(key)-2), " ") + " <" + addr + ">"
		}
	}
	return (&mail.Address{Name: name, Address: addr}).String()
}

// recipientName is the display name for the reply's To: the original
// From's name only when it is the same address as the envelope sender we
// answer (never trust a name attached to another address).
func recipientName(to string, origFrom mail.Address) string {
	if strings.EqualFold(strings.TrimSpace(origFrom.Address), to) {
		return origFrom.Name
	}
	return ""
}

var tagRE = regexp.MustCompile(`\[#[0-9]+\]`)

// encodeSubject renders a subject for the header: ASCII words stay as they
// are, so a "[#123]" tag remains readable and greppable; each run of other
// words becomes UTF-8 B encoded-words of at most 75 characters, split on
// rune boundaries (RFC 2047 §2, §5). The first word of a header that starts
// with one is shorter, so even "Subject: " plus the word fits in 76.
func encodeSubject(s string) string {
	s = cleanText(s)
	// "Заказ[#12]" → "Заказ [#12]": the tag must be its own word to stay ASCII.
	s = tagRE.ReplaceAllStringFunc(s, func(t string) string { return " " + t + " " })
	words := strings.Fields(s)
	var out []string
	for i := 0; i < len(words); {
		if plainWord(words[i]) {
			out = append(out, words[i])
			i++
			continue
		}
		j := i
		for j < len(words) && !plainWord(words[j]) {
			j++
		}
		first := 75
		if len(out) == 0 {
			first = 76 - len("Subject: ")
		}
		out = append(out, bWords(strings.Join(words[i:j], " "), first)...)
		i = j
	}
	return strings.Join(out, " ")
}

// plainWord: printable ASCII that cannot be mistaken for an encoded-word.
func plainWord(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < 0x21 || w[i] > 0x7e {
			return false
		}
	}
	return !strings.Contains(w, "=?") && !strings.Contains(w, "?=")
}

// bWords encodes s as "=?utf-8?b?...?=" words; the first is at most first
// characters long, the rest 75. Whitespace between adjacent encoded-words
// is ignored by decoders, so spaces of s live inside the words.
func bWords(s string, first int) []string {
	const overhead = len("=?utf-8?b?") + len("?=")
	var words []string
	max := first
	for len(s) > 0 {
		limit := (max - overhead) / 4 * 3 // raw bytes per word
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > limit {
				break
			}
			n += size
		}
		if n == 0 { // cannot happen with limit >= 4; never loop forever
			n = len(s)
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
		max = 75
	}
	return words
}
