package senderauth

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
)

// maxSignatures caps the DKIM signatures verified per message: each costs
// a DNS lookup and a pass over the body, and a forger can add hundreds.
const maxSignatures = 5

// Signature is the outcome for one DKIM-Signature field.
type Signature struct {
	Value      authres.ResultValue // pass, fail, temperror, permerror
	Domain     string              // d=
	Selector   string              // s=
	Identifier string              // i=
	Reason     string              // why it did not pass; empty on pass
}

// verifyDKIM checks up to maxSignatures signatures of msg (header and
// body). go-msgauth has no context, so the deadline reaches it through
// LookupTXT, which goes through the per-check cache.
func verifyDKIM(ctx context.Context, l *lookups, fields []field, msg io.Reader) ([]Signature, error) {
	// go-msgauth does not report the selector; take it from the
	// signature fields, which it verifies in header order.
	var tags []map[string]string
	for _, f := range fields {
		if strings.EqualFold(f.name, "DKIM-Signature") {
			tags = append(tags, parseTags(f.value()))
		}
	}
	if len(tags) == 0 {
		// Unsigned: no need to read the body, nor to fault a message
		// whose header never ends.
		return nil, nil
	}

	opts := &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			return l.LookupTXT(ctx, name)
		},
		MaxVerifications: maxSignatures,
	}
	verifs, err := dkim.VerifyWithOptions(msg, opts)
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		return nil, err
	}

	sigs := make([]Signature, 0, len(verifs))
	for i, v := range verifs {
		s := Signature{
			Domain:     cleanDomain(v.Domain),
			Identifier: v.Identifier,
		}
		if i < len(tags) {
			s.Selector = tags[i]["s"]
			if s.Domain == "" {
				s.Domain = cleanDomain(tags[i]["d"])
			}
		}
		switch {
		case v.Err == nil:
			s.Value = authres.ResultPass
		case dkim.IsTempFail(v.Err):
			s.Value = authres.ResultTempError
		case dkim.IsPermFail(v.Err):
			s.Value = authres.ResultPermError
		default:
			// Bad signature or body hash: the message was changed, or the
			// signature was never valid.
			s.Value = authres.ResultFail
		}
		if v.Err != nil {
			s.Reason = v.Err.Error()
		}
		sigs = append(sigs, s)
	}
	return sigs, err
}

// bestDKIM sums up the signatures for the one-word DKIM result: one pass is
// enough; a temporary error beats a failure because it may yet pass.
func bestDKIM(sigs []Signature) authres.ResultValue {
	rank := map[authres.ResultValue]int{
		authres.ResultPass:      5,
		authres.ResultTempError: 4,
		authres.ResultFail:      3,
		authres.ResultPermError: 2,
	}
	best := authres.ResultNone
	for _, s := range sigs {
		if rank[s.Value] > rank[best] {
			best = s.Value
		}
	}
	return best
}

// parseTags reads a DKIM tag-list ("v=1; d=example.org; s=sel; ...").
// Whitespace is dropped everywhere, which is right for the tags used here.
func parseTags(v string) map[string]string {
	tags := map[string]string{}
	for _, part := range strings.Split(v, ";") {
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if _, dup := tags[k]; dup || k == "" {
			continue
		}
		tags[k] = strings.Join(strings.Fields(val), "")
	}
	return tags
}
