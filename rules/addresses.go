package rules

import (
	"net/mail"
	"strings"
)

// Address comparison for the decision: own addresses, exclusions, robot
// local parts.

// addrTrim strips spaces and angle brackets: "<a@b>" → "a@b", "<<>>" → "".
func addrTrim(a string) string {
	return strings.Trim(a, " \t<>")
}

// splitAddr returns the local part and domain; the domain loses a trailing dot.
func splitAddr(a string) (local, domain string) {
	a = addrTrim(a)
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return a, ""
	}
	return a[:i], strings.TrimSuffix(a[i+1:], ".")
}

// sameAddr compares case-insensitively (local parts are case-sensitive in
// theory, never in practice) and treats a+tag@d as a@d unless own itself has
// a tag, so reply addresses like support+t123@ still count as ours.
func sameAddr(a, own string) bool {
	al, ad := splitAddr(a)
	ol, od := splitAddr(own)
	if ad == "" || !strings.EqualFold(ad, od) {
		return false
	}
	if !strings.Contains(ol, "+") {
		al, _, _ = strings.Cut(al, "+")
	}
	return strings.EqualFold(al, ol)
}

func isOwn(a string, list []string) bool {
	if addrTrim(a) == "" {
		return false
	}
	for _, o := range list {
		if sameAddr(a, o) {
			return true
		}
	}
	return false
}

// inDomains: "partner.example.com" matches itself and "eu.partner.example.com",
// not "notpartner.example.com". List entries may start with "@" or ".".
func inDomains(a string, domains []string) bool {
	_, d := splitAddr(a)
	if d == "" {
		return false
	}
	for _, x := range domains {
		x = strings.TrimSuffix(strings.TrimLeft(strings.TrimSpace(x), "@."), ".")
		if x == "" {
			continue
		}
		if strings.EqualFold(d, x) ||
			(len(d) > len(x) && d[len(d)-len(x)-1] == '.' && strings.EqualFold(d[len(d)-len(x):], x)) {
			return true
		}
	}
	return false
}

// isRobotSender: the system local parts of RFC 3834 §2, RFC 5230 §4.6 and
// Pigeonhole, plus postmaster (see the package comment).
func isRobotSender(a string) bool {
	l, d := splitAddr(a)
	if d == "" && l == "" {
		return false
	}
	l = strings.ToLower(l)
	switch l {
	case "mailer-daemon", "mailerdaemon", "postmaster", "listserv", "majordomo":
		return true
	}
	return strings.HasPrefix(l, "owner-") || strings.HasSuffix(l, "-request") ||
		strings.HasSuffix(l, "-owner")
}

var noreplyWords = []string{
	"noreply", "no-reply", "no_reply", "no.reply", "donotreply", "do-not-reply",
	"do_not_reply", "do.not.reply", "dontreply", "autoreply",
}

// isNoreply: addresses nobody reads. Only the reply is stopped: such mail
// (order systems, monitoring) may still be a real request.
func isNoreply(a string) bool {
	l, d := splitAddr(a)
	if d == "" {
		return false
	}
	l = strings.ToLower(l)
	for _, w := range noreplyWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	return strings.HasPrefix(l, "bounce") || strings.HasSuffix(l, "-bounces")
}

// isAddressed: RFC 3834 §2 / RFC 5230 §4.5: one of our addresses must be
// in To, Cc, Bcc or Resent-To/-Cc/-Bcc. With no addresses known we cannot
// tell and do not block.
func isAddressed(in Input, h Header, p Policy) bool {
	if len(p.OwnAddresses) == 0 && len(in.EnvelopeRcpts) == 0 {
		return true
	}
	ours := func(a string) bool { return isOwn(a, p.OwnAddresses) || isOwn(a, in.EnvelopeRcpts) }
	for _, list := range [][]string{in.To, in.Cc} {
		for _, a := range list {
			if ours(a) {
				return true
			}
		}
	}
	keys := []string{"Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"}
	if in.To == nil && in.Cc == nil {
		keys = append(keys, "To", "Cc") // the caller did not parse them
	}
	// No destination field at all: nothing says the message went to
	// someone else (a list, a Bcc to others), and the envelope names us.
	empty := len(in.To) == 0 && len(in.Cc) == 0
	for _, k := range []string{"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"} {
		empty = empty && len(h.Values(k)) == 0
	}
	if empty {
		return true
	}
	for _, k := range keys {
		for _, v := range h.Values(k) {
			addrs, err := mail.ParseAddressList(v)
			if err != nil {
				continue
			}
			for _, a := range addrs {
				if ours(a.Address) {
					return true
				}
			}
		}
	}
	return false
}
