package senderauth

import (
	"bytes"
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

const arName = "Authentication-Results"

// Header returns the Authentication-Results field for r, CRLF-terminated
// and folded one method per line, ready to put on top of the message.
// authservID "" means r.AuthservID.
func (r Result) Header(authservID string) string {
	if authservID == "" {
		authservID = r.AuthservID
	}
	if !safeValue(authservID) {
		// A broken id would make the whole field unparseable.
		authservID = "localhost"
	}

	results := []authres.Result{&authres.SPFResult{
		Value: r.SPF,
		From:  mailfromValue(r.MailFrom, r.SPFDomain),
	}}
	if r.MailFrom == "" {
		results[0].(*authres.SPFResult).Helo = pvalue(r.Helo)
	}
	for _, s := range r.Signatures {
		// DKIMResult has no selector, hence the generic form.
		results = append(results, &authres.GenericResult{
			Method: "dkim",
			Value:  s.Value,
			Params: map[string]string{
				"header.d": pvalue(s.Domain),
				"header.s": pvalue(s.Selector),
				"header.i": pvalue(s.Identifier),
			},
		})
	}
	if len(r.Signatures) == 0 {
		results = append(results, &authres.DKIMResult{Value: r.DKIM})
	}
	results = append(results, &authres.DMARCResult{Value: r.DMARC, From: pvalue(r.FromDomain)})

	// Format each method alone and fold between them: folding inside
	// Format's output could land in a quoted value.
	var b strings.Builder
	b.WriteString(arName + ": " + authservID + ";")
	for i, res := range results {
		one := authres.Format(authservID, []authres.Result{res})
		one = strings.TrimSpace(strings.TrimPrefix(one, authservID+"; "))
		if i == 0 && r.ClientIP != "" && safeValue(r.ClientIP) {
			// RFC 8904's smtp.remote-ip: the address SPF was checked
			// for, so a reader sees the original client behind a relay.
			one += " smtp.remote-ip=" + r.ClientIP
		}
		b.WriteString("\r\n\t" + one)
		if i < len(results)-1 {
			b.WriteString(";")
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// mailfromValue is the whole envelope address when it can go in the field
// as is, else just its domain (RFC 8601 allows either).
func mailfromValue(addr, domain string) string {
	if safeValue(addr) {
		return addr
	}
	return pvalue(domain)
}

// pvalue drops values that would need quoting. They come from the sender,
// and authres.Parse, like many readers, splits on ";" even inside quotes.
func pvalue(s string) string {
	if safeValue(s) {
		return s
	}
	return ""
}

func safeValue(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`;()"\<>,=`, c) >= 0 {
			return false
		}
	}
	return true
}

// StripOwnResults removes the Authentication-Results fields whose
// authserv-id is ours (RFC 8601 §5): a sender could forge one to look
// authenticated to the mailbox behind us. Everything else, the body too
// if it is there, stays byte for byte. header may be the header block or
// the whole message. When nothing matches, header itself is returned.
func StripOwnResults(header []byte, authservID string) []byte {
	own := normID(authservID)
	if own == "" {
		return header
	}
	fields, rest := splitHeader(header)
	var out []byte
	for i, f := range fields {
		drop := strings.EqualFold(f.name, arName) && normID(authservIDOf(f.value())) == own
		if drop && out == nil {
			// First match: copy what came before it.
			out = make([]byte, 0, len(header))
			for _, g := range fields[:i] {
				out = append(out, g.raw...)
			}
		}
		if !drop && out != nil {
			out = append(out, f.raw...)
		}
	}
	if out == nil {
		return header
	}
	return append(out, rest...)
}

func normID(id string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(id), "."))
}

// authservIDOf reads the authserv-id that starts an A-R value: optional
// CFWS, then a token or a quoted-string. It is more tolerant than
// authres.Parse, which refuses a comment before the first ";", so a
// forged field cannot escape stripping by adding one.
func authservIDOf(v string) string {
	i := skipCFWS(v, 0)
	if i < len(v) && v[i] == '"' {
		var b bytes.Buffer
		for i++; i < len(v) && v[i] != '"'; i++ {
			if v[i] == '\\' && i+1 < len(v) {
				i++
			}
			b.WriteByte(v[i])
		}
		return b.String()
	}
	j := i
	for j < len(v) && strings.IndexByte(" \t\r\n;(", v[j]) < 0 {
		j++
	}
	return v[i:j]
}

// skipCFWS skips blanks and (possibly nested) comments from i.
func skipCFWS(v string, i int) int {
	depth := 0
	for ; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0, c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			return i
		}
	}
	return i
}
