package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// startSink runs an in-process sink on 127.0.0.1:0 and records every size.
func startSink(t *testing.T) (*sink, string, func() []int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sizes []int64
	s := &sink{onMessage: func(n int64) { mu.Lock(); sizes = append(sizes, n); mu.Unlock() }}
	srv := s.serve(l, 0)
	t.Cleanup(func() { srv.Close() })
	return s, l.Addr().String(), func() []int64 {
		mu.Lock()
		defer mu.Unlock()
		return append([]int64(nil), sizes...)
	}
}

func testTarget(addr, mode string) target {
	return target{addr: addr, label: "sink", from: "a@x.test", to: "b@y.test", ehlo: "t.test",
		mode: mode, timeout: 10 * time.Second}
}

func TestRunAgainstSink(t *testing.T) {
	for _, mode := range []string{"conn", "reuse"} {
		for _, size := range []int{4096, 102400} {
			s, addr, sizes := startSink(t)
			const n = 37 // not a multiple of conc: the claim counter must stop exactly
			r := run(context.Background(), testTarget(addr, mode), runSpec{conc: 5, size: size, n: n})
			if r.Sent != n || r.Accepted != n || r.Failed != 0 {
				t.Fatalf("%s/%d: sent=%d accepted=%d failed=%d errors=%v", mode, size, r.Sent, r.Accepted, r.Failed, r.Errors)
			}
			// The sink counts after Data returns, which is before the client sees 250.
			if got := s.msgs.Load(); got != n {
				t.Fatalf("%s/%d: sink got %d messages, want %d", mode, size, got, n)
			}
			for _, sz := range sizes() {
				if sz != int64(size) {
					t.Fatalf("%s/%d: sink saw a %d-byte message", mode, size, sz)
				}
			}
			if r.P50ms <= 0 || r.P99ms < r.P50ms || r.MaxMs < r.P99ms || r.MsgsPerS <= 0 {
				t.Fatalf("%s/%d: odd stats %+v", mode, size, r)
			}
		}
	}
}

func TestDurationBound(t *testing.T) {
	_, addr, _ := startSink(t)
	start := time.Now()
	r := run(context.Background(), testTarget(addr, "reuse"), runSpec{conc: 3, size: 1000, dur: 200 * time.Millisecond})
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("duration run took %v", el)
	}
	if r.Accepted == 0 || r.Failed != 0 {
		t.Fatalf("accepted=%d failed=%d %v", r.Accepted, r.Failed, r.Errors)
	}
}

// rejectRcpt refuses every recipient with 550, to check error accounting and
// that reuse mode survives a refused transaction.
type rejectRcpt struct{ sinkSession }

func (rejectRcpt) Rcpt(string, *smtp.RcptOptions) error {
	return &smtp.SMTPError{Code: 550, Message: "no such user"}
}

func TestErrorsByCode(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return rejectRcpt{sinkSession{&sink{}}}, nil
	}))
	go srv.Serve(l)
	defer srv.Close()
	for _, mode := range []string{"conn", "reuse"} {
		r := run(context.Background(), testTarget(l.Addr().String(), mode), runSpec{conc: 2, size: 4096, n: 9})
		if r.Accepted != 0 || r.Failed != 9 || r.Errors["RCPT 550"] != 9 {
			t.Fatalf("%s: accepted=%d failed=%d errors=%v", mode, r.Accepted, r.Failed, r.Errors)
		}
	}
}

func TestDeadServerIsBounded(t *testing.T) {
	// A listener that never answers: every message must end at -timeout.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tg := testTarget(l.Addr().String(), "conn")
	tg.timeout = 100 * time.Millisecond
	start := time.Now()
	r := run(context.Background(), tg, runSpec{conc: 2, size: 4096, n: 4})
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("took %v", el)
	}
	if r.Failed != 4 {
		t.Fatalf("failed=%d errors=%v", r.Failed, r.Errors)
	}
}

func TestMessageShape(t *testing.T) {
	g := newMsgGen("a@x.test", "b@y.test", 102400)
	h1, b1 := g.message(1)
	h2, _ := g.message(2)
	if len(h1)+len(b1) != 102400 || len(h1) != len(h2) {
		t.Fatalf("sizes %d+%d, %d", len(h1), len(b1), len(h2))
	}
	if bytes.Equal(h1, h2) {
		t.Fatal("headers (Message-ID) must differ")
	}
	msg := string(h1) + string(b1)
	if !strings.HasSuffix(msg, "\r\n") || !strings.Contains(string(h1), "\r\nMessage-ID: <") {
		t.Fatal("malformed message")
	}
	for _, line := range strings.Split(msg, "\r\n") {
		if len(line) > 998 || strings.HasPrefix(line, ".") || strings.ContainsAny(line, "\r\n") {
			t.Fatalf("bad line %q", line)
		}
	}
	for n := 0; n < 200; n++ {
		if b := makeBody(n); n >= 2 && len(b) != n {
			t.Fatalf("makeBody(%d) = %d bytes", n, len(b))
		}
	}
}

func TestLists(t *testing.T) {
	if v, err := intList("1,10, 50"); err != nil || len(v) != 3 || v[2] != 50 {
		t.Fatal(v, err)
	}
	if _, err := intList("1,x"); err == nil {
		t.Fatal("want error")
	}
	if checkLoopback("127.0.0.1:25") != nil || checkLoopback("[::1]:25") != nil || checkLoopback("10.0.0.1:25") == nil {
		t.Fatal("loopback check")
	}
}
