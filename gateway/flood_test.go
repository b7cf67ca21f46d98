package gateway

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// floodEnv starts a gateway whose [smtp] gets extra lines.
func floodEnv(t *testing.T, smtpExtra, extra, upstream string) *env {
	up := newEnv(t, "")
	up.stop()
	e := &env{t: t, dir: t.TempDir(), upstream: up.upstream, smarthost: up.smarthost}
	if upstream == "" {
		upstream = e.upstream.Addr()
	}
	cfg := strings.Replace(baseConfig(e.dir, upstream, e.smarthost.Addr(), extra+"\n[auth]\nautoreply = \"off\"\n"),
		"max_messages_per_sender = 0", "max_messages_per_sender = 0\n"+smtpExtra, 1)
	e.startText(cfg)
	return e
}

// 300 forged senders on one connection (issue 14 got 300 replies in
// 20 s): the per-client cap lets 20 through, and every message is still
// accepted and forwarded.
func TestReplyCapPerClient(t *testing.T) {
	e := floodEnv(t, "max_messages_per_connection = 0\nmax_messages_per_ip = 0", "", "")
	c, err := smtp.Dial(e.g.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("flood.test"); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		from := fmt.Sprintf("v%d@nospf%d.test", i, i)
		if err := c.Mail(from, nil); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if err := c.Rcpt("support@example.com", nil); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, plainMsg(from, "support@example.com", fmt.Sprintf("forged %d", i), "hello"))
		if err := w.Close(); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	c.Quit()
	waitLong(t, func() bool { return len(e.upstream.Messages()) == n }, "all forwarded")
	waitLong(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
	if got := len(replies(e)); got != 20 {
		t.Fatalf("%d auto-replies for %d senders from one client, want 20 (autoreply.max_per_client)", got, n)
	}
}

// max_messages_per_connection: past it MAIL gets 451 4.7.1; a new
// connection goes on (up to the per-IP hourly cap).
func TestMessagesPerConnectionAndIP(t *testing.T) {
	e := floodEnv(t, "max_messages_per_connection = 3\nmax_messages_per_ip = 5", "", "")
	var se *smtp.SMTPError
	c, err := smtp.Dial(e.g.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	c.Hello("flood.test")
	for i := 1; i <= 4; i++ {
		err := c.Mail(fmt.Sprintf("s%d@customer.test", i), nil)
		if i <= 3 && err != nil {
			t.Fatalf("MAIL %d: %v", i, err)
		}
		if i == 4 && (!errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != smtp.EnhancedCode{4, 7, 1}) {
			t.Fatalf("MAIL 4 on one connection: %v, want 451 4.7.1", err)
		}
		c.Reset()
	}
	c.Close()
	for i := 1; i <= 3; i++ {
		err := send(t, e.g.SMTPAddr(), "x@customer.test", []string{"support@example.com"}, plainMsg("x@customer.test", "support@example.com", "x", "y"))
		if i <= 2 && err != nil {
			t.Fatalf("message %d on a new connection: %v", i, err)
		}
		if i == 3 && (!errors.As(err, &se) || se.Code != 451) {
			t.Fatalf("sixth MAIL from one IP in the hour: %v, want 451", err)
		}
	}
}

// 20 sessions, each 5 MB, at once, against max_queue_bytes = 10 MiB
// (issue 14: all got 250 and the queue reached 100 MB). With the
// upstream down nothing leaves the queue: what was accepted stays under
// the cap plus one message.
func TestQueueByteCapUnderConcurrency(t *testing.T) {
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	const size, limit = 5 << 20, 10 << 20
	e := floodEnv(t, "", "", deadAddr)
	text := strings.Replace(baseConfig(e.dir, deadAddr, e.smarthost.Addr(), "\n[auth]\nautoreply = \"off\"\n"),
		"max_message_bytes = 1048576", "max_message_bytes = 6291456", 1)
	text = strings.Replace(text, "[storage]\n", fmt.Sprintf("[storage]\nmax_queue_bytes = %d\n", limit), 1)
	e.stop()
	e.dir = t.TempDir()
	e.startText(strings.ReplaceAll(text, "/state", "/state2"))

	body := strings.Repeat(strings.Repeat("x", 998)+"\r\n", size/1000)
	msg := plainMsg("big@customer.test", "support@example.com", "big", body)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, refused := 0, 0
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := sendOpts(e.g.SMTPAddr(), "big@customer.test", msg, i%2 == 0)
			mu.Lock()
			defer mu.Unlock()
			var se *smtp.SMTPError
			switch {
			case err == nil:
				accepted++
			case errors.As(err, &se) && se.Code == 451:
				refused++
			default:
				t.Errorf("session %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	st, err := e.g.Store.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("accepted %d, refused %d, queue %d bytes", accepted, refused, st.SpoolBytes)
	if accepted == 0 || accepted+refused != 20 {
		t.Fatalf("accepted %d refused %d", accepted, refused)
	}
	if st.SpoolBytes > limit+int64(len(msg)) || int64(accepted*len(msg)) > limit+int64(len(msg)) {
		t.Fatalf("queue holds %d bytes (%d messages) against a cap of %d", st.SpoolBytes, accepted, limit)
	}
}

// sendOpts sends one message, announcing its size when withSize.
func sendOpts(addr, from, msg string, withSize bool) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		return err
	}
	var opts *smtp.MailOptions
	if withSize {
		opts = &smtp.MailOptions{Size: int64(len(msg))}
	}
	if err := c.Mail(from, opts); err != nil {
		return err
	}
	if err := c.Rcpt("support@example.com", nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
