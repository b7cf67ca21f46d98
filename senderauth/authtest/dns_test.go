package authtest

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestDNS(t *testing.T) {
	d := NewDNS(t)
	d.TXT("Example.ORG", "v=spf1 -all")
	d.A("example.org", "192.0.2.1", "2001:db8::1")
	d.Fail("broken.example")
	d.Delay("slow.example", time.Second)
	d.TXT("slow.example", "late")

	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, network, d.Addr())
	}}
	ctx := context.Background()

	if txt, err := r.LookupTXT(ctx, "example.org."); err != nil || len(txt) != 1 || txt[0] != "v=spf1 -all" {
		t.Errorf("TXT = %q, %v", txt, err)
	}
	if ips, err := r.LookupIPAddr(ctx, "example.org."); err != nil || len(ips) != 2 {
		t.Errorf("IPs = %v, %v", ips, err)
	}
	var de *net.DNSError
	if _, err := r.LookupMX(ctx, "example.org."); !errors.As(err, &de) || !de.IsNotFound {
		t.Errorf("no-data MX: %v, want not found", err)
	}
	if _, err := r.LookupTXT(ctx, "nowhere.example."); !errors.As(err, &de) || !de.IsNotFound {
		t.Errorf("unknown name: %v, want not found", err)
	}
	if _, err := r.LookupTXT(ctx, "broken.example."); !errors.As(err, &de) || !de.Temporary() {
		t.Errorf("SERVFAIL: %v, want a temporary error", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := r.LookupTXT(sctx, "slow.example."); err == nil {
		t.Error("slow name answered before the delay")
	}
	if n := d.Queries("EXAMPLE.org"); n < 3 {
		t.Errorf("Queries = %d, want at least 3", n)
	}
}
