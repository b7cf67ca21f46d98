package relay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	bolt "go.etcd.io/bbolt"

	"supportgate/queue"
	"supportgate/rules"
	"supportgate/store"
)

// Job kinds this package runs.
const (
	KindForward = "forward" // an accepted message to the upstream mailbox server
	KindSend    = "send"    // a message we wrote, through the outbound smarthost
)

// deliveryData is the state of a forward or send job: who is still to get
// it and who failed for good. Delivered recipients leave Rcpts, so a retry
// after a partial success never sends them a second copy.
type deliveryData struct {
	From   string       `json:"from,omitempty"` // send jobs: the envelope sender
	Rcpts  []string     `json:"rcpts"`
	Failed []failedRcpt `json:"failed,omitempty"`
	// Held: forward targets the upstream refused at RCPT (held.go); they
	// stay in Rcpts. Done: targets delivered, so a changed forward_to
	// never sends them a second copy.
	Held []heldRcpt `json:"held,omitempty"`
	Done []string   `json:"done,omitempty"`
}

type failedRcpt struct {
	Rcpt  string `json:"rcpt"`
	Reply string `json:"reply"`
}

// ForwardJob is the job that forwards an accepted message to rcpts.
func ForwardJob(rcpts []string) *store.Job { return newDeliveryJob(KindForward, "", rcpts) }

// SendJob is the job that sends a message we wrote from from to rcpts.
func SendJob(from string, rcpts []string) *store.Job { return newDeliveryJob(KindSend, from, rcpts) }

func newDeliveryJob(kind, from string, rcpts []string) *store.Job {
	data, _ := json.Marshal(deliveryData{From: from, Rcpts: rcpts})
	return &store.Job{Kind: kind, Data: data}
}

// DSNMaker writes a delivery status notification for failed recipients of
// msg, whose header block is given.
type DSNMaker func(cfg *rules.Config, msg *store.Message, header []byte, failed []RcptFailure) ([]byte, error)

// RcptFailure is a recipient we gave up on, with the remote's answer.
type RcptFailure struct{ Rcpt, Reply string }

// Deliverer runs forward and send jobs.
type Deliverer struct {
	Cfg    *rules.Holder
	Store  *store.Store
	Runner *queue.Runner
	Log    *slog.Logger
	DSN    DSNMaker
	// Sent, when set, is told of each successful send (the message's
	// Message-ID is the caller's business; this is for metrics and tests).
	Sent func(kind string, m *store.Message)

	dkim signer
}

// Register installs the handlers on the runner.
func (d *Deliverer) Register() {
	d.Runner.Handle(KindForward, d.forward, d.bounce)
	d.Runner.Handle(KindSend, d.send, d.sendFailed)
}

// authWait is how long a forward waits for the sender check (run by the
// process job) so the copy can carry its Authentication-Results. The
// checks have their own timeouts well inside it; past it, the message
// goes without rather than wait on a stuck process job.
const authWait = 15 * time.Second

func (d *Deliverer) forward(ctx context.Context, j *store.Job) error {
	c := d.Cfg.Get()
	if c.Auth.Autoreply != "off" {
		m, err := d.message(j.MsgID)
		if err == nil && m != nil && m.AuthResults == "" && time.Since(m.Received) < authWait {
			return queue.Later(50*time.Millisecond, "waiting for the sender check")
		}
	}
	if err := d.retarget(c, j); err != nil {
		return err
	}
	t := Target{Address: c.Upstream.Address, LMTP: c.Upstream.Protocol == "lmtp", Hostname: c.SMTP.Hostname, TLS: c.Upstream.TLS, Insecure: true}
	return d.deliver(ctx, j, t, "")
}

func (d *Deliverer) send(ctx context.Context, j *store.Job) error {
	c := d.Cfg.Get()
	pass, err := rules.Secret("", c.Outbound.PasswordFile)
	if err != nil {
		return fmt.Errorf("outbound.password_file: %w", err)
	}
	t := Target{Address: c.Outbound.Address, Hostname: c.SMTP.Hostname, TLS: c.Outbound.TLS,
		RequireTLS: c.Outbound.Username != "", Insecure: c.Outbound.InsecureSkipVerify,
		Username: c.Outbound.Username, Password: pass}
	return d.deliver(ctx, j, t, "send")
}

