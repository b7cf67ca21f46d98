// Command devmail is the demo's stand-in for the real mailbox server and
// the smarthost: an SMTP (or LMTP) server on loopback that accepts every
// message and prints it, so a newcomer sees what supportgate forwards and
// sends without any outside server.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:2526", "address to listen on")
	lmtp := flag.Bool("lmtp", false, "speak LMTP instead of SMTP")
	full := flag.Bool("full", false, "print whole messages as received (raw MIME), not the header and decoded text")
	flag.Parse()
	var mu sync.Mutex
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &sess{mu: &mu, full: *full}, nil
	})
	s := smtp.NewServer(be)
	s.Addr, s.Domain, s.LMTP = *listen, "devmail.local", *lmtp
	s.AllowInsecureAuth = true
	s.EnableSMTPUTF8 = true
	log.Printf("devmail: listening on %s (lmtp=%v); every message is printed here", *listen, *lmtp)
	if err := s.ListenAndServe(); err != nil {
		log.Fatal(err)
	}
}

type sess struct {
	mu    *sync.Mutex
	full  bool
	from  string
	rcpts []string
}

func (s *sess) Reset()        { s.from, s.rcpts = "", nil }
func (s *sess) Logout() error { return nil }
func (s *sess) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *sess) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *sess) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Printf("\n===== %s  MAIL FROM:<%s>  RCPT TO:%s  %d bytes\n", time.Now().Format("15:04:05"), s.from, strings.Join(s.rcpts, ","), len(b))
	if s.full {
		os.Stdout.Write(b)
		fmt.Println()
		return nil
	}
	// The header as sent, then each text/plain part decoded (the
	// auto-reply's text says the task number; its HTML and logo are
	// base64 or quoted-printable and unreadable raw) and each attachment
	// by name.
	if i := bytes.Index(b, []byte("\r\n\r\n")); i > 0 {
		os.Stdout.Write(b[:i])
		fmt.Println()
	}
	printParts(b)
	return nil
}

// printParts prints the decoded text/plain parts of a message (each cut
// at 4 KB) and names the other parts; a message go-message cannot read
// is left at its header.
func printParts(raw []byte) {
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		fmt.Printf("----- (body not shown: %v)\n", err)
		return
	}
	for {
		p, err := mr.NextPart()
		if err != nil {
			if err != io.EOF {
				fmt.Printf("----- (the rest not shown: %v)\n", err)
			}
			return
		}
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := h.ContentType()
			if ct != "text/plain" {
				fmt.Printf("----- %s (not shown; devmail -full prints it raw)\n", ct)
				continue
			}
			text, _ := io.ReadAll(io.LimitReader(p.Body, 4096))
			fmt.Printf("----- text/plain, decoded:\n%s\n", strings.TrimRight(string(text), "\r\n"))
		case *mail.AttachmentHeader:
			name, _ := h.Filename()
			ct, _, _ := h.ContentType()
			fmt.Printf("----- attachment %q (%s)\n", name, ct)
		}
	}
}
