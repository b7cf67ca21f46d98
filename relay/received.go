package relay

import (
	"net/netip"
	"strings"
)

// Hop is what one Received: line says about the client of the host that
// wrote it.
type Hop struct {
	IP   string
	Helo string
	RDNS string
}

// ParseReceived reads the "from" clause of a Received: value in the forms
// the common MTAs write:
//
//	Postfix, Sendmail:  from HELO (RDNS [IP])   from HELO (unknown [IPv6:2001:db8::1])
//	Exim:               from RDNS ([IP] helo=HELO)   from [IP] (helo=HELO)   from HELO ([IP])
//	ours, many others:  from HELO ([IP])
//
// The IP is the one in square brackets (the address the writer saw on
// its socket, not a name anyone can choose); ok is false when there is
// none, as in Postfix's "by host (Postfix, from userid 0)" for a local
// submission.
func ParseReceived(v string) (Hop, bool) {
	v = strings.Join(strings.Fields(v), " ")
	// ASCII-only lowering keeps byte offsets valid in v.
	lower := asciiLower(v)
	if !strings.HasPrefix(lower, "from ") {
		return Hop{}, false
	}
	from := v[len("from "):]
	// The from clause ends at the first " by " / " with " / ";" outside
	// parentheses.
	depth, end := 0, len(from)
	lowerFrom := lower[len("from "):]
scan:
	for i := 0; i < len(from); i++ {
		switch from[i] {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case ';':
			if depth == 0 {
				end = i
				break scan
			}
		case ' ':
			if depth == 0 {
				rest := lowerFrom[i+1:]
				if strings.HasPrefix(rest, "by ") || strings.HasPrefix(rest, "with ") || strings.HasPrefix(rest, "id ") || strings.HasPrefix(rest, "for ") {
					end = i
					break scan
				}
			}
		}
	}
	from = from[:end]
	first, comment, _ := strings.Cut(from, " ")

	var h Hop
	ipText := ""
	if strings.HasPrefix(first, "[") {
		// Exim without a reverse name: from [IP] (helo=HELO), or
		// [IP]:PORT with its incoming_port log selector.
		ipText, _, _ = strings.Cut(first[1:], "]")
	} else {
		h.Helo = first
	}
	if ipText == "" {
		if i := strings.IndexByte(comment, '['); i >= 0 {
			if j := strings.IndexByte(comment[i:], ']'); j > 0 {
				ipText = comment[i+1 : i+j]
			}
		}
		if rd, _, ok := strings.Cut(strings.TrimLeft(comment, "( "), "["); ok {
			h.RDNS = strings.TrimSpace(rd)
		}
	}
	// Exim names the HELO apart when it differs from the reverse name.
	if i := strings.Index(asciiLower(comment), "helo="); i >= 0 {
		hv := comment[i+len("helo="):]
		if k := strings.IndexAny(hv, " )"); k >= 0 {
			hv = hv[:k]
		}
		if hv != "" {
			if h.Helo != "" && h.RDNS == "" {
				h.RDNS = h.Helo
			}
			h.Helo = hv
		}
	}
	ipText = strings.TrimPrefix(strings.TrimPrefix(ipText, "IPv6:"), "ipv6:")
	// Some writers add the port ("[192.0.2.1]:25"): it is outside the
	// brackets, so not here; a zone is dropped.
	if k := strings.IndexByte(ipText, '%'); k >= 0 {
		ipText = ipText[:k]
	}
	a, err := netip.ParseAddr(ipText)
	if err != nil {
		return Hop{}, false
	}
	h.IP = a.Unmap().String()
	if h.Helo == "" {
		h.Helo = "[" + h.IP + "]"
	}
	return h, true
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
