// Command bigmail sends N messages at once, each a short text and one
// base64 attachment of -size bytes, the shape that makes a Bitrix24 task
// job upload a big file (bench/rss-tasks.sh measures supportgate's peak
// memory with it).
package main

import (
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2625", "SMTP server")
	n := flag.Int("n", 50, "messages, all sent at once")
	size := flag.Int("size", 20<<20, "attachment size in bytes (before base64)")
	to := flag.String("to", "support@bench.test", "recipient")
	flag.Parse()

	data := make([]byte, *size)
	rand.Read(data)
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for i := 0; i < len(enc); i += 76 {
		b.WriteString(enc[i:min(i+76, len(enc))])
		b.WriteString("\r\n")
	}
	att := b.String()

	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for i := range *n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := fmt.Sprintf("c%d@customer%d.test", i, i)
			msg := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: scan %d\r\nMessage-ID: <big%d.%d@bigmail.test>\r\nMIME-Version: 1.0\r\n"+
				"Content-Type: multipart/mixed; boundary=BIG\r\n\r\n--BIG\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe scan is attached.\r\n"+
				"--BIG\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"scan-%d.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
				from, *to, i, i, start.UnixNano(), i)
			err := send(*addr, from, *to, msg+att+"--BIG--\r\n")
			if err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
				log.Printf("message %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("bigmail: %d messages of %d-byte attachments sent in %.1fs, %d failed\n", *n, *size, time.Since(start).Seconds(), failed)
	if failed > 0 {
		os.Exit(1)
	}
}

// send is one plain SMTP transaction (smtp.SendMail insists on STARTTLS).
func send(addr, from, to, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("bigmail.test"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
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
