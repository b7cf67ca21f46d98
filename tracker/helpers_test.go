package tracker

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"mime"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"supportgate/bitrix"
	"supportgate/bitrix/bitrixtest"
	"supportgate/mailparse"
	"supportgate/queue"
	"supportgate/relay"
	"supportgate/rules"
	"supportgate/store"

	bolt "go.etcd.io/bbolt"
)

const (
	testToken   = "app-token-123"
	testMailbox = "support@example.com"
)

// env is a tracker wired to a fake portal, a real store and a real runner.
type env struct {
	t      *testing.T
	portal *bitrixtest.Portal
	st     *store.Store
	cfg    *rules.Holder
	run    *queue.Runner
	tr     *Tracker
	srv    *httptest.Server // the tracker's event endpoint
}

func newEnv(t *testing.T, mod func(*rules.Config), opts bitrix.Options) *env {
	t.Helper()
	p := bitrixtest.New(t)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := rules.Defaults()
	c.SMTP.Hostname = "mx.example.com"
	c.Mailbox = []rules.Mailbox{{Address: testMailbox}}
	c.Bitrix.WebhookURL = p.WebhookURL()
	c.Bitrix.ResponsibleID = p.UserID()
	c.Bitrix.ApplicationToken = testToken
	c.Bitrix.FolderID = p.FolderID()
	c.Bitrix.RatePerSecond = 1000
	c.Bitrix.Task = map[string]any{"GROUP_ID": int64(7), "TAGS": []any{"support"}, "UF_AUTO_1": "mail"}
	c.Queue.GiveUpAfter = rules.Duration(time.Hour)
	if mod != nil {
		mod(&c)
	}
	h := rules.NewHolder(&c)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	run := queue.New(st, log, 4, queue.Policy{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond, GiveUp: time.Hour})
	// Outbound mail stays queued: the tests read it from the store.
	run.Handle(relay.KindSend, func(context.Context, *store.Job) error { return queue.Later(time.Hour, "test") }, nil)
	tr, err := New(h, st, run, log)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.RetryWait == 0 {
		opts.RetryWait = 5 * time.Millisecond
	}
	tr.opts = opts
	tr.key = "" // rebuild the client with opts
	if err := tr.Reload(); err != nil {
		t.Fatal(err)
	}
	tr.Register()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { run.Run(ctx); close(done) }()
	srv := httptest.NewServer(tr.EventHandler())
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		st.Close()
	})
	return &env{t: t, portal: p, st: st, cfg: h, run: run, tr: tr, srv: srv}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

type file struct {
	name, ctype string
	data        []byte
}

// buildMail writes a MIME message: text/plain plus attachments with
// RFC 2231-encoded names.
func buildMail(from, subject, msgID, inReplyTo, text string, files ...file) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: <%s>\r\n", from, testMailbox)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.BEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Message-ID: <%s>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0300\r\nMIME-Version: 1.0\r\n", msgID)
	if inReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", inReplyTo, inReplyTo)
	}
	b.WriteString("Content-Type: multipart/mixed; boundary=\"BOUND\"\r\n\r\n")
	b.WriteString("--BOUND\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	b.WriteString(wrap(base64.StdEncoding.EncodeToString([]byte(text))))
	for _, f := range files {
		b.WriteString("--BOUND\r\n")
		fmt.Fprintf(&b, "Content-Type: %s\r\n", f.ctype)
		fmt.Fprintf(&b, "Content-Disposition: %s\r\n", mime.FormatMediaType("attachment", map[string]string{"filename": f.name}))
		b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
		b.WriteString(wrap(base64.StdEncoding.EncodeToString(f.data)))
	}
	b.WriteString("--BOUND--\r\n")
	return b.Bytes()
}

func wrap(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return b.String() + s + "\r\n"
}

// newThread records a first message as the pipeline does: the thread
// with the message's id, the spooled message, and a task job on it.
func (e *env) newThread(raw []byte, requester, name string) (*store.Thread, *store.Job) {
	e.t.Helper()
	pm, _ := mailparse.Parse(bytes.NewReader(raw), mailparse.Limits{})
	th := &store.Thread{Mailbox: testMailbox, Requester: requester, RequesterName: name, Subject: pm.Subject}
	th.AddParticipant(requester)
	var j *store.Job
	e.spool(raw, requester, func(tx *bolt.Tx) (*store.Job, error) {
		if err := store.PutThread(tx, th); err != nil {
			return nil, err
		}
		if err := store.AddID(tx, th, pm.MessageID, store.IDIncoming); err != nil {
			return nil, err
		}
		j = TaskJob(th.ID)
		return j, store.PutThread(tx, th)
	})
	return th, j
}

