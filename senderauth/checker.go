// Package senderauth decides whether an incoming message's sender is who
// it claims to be, so the gateway never auto-replies to a forged address
// (backscatter). It runs SPF, DKIM and DMARC with its own DNS resolver and
// timeouts, writes the Authentication-Results field, and removes forged
// copies of that field claiming to be ours.
package senderauth

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/authres"
)

// Defaults for Options.
const (
	DefaultTimeout = 3 * time.Second
	// A check may need a dozen lookups (the SPF include tree), mostly
	// one after another, so the whole is bounded separately.
	DefaultCheckTimeout = 3 * DefaultTimeout
)

// Options configure a Checker. The zero value uses the system resolver.
type Options struct {
	Resolver     string        // host:port of the DNS server; "" = the system's
	Timeout      time.Duration // per DNS lookup; 0 = DefaultTimeout
	CheckTimeout time.Duration // whole Check; 0 = 3 × Timeout
	AuthservID   string        // our host name in Authentication-Results; "" = os.Hostname
}

// Checker runs checks. It is safe for concurrent use.
type Checker struct {
	resolver     *net.Resolver
	cache        *dnsCache // shared by all checks (cache.go)
	timeout      time.Duration
	checkTimeout time.Duration
	authservID   string
}

// New returns a Checker for opts.
func New(opts Options) *Checker {
	c := &Checker{timeout: opts.Timeout, checkTimeout: opts.CheckTimeout, authservID: opts.AuthservID}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.checkTimeout <= 0 {
		c.checkTimeout = 3 * c.timeout
	}
	if c.authservID == "" {
		c.authservID, _ = os.Hostname()
	}
	c.resolver = newNetResolver(opts.Resolver, c.timeout)
	c.cache = newDNSCache()
	return c
}

// Input is what the SMTP session knows about one message.
type Input struct {
	IP       net.IP // the connecting client
	Helo     string
	MailFrom string // envelope sender without <>; "" for the null sender
	// Message opens the message (header and body), for example the spool
	// file. It is called once; a returned io.Closer is closed. Nil means
	// no message: DKIM none and DMARC permerror.
	Message func() (io.Reader, error)
}

// Bytes adapts an in-memory message to Input.Message.
func Bytes(msg []byte) func() (io.Reader, error) {
	return func() (io.Reader, error) { return bytes.NewReader(msg), nil }
}

// Result is the outcome of one Check. Values are authres result values
// (pass, fail, softfail, neutral, none, temperror, permerror).
type Result struct {
	AuthservID string // who checked: Options.AuthservID

	SPF       authres.ResultValue
	MailFrom  string // as given in Input
	Helo      string
	SPFDomain string // the domain SPF checked: MAIL FROM's, or HELO's for <>
	// ClientIP is the address SPF checked (behind a trusted relay, the
	// original client, not the relay): smtp.remote-ip in the header.
	ClientIP string

	DKIM       authres.ResultValue // the best over Signatures; none without any
	Signatures []Signature         // at most 5, in header order

	DMARC        authres.ResultValue // pass, fail, none, temperror, permerror
	FromDomain   string              // RFC5322.From domain; "" when unusable
	DMARCPolicy  string              // none, quarantine or reject; "" without a record
	DMARCPercent int                 // pct=, 100 when absent

	Reasons []string // one line per finding, for logs and explain
}

