// Command smtpload drives parallel SMTP sessions against one server and reports
// accepted messages/s and accept latency (p50/p99/max), so supportgate and
// Postfix can be measured with the same client. With -sink it is instead a
// discard-everything SMTP server (the upstream in bench/run.sh).
//
// Latency runs from connect (-mode conn, a new TCP connection per message as
// smtp-source does) or from MAIL (-mode reuse) to the 250 after DATA.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(realMain(os.Args[1:]))
}

func realMain(args []string) int {
	fs := flag.NewFlagSet("smtpload", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:2525", "target SMTP server host:port")
	label := fs.String("label", "", "target name in the output (default: -addr)")
	concs := fs.String("c", "1", "concurrent sessions, or a list: 1,10,50")
	n := fs.Int("n", 1000, "messages per run (0 = unlimited, needs -d; ignored default when only -d is given)")
	dur := fs.Duration("d", 0, "wall-clock limit per run (0 = none, needs -n)")
	sizes := fs.String("size", "4096", "message size in bytes incl. headers, or a list: 4096,102400")
	mode := fs.String("mode", "conn", "conn: new TCP connection per message; reuse: one session per worker")
	from := fs.String("from", "load@smtpload.test", "envelope sender")
	to := fs.String("to", "support@bench.test", "envelope recipient (one the target accepts)")
	ehlo := fs.String("ehlo", "smtpload.test", "EHLO name")
	timeout := fs.Duration("timeout", 60*time.Second, "bound on connect, each reply, and each whole message")
	asJSON := fs.Bool("json", false, "one JSON line per run instead of a table")
	remote := fs.Bool("allow-remote", false, "allow a non-loopback -addr (this is a load generator)")
	sinkMode := fs.Bool("sink", false, "run as a discarding SMTP sink instead of a load generator")
	listen := fs.String("listen", "127.0.0.1:2526", "sink: listen address")
	sinkMax := fs.Int64("sink-max-bytes", 0, "sink: max message size (0 = unlimited)")
	sinkEvery := fs.Duration("sink-every", 0, "sink: also print counts at this interval (0 = only at exit)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// -d alone means "run for d": the default -n must not cut it short.
	nSet := false
	fs.Visit(func(f *flag.Flag) { nSet = nSet || f.Name == "n" })
	if *dur > 0 && !nSet {
		*n = 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *sinkMode {
		return runSink(ctx, *listen, *sinkMax, *sinkEvery)
	}

	cs, err1 := intList(*concs)
	ss, err2 := intList(*sizes)
	if err := errors.Join(err1, err2); err != nil {
		fmt.Fprintln(os.Stderr, "smtpload:", err)
		return 2
	}
	switch {
	case *mode != "conn" && *mode != "reuse":
		fmt.Fprintln(os.Stderr, "smtpload: -mode must be conn or reuse")
		return 2
	case *n <= 0 && *dur <= 0:
		fmt.Fprintln(os.Stderr, "smtpload: need -n > 0 or -d > 0, a run must end by itself")
		return 2
	case *timeout <= 0:
		fmt.Fprintln(os.Stderr, "smtpload: -timeout must be > 0")
		return 2
	}
	if err := checkLoopback(*addr); err != nil && !*remote {
		fmt.Fprintln(os.Stderr, "smtpload:", err, "(use -allow-remote to override)")
		return 2
	}
	if *label == "" {
		*label = *addr
	}
	t := target{addr: *addr, label: *label, from: *from, to: *to, ehlo: *ehlo, mode: *mode, timeout: *timeout}

	if !*asJSON {
		printHeader(os.Stdout)
	}
	rc := 0
	for _, size := range ss {
		for _, c := range cs {
			if ctx.Err() != nil {
				return 130
			}
			r := run(ctx, t, runSpec{conc: c, size: size, n: max(*n, 0), dur: *dur})
			if *asJSON {
				_ = printJSON(os.Stdout, r)
			} else {
				printRow(os.Stdout, r)
			}
			if r.Accepted == 0 {
				rc = 1 // nothing got through: the caller should notice
			}
		}
	}
	return rc
}

// intList parses "1,10,50" (spaces allowed, so shell lists "1 10 50" work too).
func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad list element %q in %q", f, s)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty list %q", s)
	}
	return out, nil
}

// checkLoopback refuses targets that are not literal loopback addresses or
// "localhost", so a typo cannot point a load generator at a real server.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("target %s is not loopback", addr)
}

// runSink serves until ctx is cancelled (SIGINT/SIGTERM), then prints the
// final counts on stdout so a driver script can read them.
func runSink(ctx context.Context, listen string, maxBytes int64, every time.Duration) int {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "smtpload -sink:", err)
		return 1
	}
	s := &sink{}
	srv := s.serve(l, maxBytes)
	report := func() { fmt.Printf("sink messages=%d bytes=%d\n", s.msgs.Load(), s.bytes.Load()) }
	var tick <-chan time.Time
	if every > 0 {
		tk := time.NewTicker(every)
		defer tk.Stop()
		tick = tk.C
	}
	for {
		select {
		case <-tick:
			report()
		case <-ctx.Done():
			_ = srv.Close()
			report()
			return 0
		}
	}
}