// reply records a customer's follow-up in th and queues a comment job.
func (e *env) reply(th *store.Thread, raw []byte, from string) *store.Job {
	e.t.Helper()
	pm, _ := mailparse.Parse(bytes.NewReader(raw), mailparse.Limits{})
	var j *store.Job
	e.spool(raw, from, func(tx *bolt.Tx) (*store.Job, error) {
		cur, err := store.GetThread(tx, th.ID)
		if err != nil {
			return nil, err
		}
		if err := store.AddID(tx, cur, pm.MessageID, store.IDIncoming); err != nil {
			return nil, err
		}
		j = CommentJob(th.ID)
		return j, store.PutThread(tx, cur)
	})
	return j
}

func (e *env) spool(raw []byte, from string, fn func(tx *bolt.Tx) (*store.Job, error)) {
	e.t.Helper()
	id := store.NewID()
	if err := os.WriteFile(e.st.SpoolPath(id), raw, 0o600); err != nil {
		e.t.Fatal(err)
	}
	err := e.st.Update(func(tx *bolt.Tx) error {
		j, err := fn(tx)
		if err != nil {
			return err
		}
		m := &store.Message{ID: id, From: from, Rcpts: []string{testMailbox}, Size: int64(len(raw)), Received: time.Now()}
		if j == nil {
			return store.PutMessage(tx, m)
		}
		return store.PutMessage(tx, m, j)
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// idle waits until no tracker job is left.
func (e *env) idle() {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		jobs, err := e.st.Jobs()
		if err != nil {
			e.t.Fatal(err)
		}
		left := 0
		for _, j := range jobs {
			if j.Kind == KindTask || j.Kind == KindComment || j.Kind == KindNotify || j.Kind == KindFiles {
				left++
			}
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, j := range jobs {
				e.t.Logf("left: %s attempts=%d err=%s data=%s", j.Kind, j.Attempts, j.LastError, j.Data)
			}
			e.t.Fatalf("%d tracker jobs still queued", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) jobs(kind string) []*store.Job {
	e.t.Helper()
	jobs, err := e.st.Jobs()
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*store.Job
	for _, j := range jobs {
		if j.Kind == kind {
			out = append(out, j)
		}
	}
	return out
}

// outbound returns the messages queued for the smarthost, parsed.
func (e *env) outbound() []*mailparse.Message {
	e.t.Helper()
	var out []*mailparse.Message
	for _, j := range e.jobs(relay.KindSend) {
		raw, err := readBody(e.st, j.MsgID)
		if err != nil {
			e.t.Fatal(err)
		}
		pm, err := mailparse.Parse(bytes.NewReader(raw), mailparse.Limits{})
		if err != nil {
			e.t.Fatal(err)
		}
		var m *store.Message
		e.st.View(func(tx *bolt.Tx) (err error) { m, err = store.GetMessage(tx, j.MsgID); return })
		if m == nil || m.From != testMailbox {
			e.t.Errorf("outbound envelope: %+v, want MAIL FROM %s", m, testMailbox)
		}
		out = append(out, pm)
	}
	return out
}

func (e *env) thread(id string) *store.Thread {
	e.t.Helper()
	var th *store.Thread
	if err := e.st.View(func(tx *bolt.Tx) (err error) { th, err = store.GetThread(tx, id); return }); err != nil {
		e.t.Fatal(err)
	}
	return th
}

// fire posts an old-card comment event to the tracker.
func (e *env) fire(task, comment int64) int {
	e.t.Helper()
	resp, err := e.portal.FireCommentEvent(e.srv.URL+"/bitrix/event", testToken, task, comment)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// started makes a thread with a task: a first message, its task job done.
func (e *env) started() (*store.Thread, int64) {
	e.t.Helper()
	raw := buildMail("Anna Petrova <anna@customer.test>", "Принтер не печатает", "m1@customer.test", "", "Здравствуйте, принтер не печатает.")
	th, _ := e.newThread(raw, "anna@customer.test", "Anna Petrova")
	e.idle()
	th = e.thread(th.ID)
	if th.TaskID == 0 {
		e.t.Fatal("no task")
	}
	return th, th.TaskID
}
