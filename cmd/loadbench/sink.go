package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
)

// hasTaskLink reads the decoded text parts for a task link.
var taskNumber = regexp.MustCompile(`(?i)(номер обращения|request number):\s*(<b>)?#\d+`)

func hasTaskLink(raw []byte) bool {
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return false
	}
	for {
		p, err := mr.NextPart()
		if err != nil {
			return false
		}
		if _, ok := p.Header.(*gomail.InlineHeader); ok {
			b, _ := io.ReadAll(p.Body)
			// The default letters name the number ("Номер обращения: #101",
			// "request number: #101"); an internal template may link it.
			if taskNumber.Match(b) || bytes.Contains(b, []byte("/tasks/task/view/")) {
				return true
			}
		}
	}
}

// got is one message a sink received.
type got struct {
	at        time.Time
	rcpts     []string
	messageID string
	inReplyTo string
	autoReply bool
	subject   string
	taskLink  bool // the text links a Bitrix24 task (an auto-reply with the number)
}

// sink is an SMTP server on loopback that records what arrives: the
// upstream mailbox (forwards) or the smarthost (replies, notifications).
type sink struct {
	srv  *smtp.Server
	addr string

	mu   sync.Mutex
	msgs []got
	wake chan struct{}
}

func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{addr: ln.Addr().String(), wake: make(chan struct{}, 1)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	srv.Domain = "sink.bench"
	srv.AllowInsecureAuth = true
	srv.EnableSMTPUTF8 = true
	srv.MaxMessageBytes = 64 << 20
	srv.ErrorLog = quiet{}
	s.srv = srv
	go srv.Serve(ln)
	return s, nil
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}
func (quiet) Println(...any)        {}

func (s *sink) close() { s.srv.Close() }

func (s *sink) all() []got {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]got(nil), s.msgs...)
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

type sinkSession struct {
	s     *sink
	rcpts []string
}

func (x *sinkSession) Reset()        { x.rcpts = nil }
func (x *sinkSession) Logout() error { return nil }
func (x *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	return nil
}
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.rcpts = append(x.rcpts, strings.ToLower(to))
	return nil
}

func (x *sinkSession) Data(r io.Reader) error {
	at := time.Now()
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil
	}
	g := got{at: at, rcpts: x.rcpts, taskLink: hasTaskLink(raw),
		messageID: strings.Trim(m.Header.Get("Message-ID"), "<> "),
		inReplyTo: strings.Trim(m.Header.Get("In-Reply-To"), "<> "),
		autoReply: m.Header.Get("Auto-Submitted") != "",
		subject:   m.Header.Get("Subject"),
	}
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, g)
	x.s.mu.Unlock()
	select {
	case x.s.wake <- struct{}{}:
	default:
	}
	return nil
}
