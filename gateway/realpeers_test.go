package gateway

// Real peers: Debian's Postfix as the company MTA in front, and Debian's
// Dovecot LMTP as the mailbox server behind, each a private instance
// started by the test (own config and queue or state folders under
// t.TempDir(), loopback, free ports, never the system service or port
// 25), waited for by polling its port and stopped in t.Cleanup. They need
// root (both daemons drop privileges from it) and the packages, which
// .ci/run installs; without them the tests skip with a note.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"supportgate/mailtest"
	"supportgate/senderauth/authtest"
)

// needDaemon skips unless running as root with every command installed.
func needDaemon(t *testing.T, cmds ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no real daemons")
	}
	if os.Geteuid() != 0 {
		t.Skipf("skipped: needs root to run a private %s (as .ci/run does)", strings.Join(cmds, ", "))
	}
	for _, c := range cmds {
		if daemon(c) == "" {
			t.Skipf("skipped: %s not installed (Debian package: postfix / dovecot-lmtpd; .ci/run installs them)", c)
		}
	}
}

// daemon finds a command on PATH or in /usr/sbin (a root shell's PATH
// may lack it); "" when missing.
func daemon(c string) string {
	if p, err := exec.LookPath(c); err == nil {
		return p
	}
	if p := filepath.Join("/usr/sbin", c); fileExists(p) {
		return p
	}
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// chownTo gives dir to a system user (and its group) the daemon runs as.
func chownTo(t *testing.T, dir, name string) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Skipf("skipped: no %s user (is the package installed?): %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
}

// openDir makes a test folder (and its parent) traversable by the
// daemons' unprivileged users.
func openDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	os.Chmod(filepath.Dir(d), 0o755)
	os.Chmod(d, 0o755)
	return d
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitPort polls until something accepts on addr.
func waitPort(t *testing.T, addr, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never listened on %s", what, addr)
}

// postfix is a private Postfix instance.
type postfix struct {
	conf, spool, log string
	addr             string
}

// startPostfix runs Postfix on 127.0.0.1:<free port> relaying the support
// domain to supportgate at gw, from 127.0.0.1, as a company MTA would.
func startPostfix(t *testing.T, gw string) *postfix {
	t.Helper()
	base := openDir(t)
	p := &postfix{conf: filepath.Join(base, "conf"), spool: filepath.Join(base, "spool"), log: filepath.Join(base, "maillog")}
	data := filepath.Join(base, "data")
	for _, d := range []string{p.conf, p.spool, data} {
		os.MkdirAll(d, 0o755)
	}
	chownTo(t, data, "postfix")
	gwHost, gwPort, _ := net.SplitHostPort(gw)
	port := freeLoopbackPort(t)
	p.addr = fmt.Sprintf("127.0.0.1:%d", port)
	main := fmt.Sprintf(`compatibility_level = 3.6
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
queue_directory = %s
data_directory = %s
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.company.test
mydomain = company.test
myorigin = $myhostname
mydestination =
local_recipient_maps =
local_transport = error:local delivery disabled
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
smtpd_peername_lookup = no
relay_domains = example.com
relay_recipient_maps = inline:{ support@example.com=ok }
transport_maps = inline:{ example.com=smtp:[%s]:%s }
smtp_bind_address = 127.0.0.1
smtp_destination_recipient_limit = 50
# TLS on the hop: mandatory (the gateway has require_tls on)
smtp_tls_security_level = encrypt
default_transport = error:no route off loopback in this test
relay_transport = error:no route off loopback in this test
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
maillog_file = %s
maillog_file_prefixes = %s
smtputf8_enable = no
biff = no
`, p.spool, data, gwHost, gwPort, p.log, base)
	master := fmt.Sprintf(`%s inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`, p.addr)
	os.WriteFile(filepath.Join(p.conf, "main.cf"), []byte(main), 0o644)
	os.WriteFile(filepath.Join(p.conf, "master.cf"), []byte(master), 0o644)
	if out, err := exec.Command(daemon("postfix"), "-c", p.conf, "check").CombinedOutput(); err != nil {
		t.Fatalf("postfix check: %v\n%s", err, out)
	}
	if out, err := exec.Command(daemon("postfix"), "-c", p.conf, "start").CombinedOutput(); err != nil {
		maillog, _ := os.ReadFile(p.log)
		t.Fatalf("postfix start: %v\n%s\n%s", err, out, maillog)
	}
	t.Cleanup(p.stop)
	waitPort(t, p.addr, "postfix")
	return p
}

// stop stops the instance's own master (postfix stop, then its pid).
func (p *postfix) stop() {
	pid := 0
	if b, err := os.ReadFile(filepath.Join(p.spool, "pid", "master.pid")); err == nil {
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	exec.Command(daemon("postfix"), "-c", p.conf, "stop").Run()
	for i := 0; pid > 0 && i < 100; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	if pid > 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func (p *postfix) maillog() string { b, _ := os.ReadFile(p.log); return string(b) }

// sendFrom delivers msg to addr from the local address src.
func sendFrom(src, addr, from, rcpt, msg string) error {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("client.customer.test"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// A real Postfix in front, relaying from 127.0.0.1 (trusted, over
// mandatory TLS: the gateway's require_tls, Postfix's
// smtp_tls_security_level = encrypt) what it got
// from the customer's server at 127.0.0.2. SPF (and DMARC, with
// reject_dmarc on and p=reject) are checked against 127.0.0.2, the
// original client: the customer's domain authorises only it. The
// gateway's per-IP and per-sender limits are tight here (2 at once, 10 a
// minute, 5 per sender); none is hit by 200 messages from the relay.
func TestRealPostfixInFront(t *testing.T) {
	needDaemon(t, "postfix")
	if c, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).Dial("tcp", "127.0.0.1:1"); err != nil && strings.Contains(err.Error(), "assign requested address") {
		t.Skip("skipped: cannot send from 127.0.0.2 here")
	} else if c != nil {
		c.Close()
	}
	dns := authtest.NewDNS(t)
	dns.TXT("customer.test", "v=spf1 ip4:127.0.0.2 -all")
	dns.TXT("_dmarc.customer.test", "v=DMARC1; p=reject")

	e := &env{t: t, dir: t.TempDir(), upstream: mailtest.Start(t, false), smarthost: mailtest.Start(t, false)}
	e.quiet = true // 200 messages: the log would drown a failure
	cfg := baseConfig(e.dir, e.upstream.Addr(), e.smarthost.Addr(),
		"[auth]\nautoreply = \"not-fail\"\nreject_dmarc = true\ntimeout = \"2s\"\nresolver = \""+dns.Addr()+"\"\n")
	cert, key, _ := selfSigned(t, e.dir, "hop")
	cfg = strings.Replace(cfg, "max_messages_per_sender = 0", `max_messages_per_sender = 5
max_connections_per_ip = 2
max_connections_per_minute = 10
trusted_relays = ["127.0.0.1"]
require_tls = true
tls_cert = "`+cert+`"
tls_key = "`+key+`"`, 1)
	e.startText(cfg)
	pf := startPostfix(t, e.g.SMTPAddr())

	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	for range 10 {
		wg.Go(func() {
			for i := range next {
				msg := fmt.Sprintf("From: Clara <c@customer.test>\r\nTo: support@example.com\r\nSubject: request %d\r\nMessage-ID: <pf%d.%d@customer.test>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\nhello %d\r\n", i, i, time.Now().UnixNano(), i)
				if err := sendFrom("127.0.0.2", pf.addr, "c@customer.test", "support@example.com", msg); err != nil {
					errs <- fmt.Errorf("message %d to postfix: %w", i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	deadline := time.Now().Add(120 * time.Second)
	for len(e.upstream.Messages()) < n && time.Now().Before(deadline) {
		e.upstream.Wait(len(e.upstream.Messages())+1, 5*time.Second)
	}
	got := e.upstream.Messages()
	if len(got) != n {
		t.Fatalf("upstream got %d of %d through Postfix\nmaillog tail:\n%s", len(got), n, tail(pf.maillog(), 30))
	}
	for _, m := range got {
		ar := arFields(m.Data)
		if len(ar) != 1 || !strings.Contains(ar[0], "spf=pass") || !strings.Contains(ar[0], "smtp.remote-ip=127.0.0.2") || !strings.Contains(ar[0], "dmarc=pass") {
			t.Fatalf("A-R %q: want spf=pass and dmarc=pass for the original client 127.0.0.2", ar)
		}
		if !bytes.Contains(m.Data, []byte("(Postfix)")) || !bytes.Contains(m.Data, []byte("(supportgate) with ESMTPS")) {
			t.Fatalf("not relayed by Postfix over TLS:\n%s", m.Data)
		}
	}
	// Postfix delivered every message at its first attempt: no 4xx from
	// a limit, no 5xx from DMARC.
	log := pf.maillog()
	if d := strings.Count(log, "status=deferred") + strings.Count(log, "status=bounced"); d != 0 {
		t.Errorf("%d deferred or bounced deliveries in Postfix's log:\n%s", d, tail(log, 30))
	}
	if s := strings.Count(log, "status=sent"); s != n {
		t.Errorf("Postfix logged %d sent, want %d", s, n)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// dovecot is a private Dovecot running LMTP only.
type dovecot struct {
	t                *testing.T
	conf, mail, logf string
	addr             string
	cmd              *exec.Cmd
}

func newDovecot(t *testing.T) *dovecot {
	t.Helper()
	base := openDir(t)
	d := &dovecot{t: t, conf: filepath.Join(base, "dovecot.conf"), mail: filepath.Join(base, "mail"), logf: filepath.Join(base, "dovecot.log")}
	for _, s := range []string{"run", "state", "mail"} {
		os.MkdirAll(filepath.Join(base, s), 0o755)
	}
	chownTo(t, d.mail, "nobody")
	d.addr = fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))
	_, port, _ := net.SplitHostPort(d.addr)
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[2]s
protocols = lmtp
listen = 127.0.0.1
ssl = no
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:~/Maildir
# CRLF as received, so the stored file can be compared byte for byte
mail_save_crlf = yes
auth_username_format = %%Ln
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=%[3]s/%%n
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = %[4]s
  }
}
`, base, d.logf, d.mail, port)
	os.WriteFile(d.conf, []byte(conf), 0o644)
	t.Cleanup(d.stop)
	return d
}

func (d *dovecot) start() {
	d.t.Helper()
	d.cmd = exec.Command(daemon("dovecot"), "-F", "-c", d.conf)
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	waitPort(d.t, d.addr, "dovecot lmtp")
}

// stop ends the master (it stops its children) and waits for it.
func (d *dovecot) stop() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-done
	}
	d.cmd = nil
	// The listening socket is gone once a connect is refused.
	for i := 0; i < 100; i++ {
		c, err := net.DialTimeout("tcp", d.addr, 200*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(50 * time.Millisecond)
	}
}

// delivered returns the files in user's maildir (new and cur).
func (d *dovecot) delivered(user string) [][]byte {
	var out [][]byte
	for _, sub := range []string{"new", "cur"} {
		files, _ := filepath.Glob(filepath.Join(d.mail, user, "Maildir", sub, "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err == nil {
				out = append(out, b)
			}
		}
	}
	return out
}

// stripTop removes the header fields named in names from the top of msg,
// as long as they come first, and returns them with the rest.
func stripTop(msg []byte, names ...string) (removed []string, rest []byte) {
	for {
		line, after, ok := bytes.Cut(msg, []byte("\r\n"))
		if !ok {
			return removed, msg
		}
		name, _, _ := bytes.Cut(line, []byte(":"))
		match := false
		for _, n := range names {
			if strings.EqualFold(string(name), n) {
				match = true
			}
		}
		if !match {
			return removed, msg
		}
		field := string(line)
		msg = after
		for len(msg) > 0 && (msg[0] == ' ' || msg[0] == '\t') {
			l, a, _ := bytes.Cut(msg, []byte("\r\n"))
			field += "\r\n" + string(l)
			msg = a
		}
		removed = append(removed, field)
	}
}

// The original as a customer's client would send it: 8-bit UTF-8, a
// line starting with a dot, trailing white space, an attachment.
func awkwardMessage(id string) string {
	return "From: =?utf-8?B?0JjQstCw0L0=?= <ivan@customer.test>\r\nTo: support@example.com\r\n" +
		"Subject: =?utf-8?B?0J3QtSDQv9C10YfQsNGC0LDQtdGC?=\r\nMessage-ID: <" + id + "@customer.test>\r\n" +
		"Date: Tue, 01 Dec 2026 10:00:00 +0300\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		"Здравствуйте! Принтер не печатает.   \r\n.a line that starts with a dot\r\n..two dots\r\n\r\n" +
		"--b1\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n--b1--\r\n"
}

// startWithDovecot runs the gateway with a real Dovecot LMTP as the
// mailbox server.
func startWithDovecot(t *testing.T) (*env, *dovecot) {
	needDaemon(t, "dovecot")
	d := newDovecot(t)
	d.start()
	e := &env{t: t, dir: t.TempDir(), upstream: mailtest.Start(t, false), smarthost: mailtest.Start(t, false)}
	cfg := baseConfig(e.dir, d.addr, e.smarthost.Addr(), "[auth]\nautoreply = \"off\"\n[autoreply]\nenabled = false\n")
	cfg = strings.Replace(cfg, "[upstream]\n", "[upstream]\nprotocol = \"lmtp\"\n", 1)
	e.startText(cfg)
	return e, d
}

// A real Dovecot LMTP as the mailbox: the message lands in the maildir
// once, byte for byte as the customer sent it apart from the header
// fields Dovecot and we put on top.
func TestRealDovecotLMTPDelivery(t *testing.T) {
	e, d := startWithDovecot(t)
	orig := awkwardMessage("dv1")
	if err := send(t, e.g.SMTPAddr(), "ivan@customer.test", []string{"support@example.com"}, orig); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
	files := d.delivered("support")
	if len(files) != 1 {
		log, _ := os.ReadFile(d.logf)
		t.Fatalf("%d files in the maildir, want 1\n%s", len(files), log)
	}
	removed, rest := stripTop(files[0], "Return-Path", "Delivered-To", "Received")
	if string(rest) != orig {
		t.Errorf("stored message differs from the original past the top fields\n--- stored:\n%q\n--- sent:\n%q", rest, orig)
	}
	var ours, theirs int
	for _, f := range removed {
		switch {
		case strings.Contains(f, "(supportgate)"):
			ours++
		case strings.Contains(f, "LMTP"):
			theirs++
		}
	}
	if ours != 1 || theirs != 1 {
		t.Errorf("top fields %q: want one Received of ours and one of Dovecot's", removed)
	}
}

// Dovecot stopped while a message waits, then started: delivered once.
func TestRealDovecotRestartDeliversOnce(t *testing.T) {
	e, d := startWithDovecot(t)
	if err := send(t, e.g.SMTPAddr(), "ivan@customer.test", []string{"support@example.com"}, awkwardMessage("dv2a")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(d.delivered("support")) == 1 }, "first message delivered")
	d.stop()
	if err := send(t, e.g.SMTPAddr(), "ivan@customer.test", []string{"support@example.com"}, awkwardMessage("dv2b")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return jobAttempts(t, e, "forward") >= 2 }, "failed attempts while Dovecot is down")
	d.start()
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty after Dovecot is back")
	files := d.delivered("support")
	n := 0
	for _, f := range files {
		if bytes.Contains(f, []byte("<dv2b@customer.test>")) {
			n++
		}
	}
	if len(files) != 2 || n != 1 {
		t.Fatalf("%d files, %d of the second message; want 2 and 1", len(files), n)
	}
}