// Check authenticates one message. It always returns within the check
// timeout (plus the time to read the message), and turns every DNS
// trouble into temperror, never into fail.
func (c *Checker) Check(ctx context.Context, in Input) Result {
	ctx, cancel := context.WithTimeout(ctx, c.checkTimeout)
	defer cancel()
	l := newLookups(c.resolver, c.timeout)
	l.shared = c.cache

	r := Result{
		AuthservID: c.authservID,
		MailFrom:   in.MailFrom,
		Helo:       in.Helo,
		SPFDomain:  addrDomain(in.MailFrom),
		ClientIP:   ipString(in.IP),
		DKIM:       authres.ResultNone,
		DMARC:      authres.ResultNone,
	}
	if r.SPFDomain == "" {
		r.SPFDomain = cleanDomain(in.Helo)
	}

	var spfWhy, dkimWhy, dmarcWhy []string
	var wg sync.WaitGroup
	wg.Go(func() { r.SPF, spfWhy = c.checkSPF(ctx, l, in) })

	msg, fields, err := openMessage(in.Message)
	if err == errHeaderTooBig {
		// The sender's doing: DKIM and DMARC are unusable, SPF still counts.
		r.DKIM, r.DMARC = authres.ResultPermError, authres.ResultPermError
		wg.Wait()
		r.Reasons = append(spfWhy, "message: "+err.Error())
		return r
	}
	if err != nil {
		// Our own spool failed, not the sender: try again later.
		r.DKIM, r.DMARC = authres.ResultTempError, authres.ResultTempError
		wg.Wait()
		r.Reasons = append(spfWhy, "message: "+err.Error())
		return r
	}
	defer closeReader(msg)

	var pr *policyRecord
	var dmarcVal authres.ResultValue = authres.ResultPermError
	from, fromErr := fromDomain(fields)
	if msg == nil {
		dmarcWhy = append(dmarcWhy, "dmarc: no message")
	} else if fromErr != nil {
		dmarcWhy = append(dmarcWhy, "dmarc: "+fromErr.Error())
	} else {
		r.FromDomain = from
		wg.Go(func() {
			var why string
			pr, dmarcVal, why = fetchDMARC(ctx, l, from)
			if why != "" {
				dmarcWhy = append(dmarcWhy, "dmarc: "+why)
			}
		})
	}
	if msg != nil {
		wg.Go(func() {
			sigs, err := verifyDKIM(ctx, l, fields, msg)
			r.Signatures = sigs
			if err != nil {
				dkimWhy = append(dkimWhy, "dkim: "+err.Error())
			}
		})
	}
	wg.Wait()

	r.DKIM = bestDKIM(r.Signatures)
	if len(r.Signatures) == 0 && len(dkimWhy) > 0 {
		// The message could not even be parsed for signatures.
		r.DKIM = authres.ResultPermError
	}
	for _, s := range r.Signatures {
		if s.Reason != "" {
			dkimWhy = append(dkimWhy, "dkim: d="+s.Domain+" s="+s.Selector+": "+s.Reason)
		}
	}

	r.DMARC = dmarcVal
	if pr != nil {
		var why string
		r.DMARC, why = evaluate(pr, from, &r)
		r.DMARCPolicy = effectivePolicy(pr, from)
		r.DMARCPercent = 100
		if pr.rec.Percent != nil {
			r.DMARCPercent = *pr.rec.Percent
		}
		dmarcWhy = append(dmarcWhy, "dmarc: "+why+", policy "+r.DMARCPolicy)
	}
	r.Reasons = append(append(spfWhy, dkimWhy...), dmarcWhy...)
	return r
}

func (c *Checker) checkSPF(ctx context.Context, l *lookups, in Input) (authres.ResultValue, []string) {
	if in.IP == nil {
		return authres.ResultNone, []string{"spf: no client IP"}
	}
	res, err := spf.CheckHostWithSender(in.IP, in.Helo, in.MailFrom,
		spf.WithContext(ctx), spf.WithResolver(l))
	why := "spf: " + string(res) + " for " + in.IP.String()
	// The library returns an error even on a match; it is still a useful
	// hint for the log.
	if err != nil {
		why += ": " + err.Error()
	}
	return authres.ResultValue(res), []string{why}
}

// openMessage opens the message and reads its header. The returned reader
// yields the whole message again, header included, for DKIM.
func openMessage(open func() (io.Reader, error)) (io.Reader, []field, error) {
	if open == nil {
		return nil, nil, nil
	}
	rd, err := open()
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReader(rd)
	hdr, err := readHeader(br)
	if err != nil {
		closeReader(rd)
		return nil, nil, err
	}
	fields, _ := splitHeader(hdr)
	return readCloser{io.MultiReader(bytes.NewReader(hdr), br), rd}, fields, nil
}

type readCloser struct {
	io.Reader
	orig io.Reader
}

func (r readCloser) Close() error { return closeReader(r.orig) }

func closeReader(r io.Reader) error {
	if c, ok := r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

func ipString(ip net.IP) string {
	if ip == nil {
		return ""
	}
	return ip.String()
}
