package senderauth

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"
)

// newNetResolver returns the resolver all checks share. With a server
// configured, every query goes to it (UDP, or TCP when the answer was
// truncated) whatever /etc/resolv.conf says.
func newNetResolver(server string, timeout time.Duration) *net.Resolver {
	if server == "" {
		return &net.Resolver{}
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(strings.Trim(server, "[]"), "53")
	}
	d := &net.Dialer{Timeout: timeout}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, server)
		},
	}
}

// lookups is the DNS view of one Check: each lookup has its own timeout and
// is done at most once, because SPF, DKIM and DMARC (and the SPF include
// tree) ask for the same names. Across checks the Checker's dnsCache
// (cache.go) answers, when there is one.
//
// It implements spf.DNSResolver. Errors are always a bare *net.DNSError
// with either IsNotFound or IsTemporary set, because both the SPF and the
// DKIM libraries classify errors with type assertions, and anything that is
// not a clean "no such record" must end up as temperror, never as fail.
type lookups struct {
	r       *net.Resolver
	timeout time.Duration
	shared  *dnsCache // nil: every check asks the resolver

	mu sync.Mutex
	m  map[string]*lookup
}

type lookup struct {
	done chan struct{}
	val  any
	err  error
}

func newLookups(r *net.Resolver, timeout time.Duration) *lookups {
	return &lookups{r: r, timeout: timeout, m: map[string]*lookup{}}
}

// do runs fn once per key. Concurrent callers for the same key wait for the
// first one, but never past their own context.
func (l *lookups) do(ctx context.Context, kind, name string, fn func(context.Context) (any, error)) (any, error) {
	k := kind + " " + strings.ToLower(name)
	l.mu.Lock()
	e, ok := l.m[k]
	if !ok {
		e = &lookup{done: make(chan struct{})}
		l.m[k] = e
	}
	l.mu.Unlock()

	if !ok {
		if l.shared != nil {
			e.val, e.err = l.shared.get(ctx, k, name, l.timeout, fn)
		} else {
			lctx, cancel := context.WithTimeout(ctx, l.timeout)
			e.val, e.err = fn(lctx)
			cancel()
			e.err = normalize(name, e.err)
		}
		close(e.done)
	}
	select {
	case <-e.done:
		return e.val, e.err
	case <-ctx.Done():
		return nil, normalize(name, ctx.Err())
	}
}

// fqdn roots a name so resolv.conf search domains never apply.
func fqdn(name string) string {
	return strings.TrimSuffix(name, ".") + "."
}

func (l *lookups) LookupTXT(ctx context.Context, name string) ([]string, error) {
	v, err := l.do(ctx, "TXT", fqdn(name), func(ctx context.Context) (any, error) {
		return l.r.LookupTXT(ctx, fqdn(name))
	})
	txt, _ := v.([]string)
	return txt, err
}

func (l *lookups) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	v, err := l.do(ctx, "MX", fqdn(name), func(ctx context.Context) (any, error) {
		return l.r.LookupMX(ctx, fqdn(name))
	})
	mx, _ := v.([]*net.MX)
	return mx, err
}

func (l *lookups) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	v, err := l.do(ctx, "IP", fqdn(host), func(ctx context.Context) (any, error) {
		return l.r.LookupIPAddr(ctx, fqdn(host))
	})
	ips, _ := v.([]net.IPAddr)
	return ips, err
}

// LookupAddr is the PTR lookup; addr is an IP address, not a name.
func (l *lookups) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	v, err := l.do(ctx, "PTR", addr, func(ctx context.Context) (any, error) {
		return l.r.LookupAddr(ctx, addr)
	})
	names, _ := v.([]string)
	return names, err
}

// normalize maps any lookup error to a *net.DNSError that is either "not
// found" or temporary (see the lookups comment).
func normalize(name string, err error) error {
	if err == nil {
		return nil
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		if de.IsNotFound {
			return &net.DNSError{Err: "no such record", Name: name, IsNotFound: true}
		}
		return &net.DNSError{Err: de.Err, Name: name, IsTimeout: de.IsTimeout, IsTemporary: true}
	}
	return &net.DNSError{
		Err:         err.Error(),
		Name:        name,
		IsTimeout:   errors.Is(err, context.DeadlineExceeded),
		IsTemporary: true,
	}
}

// isNotFound reports a clean NXDOMAIN or no-data answer.
func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}
