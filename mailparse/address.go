package mailparse

import (
	"net/mail"
	"strings"
)

// Address is one mailbox. Name is the decoded display name; Addr is the
// address as written (not lower-cased: local parts are case-sensitive).
type Address struct {
	Name string
	Addr string
}

// String formats the address for logs and task text.
func (a Address) String() string {
	if a.Name == "" {
		return a.Addr
	}
	if a.Addr == "" {
		return a.Name
	}
	return a.Name + " <" + a.Addr + ">"
}

// maxAddresses bounds a single address list (a To: with thousands of
// entries is spam or an attack, and nobody reads past the first few).
const maxAddresses = 1000

var addrParser = &mail.AddressParser{WordDecoder: wordDecoder}

// ParseAddressList parses a raw header value into addresses. net/mail is
// tried first (it decodes display names with our charset-aware word
// decoder); when it rejects the value — unquoted dots or commas in names,
// raw 8-bit bytes, missing brackets, trailing junk — a lenient splitter
// recovers whatever looks like a mailbox.
func ParseAddressList(raw string) []Address {
	raw = strings.TrimSpace(fix8bit(raw))
	if raw == "" {
		return nil
	}
	if list, err := addrParser.ParseList(raw); err == nil {
		if len(list) == 0 {
			return nil
		}
		out := make([]Address, 0, len(list))
		for _, a := range list {
			if len(out) >= maxAddresses {
				break
			}
			out = append(out, Address{Name: displayName(a.Name), Addr: a.Address})
		}
		return out
	}
	var out []Address
	for _, piece := range splitAddresses(raw) {
		if len(out) >= maxAddresses {
			break
		}
		if a, ok := lenientAddress(piece); ok {
			out = append(out, a)
		}
	}
	return out
}

// splitAddresses splits on commas outside quotes and angle brackets.
func splitAddresses(s string) []string {
	var parts []string
	inQuote, inAngle := false, false
	start := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == '<' && !inQuote:
			inAngle = true
		case c == '>' && !inQuote:
			inAngle = false
		case (c == ',' || c == ';') && !inQuote && !inAngle:
			parts = append(parts, s[start:i])
			start = i + 1
		}
		if len(parts) > maxAddresses {
			return parts
		}
	}
	return append(parts, s[start:])
}

// lenientAddress extracts one mailbox from a piece of a broken list:
// `Name <addr>`, `"Name" addr`, or a bare word containing '@'.
func lenientAddress(p string) (Address, bool) {
	p = strings.TrimSpace(p)
	if p == "" {
		return Address{}, false
	}
	if a, err := addrParser.Parse(p); err == nil {
		return Address{Name: displayName(a.Name), Addr: a.Address}, true
	}
	if lt := strings.LastIndexByte(p, '<'); lt >= 0 {
		rest := p[lt+1:]
		if gt := strings.IndexByte(rest, '>'); gt >= 0 {
			rest = rest[:gt]
		}
		addr := strings.TrimSpace(rest)
		name := cleanName(p[:lt])
		if addr == "" && name == "" {
			return Address{}, false
		}
		return Address{Name: name, Addr: addr}, true
	}
	for _, w := range strings.Fields(p) {
		if strings.Contains(w, "@") {
			addr := strings.Trim(w, `"'()[]`)
			name := cleanName(strings.Replace(p, w, "", 1))
			return Address{Name: name, Addr: addr}, true
		}
	}
	return Address{}, false
}

// cleanName decodes and unquotes a display name found by hand.
func cleanName(s string) string {
	s = strings.TrimSpace(s)
	s = strings.Trim(s, `"' `)
	s = strings.ReplaceAll(s, `\"`, `"`)
	return DecodeHeader(s)
}

// displayName finishes a name from net/mail, which leaves encoded words
// inside quotes ("=?utf-8?B?…?=" <a@b>) undecoded; many clients write
// them that way.
func displayName(n string) string {
	if strings.Contains(n, "=?") {
		return DecodeHeader(n)
	}
	return cleanHeaderText(n)
}
