package senderauth

import "github.com/emersion/go-msgauth/authres"

// The [auth] autoreply policies of the config.
const (
	PolicyPass    = "pass"     // reply only on DMARC pass
	PolicyNotFail = "not-fail" // the default: no reply when authentication fails
	PolicyOff     = "off"      // reply regardless
)

// Reasons Verdict gives for not replying. They are stable: logs, metrics
// and `supportgate explain` show them.
const (
	ReasonFail      = "auth-fail"      // the sender is shown to be forged
	ReasonTempError = "auth-temperror" // DNS trouble: do not reply now
	ReasonNone      = "auth-none"      // policy "pass", and the sender is not proven
)

// ValidPolicy reports whether p is a policy Verdict knows ("" included).
func ValidPolicy(p string) bool {
	switch p {
	case "", PolicyPass, PolicyNotFail, PolicyOff:
		return true
	}
	return false
}

// Verdict says whether the gateway may auto-reply to the envelope sender.
//
// DMARC speaks for the From domain, but the reply goes to the envelope
// sender (Return-Path). So besides the DMARC rule of each policy, the
// envelope sender must not be contradicted: SPF fail or softfail for it,
// with no DKIM pass from its organizational domain to make up for it, is
// auth-fail. Without that, a forger could sign From with their own domain
// and aim the reply at a victim's MAIL FROM. Softfail counts as fail here
// because "~all" is how most domains say "not us".
//
// A temporary DNS error is never a pass, and never a fail either: under
// "pass" it stops the reply, under "not-fail" (which stops only on a
// fail, docs/CONTRACT.md §3.12) it lets the reply go, with reason auth-temperror so
// the log says why the sender was not checked. Otherwise a resolver
// outage on our side would silence every acknowledgement.
//
// "" means not-fail; an unknown policy acts as "pass", the strictest.
func Verdict(r Result, policy string) (allow bool, reason string) {
	switch policy {
	case PolicyOff:
		return true, ""
	case "", PolicyNotFail:
		if r.DMARC == authres.ResultFail {
			return false, ReasonFail
		}
		// No usable DMARC (none, permerror, temperror) or DMARC pass: the
		// envelope decides.
		switch envelope(r) {
		case envFail:
			return false, ReasonFail
		case envTemp:
			return true, ReasonTempError
		}
		if r.DMARC == authres.ResultTempError {
			return true, ReasonTempError
		}
		return true, ""
	default:
		switch r.DMARC {
		case authres.ResultPass:
		case authres.ResultFail:
			return false, ReasonFail
		case authres.ResultTempError:
			return false, ReasonTempError
		default:
			return false, ReasonNone
		}
		switch envelope(r) {
		case envPass:
			return true, ""
		case envFail:
			return false, ReasonFail
		case envTemp:
			return false, ReasonTempError
		}
		return false, ReasonNone
	}
}

type envResult int

const (
	envNeutral envResult = iota // nothing proven either way
	envPass                     // SPF pass, or DKIM pass from the same org domain
	envFail                     // SPF (soft)fail and nothing to make up for it
	envTemp                     // could go either way once DNS answers
)

// envelope judges the envelope sender's domain (r.SPFDomain).
func envelope(r Result) envResult {
	org := orgDomain(r.SPFDomain)
	dkimPass, dkimTemp := false, false
	for _, s := range r.Signatures {
		if r.SPFDomain == "" || s.Domain == "" || orgDomain(s.Domain) != org {
			continue
		}
		dkimPass = dkimPass || s.Value == authres.ResultPass
		dkimTemp = dkimTemp || s.Value == authres.ResultTempError
	}
	switch {
	case r.SPF == authres.ResultPass || dkimPass:
		return envPass
	case r.SPF == authres.ResultTempError:
		return envTemp
	case r.SPF == authres.ResultFail || r.SPF == authres.ResultSoftFail:
		// A DKIM signature we could not check yet may still vouch for
		// the domain (forwarded mail breaks SPF, not DKIM).
		if dkimTemp {
			return envTemp
		}
		return envFail
	}
	return envNeutral
}

// RejectAtSMTP reports whether the message fails DMARC for a domain that
// asks for rejection (p=reject, or sp=reject for a subdomain, at pct=100),
// for the optional mode that refuses such mail in DATA. A temperror never
// rejects.
func RejectAtSMTP(r Result) bool {
	return r.DMARC == authres.ResultFail && r.DMARCPolicy == "reject" && r.DMARCPercent >= 100
}