// deliver makes one attempt at the recipients still pending.
func (d *Deliverer) deliver(ctx context.Context, j *store.Job, t Target, kind string) error {
	var data deliveryData
	if err := json.Unmarshal(j.Data, &data); err != nil {
		return queue.Permanent(fmt.Errorf("bad job data: %w", err))
	}
	m, err := d.message(j.MsgID)
	if err != nil {
		return err
	}
	if m == nil {
		return queue.Permanent(errors.New("message record gone"))
	}
	from := m.From
	if kind == "send" {
		from = data.From
	}
	if len(data.Rcpts) == 0 {
		return d.finalFailures(data)
	}
	if kind == "send" && t.Password != "" && t.TLS == "none" && !rules.IsLoopbackAddr(t.Address) {
		// check refuses this config; never send a password in clear
		// whatever config got here.
		return queue.Permanent(errors.New("outbound.tls = \"none\" with a password to a non-loopback smarthost: refused"))
	}
	body, err := d.Store.OpenBody(m.ID)
	if err != nil {
		return fmt.Errorf("open body: %w", err)
	}
	defer body.Close()
	var r io.Reader = body
	size := m.Size
	if kind == "send" && d.Cfg.Get().DKIM.Domain != "" {
		// Signed at send time, so a key rotated while mail waits in
		// the queue is the one used.
		raw, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		signed, err := d.dkim.sign(d.Cfg.Get(), raw)
		if err != nil {
			return err
		}
		r, size = bytes.NewReader(signed), int64(len(signed))
	}
	if kind != "send" {
		ar := ""
		if m.AuthResults != "" && m.AuthResults != "-" {
			ar = m.AuthResults
		}
		r = forwardBody(body, ar, d.Cfg.Get().SMTP.Hostname)
		size += int64(len(ar))
	}
	results, err := Deliver(ctx, t, from, data.Rcpts, r, size)
	if err != nil {
		if IsPermanentSMTP(err) {
			// The whole transaction was refused (MAIL or DATA): every
			// pending recipient fails with that answer.
			for _, r := range data.Rcpts {
				data.Failed = append(data.Failed, failedRcpt{r, replyText(err)})
			}
			data.Rcpts = nil
			j.Data, _ = json.Marshal(data)
			return queue.Permanent(err)
		}
		return err
	}
	var still []string
	var tempErr error
	var held []RcptResult
	for _, r := range results {
		switch {
		case r.Err == nil:
			if kind != "send" {
				data.Done = append(data.Done, r.Rcpt)
			}
		case IsPermanentSMTP(r.Err) && (r.AtRcpt || mailboxStatus(r.Err)) && kind != "send":
			// The upstream refuses an address our config names: our
			// error, not the sender's (held.go).
			held = append(held, r)
			still = append(still, r.Rcpt)
		case IsPermanentSMTP(r.Err):
			data.Failed = append(data.Failed, failedRcpt{r.Rcpt, replyText(r.Err)})
		default:
			still = append(still, r.Rcpt)
			tempErr = r.Err
		}
	}
	data.Rcpts = still
	j.Data, _ = json.Marshal(data)
	if len(held) > 0 && tempErr == nil {
		return d.hold(j, m, &data, held)
	}
	if len(still) > 0 {
		// Remember who got it before retrying the rest.
		if err := d.Runner.Save(j); err != nil {
			return err
		}
		return tempErr
	}
	if d.Sent != nil {
		d.Sent(j.Kind, m)
	}
	return d.finalFailures(data)
}

// finalFailures turns recipients refused for good into a permanent error,
// so the failure hook sends the DSN once.
func (d *Deliverer) finalFailures(data deliveryData) error {
	if len(data.Failed) == 0 {
		return nil
	}
	var parts []string
	for _, f := range data.Failed {
		parts = append(parts, f.Rcpt+": "+f.Reply)
	}
	return queue.Permanent(errors.New("refused: " + strings.Join(parts, "; ")))
}

