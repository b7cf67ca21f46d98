package senderauth

import (
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dmarc"
)

// Identified reports whether the From address is proven to be the
// sender's: DMARC passed, or (without a DMARC record) SPF passed for an
// envelope domain aligned with From, or a DKIM signature of a domain
// aligned with From passed. Only an identified sender may continue a
// thread by its guessable [#task] tag; the reply-or-not policy (Verdict)
// is a separate, looser question.
func (r Result) Identified() bool {
	if r.FromDomain == "" {
		return false
	}
	if r.DMARC == authres.ResultPass {
		return true
	}
	if r.DMARC == authres.ResultFail {
		return false
	}
	if r.MailFrom != "" && r.SPF == authres.ResultPass && aligned(r.SPFDomain, r.FromDomain, dmarc.AlignmentRelaxed) {
		return true
	}
	for _, s := range r.Signatures {
		if s.Value == authres.ResultPass && aligned(s.Domain, r.FromDomain, dmarc.AlignmentRelaxed) {
			return true
		}
	}
	return false
}
