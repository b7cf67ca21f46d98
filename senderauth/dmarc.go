package senderauth

import (
	"context"
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"
)

// policyRecord is the DMARC record that applies to a From domain.
type policyRecord struct {
	rec     *dmarc.Record
	foundAt string // the From domain itself, or its organizational domain
}

// fetchDMARC finds the record for domain as RFC 7489 §6.6.3 says: at
// _dmarc.<domain>, and only when there is none there, at the
// organizational domain. go-msgauth's Lookup does the first step only.
//
// The value is "" when a record was found, otherwise none (no record),
// temperror or permerror (the record does not parse).
func fetchDMARC(ctx context.Context, l *lookups, domain string) (*policyRecord, authres.ResultValue, string) {
	rec, v, why := fetchOne(ctx, l, domain)
	if v != authres.ResultNone {
		return rec, v, why
	}
	org := orgDomain(domain)
	if org == domain {
		return nil, v, why
	}
	return fetchOne(ctx, l, org)
}

func fetchOne(ctx context.Context, l *lookups, domain string) (*policyRecord, authres.ResultValue, string) {
	name := "_dmarc." + domain
	txts, err := l.LookupTXT(ctx, name)
	if isNotFound(err) {
		return nil, authres.ResultNone, "no DMARC record at " + name
	}
	if err != nil {
		// A DNS failure is never "no record": the fallback could find a
		// laxer policy than the one we failed to read.
		return nil, authres.ResultTempError, err.Error()
	}
	var found []string
	for _, t := range txts {
		t = strings.TrimSpace(t)
		if t == "v=DMARC1" || strings.HasPrefix(t, "v=DMARC1;") || strings.HasPrefix(t, "v=DMARC1 ") {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return nil, authres.ResultNone, "no DMARC record at " + name
	case 1:
	default:
		// §6.6.3 step 5: more than one record means no DMARC at all. Do
		// not fall back either, which is what "terminates" means there.
		return nil, authres.ResultPermError, "several DMARC records at " + name
	}
	rec, err := dmarc.Parse(found[0])
	if err != nil {
		return nil, authres.ResultPermError, fmt.Sprintf("%s: %v", name, err)
	}
	return &policyRecord{rec: rec, foundAt: domain}, "", ""
}

// orgDomain is the organizational domain (public suffix plus one label).
// Names that are themselves public suffixes, or that the list does not
// cover, stand for themselves.
func orgDomain(domain string) string {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	org, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return domain
	}
	return org
}

// aligned reports identifier alignment (RFC 7489 §3.1): strict needs the
// same name, relaxed the same organizational domain.
func aligned(a, b string, mode dmarc.AlignmentMode) bool {
	a, b = cleanDomain(a), cleanDomain(b)
	if a == "" || b == "" {
		return false
	}
	if mode == dmarc.AlignmentStrict {
		return a == b
	}
	return orgDomain(a) == orgDomain(b)
}

// evaluate applies a record to the SPF and DKIM outcomes. One aligned pass
// is enough. Without one, a temporary error on an aligned identifier makes
// the result temperror rather than fail, since a retry may pass.
func evaluate(pr *policyRecord, from string, r *Result) (authres.ResultValue, string) {
	rec := pr.rec
	temp := ""
	if aligned(r.SPFDomain, from, rec.SPFAlignment) {
		switch r.SPF {
		case authres.ResultPass:
			return authres.ResultPass, "SPF pass aligned with " + from
		case authres.ResultTempError:
			temp = "SPF temperror for aligned " + r.SPFDomain
		}
	}
	for _, s := range r.Signatures {
		if !aligned(s.Domain, from, rec.DKIMAlignment) {
			continue
		}
		switch s.Value {
		case authres.ResultPass:
			return authres.ResultPass, "DKIM pass aligned with " + from + " (d=" + s.Domain + ")"
		case authres.ResultTempError:
			temp = "DKIM temperror for aligned d=" + s.Domain
		}
	}
	if temp != "" {
		return authres.ResultTempError, temp
	}
	return authres.ResultFail, "no aligned SPF or DKIM pass for " + from
}

// effectivePolicy is p=, or sp= when the record came from the
// organizational domain of a subdomain From.
func effectivePolicy(pr *policyRecord, from string) string {
	p := pr.rec.Policy
	if pr.foundAt != from && pr.rec.SubdomainPolicy != "" {
		p = pr.rec.SubdomainPolicy
	}
	return string(p)
}