func (d *Deliverer) message(id string) (*store.Message, error) {
	var m *store.Message
	err := d.Store.View(func(tx *bolt.Tx) (err error) { m, err = store.GetMessage(tx, id); return })
	return m, err
}

// bounce tells the envelope sender of a forward that failed for good: a
// 5xx from upstream, or give_up_after reached. None for a null sender
// (never bounce a bounce).
func (d *Deliverer) bounce(ctx context.Context, j *store.Job, cause error) func(tx *bolt.Tx) error {
	log := d.Log.With("queue_id", j.MsgID)
	m, err := d.message(j.MsgID)
	if err != nil || m == nil || m.From == "" || d.DSN == nil {
		log.Warn("no DSN sent", "reason", "null sender or message gone", "cause", cause)
		return nil
	}
	if why := forgedSender(m); why != "" {
		// Backscatter: a DSN would go to whoever the forger named.
		log.Warn("no DSN sent", "reason", why, "from", m.From, "cause", cause)
		return nil
	}
	var data deliveryData
	json.Unmarshal(j.Data, &data)
	var failed []RcptFailure
	for _, f := range data.Failed {
		failed = append(failed, RcptFailure{f.Rcpt, f.Reply})
	}
	for _, r := range data.Rcpts { // gave up while still temporary
		failed = append(failed, RcptFailure{r, cause.Error()})
	}
	if len(failed) == 0 {
		return nil
	}
	hdr, err := d.readHeader(m.ID)
	if err != nil {
		log.Error("DSN: cannot read original", "err", err)
	}
	c := d.Cfg.Get()
	body, err := d.DSN(c, m, hdr, failed)
	if err != nil {
		log.Error("DSN not composed", "err", err)
		return nil
	}
	return func(tx *bolt.Tx) error {
		return queueOutbound(d.Store, tx, body, "", []string{m.From}, log)
	}
}

func (d *Deliverer) sendFailed(ctx context.Context, j *store.Job, cause error) func(tx *bolt.Tx) error {
	// Mail we wrote (replies, notifications, DSNs) is not bounced: the
	// operator learns of it from the log and the failed-jobs metric.
	d.Log.Error("outbound message not delivered", "queue_id", j.MsgID, "err", cause)
	return nil
}

// QueueOutbound records body (a message we wrote) and queues a send job
// for it, inside tx.
func QueueOutbound(st *store.Store, tx *bolt.Tx, body []byte, from string, rcpts []string) (string, error) {
	id := store.NewID()
	m := &store.Message{ID: id, From: from, Rcpts: rcpts, Received: time.Now(), Outbound: true}
	return id, st.PutOutbound(tx, m, body, SendJob(from, rcpts))
}

func queueOutbound(st *store.Store, tx *bolt.Tx, body []byte, from string, rcpts []string, log *slog.Logger) error {
	id, err := QueueOutbound(st, tx, body, from, rcpts)
	if err == nil {
		log.Info("queued outbound", "out_id", id, "to", rcpts)
	}
	return err
}

// readHeader returns the header block of a message (at most 256 KB).
func (d *Deliverer) readHeader(id string) ([]byte, error) {
	f, err := d.Store.OpenBody(id)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out bytes.Buffer
	r := bufio.NewReader(f)
	for out.Len() < 256<<10 {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		out.Write(line)
		if err != nil {
			break
		}
	}
	return out.Bytes(), nil
}

// replyText renders a remote answer the way a DSN shows it: "550 5.1.1
// no such user".
func replyText(err error) string {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		if se.EnhancedCode != (smtp.EnhancedCode{}) && se.EnhancedCode != smtp.NoEnhancedCode {
			return fmt.Sprintf("%d %d.%d.%d %s", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], se.Message)
		}
		return fmt.Sprintf("%d %s", se.Code, se.Message)
	}
	return err.Error()
}
