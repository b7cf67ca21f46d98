package relay

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	bolt "go.etcd.io/bbolt"

	"supportgate/queue"
	"supportgate/rules"
	"supportgate/store"
)

// Failures that are ours stay ours. A forward goes only to addresses our
// own config names (a mailbox's forward_to, or the mailbox itself): when
// the upstream refuses one of them for good at RCPT (or, over LMTP, with
// a mailbox status after DATA: unknown, disabled, full), the configuration
// (ours, or the mailbox server's) is wrong, and the customer can do
// nothing about it. So there is no DSN: the job is held (store.Held, no
// retries), the admin gets a notice through the smarthost ([upstream]
// notify, at most one per hour per refused address, remembered in the
// store), and a config reload releases it. When the reload changed the
// mailbox's forward_to, the held message goes to the new targets.

// heldRcpt is a refused forward target and the support address it
// serves.
type heldRcpt struct {
	Rcpt  string `json:"rcpt"`
	Orig  string `json:"orig"`
	Reply string `json:"reply"`
}

// noticeEvery is how often one problem may mail the admin.
const noticeEvery = time.Hour

// hold parks j with the refused targets recorded and queues the admin's
// notice in the same transaction.
func (d *Deliverer) hold(j *store.Job, m *store.Message, data *deliveryData, refused []RcptResult) error {
	c := d.Cfg.Get()
	log := d.Log.With("queue_id", m.ID)
	data.Held = data.Held[:0]
	var parts []string
	for _, r := range refused {
		orig := mailboxFor(c, m, r.Rcpt)
		data.Held = append(data.Held, heldRcpt{Rcpt: r.Rcpt, Orig: orig, Reply: replyText(r.Err)})
		parts = append(parts, fmt.Sprintf("%s (forward_to of %s): %s", r.Rcpt, orig, replyText(r.Err)))
		log.Error("the mailbox server refuses an address of our config: message held, no DSN to the sender",
			"target", r.Rcpt, "mailbox", orig, "reply", replyText(r.Err), "notify", c.Upstream.Notify)
	}
	j.Data, _ = json.Marshal(data)
	why := "upstream refuses " + strings.Join(parts, "; ")
	if c.Upstream.Notify == "" {
		log.Error("no admin notice: set [upstream] notify to be told by mail")
		return queue.Hold(why, nil)
	}
	held := append([]heldRcpt(nil), data.Held...)
	return queue.Hold(why, func(tx *bolt.Tx) error {
		for _, h := range held {
			key := "notice|upstream-refused|" + rules.Canonical(h.Rcpt) + "|" + replyCode(h.Reply) + "|"
			n, err := store.CountRecent(tx, key, time.Now().Add(-noticeEvery), false)
			if err != nil {
				return err
			}
			if n > 0 {
				log.Info("admin already told of this refusal within the hour", "target", h.Rcpt)
				continue
			}
			if _, err := store.CountRecent(tx, key, time.Now(), true); err != nil {
				return err
			}
			body := adminNotice(c, m, h)
			if err := queueOutbound(d.Store, tx, body, "", []string{c.Upstream.Notify}, log); err != nil {
				return err
			}
		}
		return nil
	})
}

// retarget runs before a forward: targets held before are replaced by
// what the config in force names for their mailbox now (a fixed
// forward_to), minus any already delivered.
func (d *Deliverer) retarget(c *rules.Config, j *store.Job) error {
	var data deliveryData
	if err := json.Unmarshal(j.Data, &data); err != nil || len(data.Held) == 0 {
		return nil
	}
	log := d.Log.With("queue_id", j.MsgID)
	drop := map[string]bool{}
	var add []string
	for _, h := range data.Held {
		mb := c.FindMailbox(h.Orig)
		if mb == nil {
			log.Warn("held message: its mailbox is gone from the config; not forwarded to it", "mailbox", h.Orig, "target", h.Rcpt)
			drop[rules.Canonical(h.Rcpt)] = true
			continue
		}
		now := mb.Forwards()
		if containsAddr(now, h.Rcpt) {
			continue // same target: the fix was at the mailbox server
		}
		drop[rules.Canonical(h.Rcpt)] = true
		add = append(add, now...)
	}
	var rcpts []string
	for _, r := range data.Rcpts {
		if !drop[rules.Canonical(r)] {
			rcpts = append(rcpts, r)
		}
	}
	for _, a := range add {
		if !containsAddr(rcpts, a) && !containsAddr(data.Done, a) {
			rcpts = append(rcpts, a)
		}
	}
	if len(add) > 0 || len(drop) > 0 {
		log.Info("held message retargeted to the forward_to in force", "rcpts", rcpts)
	}
	data.Rcpts, data.Held = rcpts, nil
	j.Data, _ = json.Marshal(data)
	return nil
}

func containsAddr(list []string, a string) bool {
	for _, x := range list {
		if rules.Canonical(x) == rules.Canonical(a) {
			return true
		}
	}
	return false
}

// mailboxFor maps a forward target back to the support address that
// led to it.
func mailboxFor(c *rules.Config, m *store.Message, target string) string {
	for _, r := range m.Rcpts {
		if mb := c.FindMailbox(r); mb != nil && containsAddr(mb.Forwards(), target) {
			return mb.Address
		}
	}
	if len(m.Rcpts) > 0 {
		return m.Rcpts[0]
	}
	return target
}

// mailboxStatus: an answer about the mailbox itself (RFC 3463 X.1.x
// address, X.2.x mailbox status: unknown, disabled, full), as an LMTP
// server gives per recipient after DATA. Sender address codes (X.1.7,
// X.1.8) are the sender's.
func mailboxStatus(err error) bool {
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return false
	}
	c := se.EnhancedCode
	return c[0] == 5 && (c[1] == 2 || (c[1] == 1 && c[2] != 7 && c[2] != 8))
}

func replyCode(reply string) string {
	if f := strings.Fields(reply); len(f) > 0 {
		return f[0]
	}
	return ""
}

// forgedSender says why a DSN must not go to m's envelope sender: SPF
// failed for it, or the message failed DMARC. Either way the sender
// address is likely someone else's, and the DSN would be backscatter.
func forgedSender(m *store.Message) string {
	switch {
	case m.SPF == "fail":
		return "the envelope sender failed SPF (spf=fail)"
	case m.DMARC == "fail":
		return "the message failed DMARC (dmarc=fail)"
	}
	return ""
}

// adminNotice is the mail that tells the admin what to fix.
func adminNotice(c *rules.Config, m *store.Message, h heldRcpt) []byte {
	var b strings.Builder
	subject := mime.QEncoding.Encode("utf-8", "supportgate: the mailbox server refuses "+h.Rcpt+" (forward_to of "+h.Orig+")")
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", "supportgate <"+h.Orig+">")
	hdr("To", "<"+c.Upstream.Notify+">")
	hdr("Subject", subject)
	hdr("Date", time.Now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+store.NewID()+".notice@"+c.SMTP.Hostname+">")
	hdr("Auto-Submitted", "auto-generated")
	hdr("X-Auto-Response-Suppress", "All")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	line := func(s string) { b.WriteString(s + "\r\n") }
	line("The mailbox server (" + c.Upstream.Address + ") refused, for good, an address")
	line("that our configuration names:")
	line("")
	line("  address:   " + h.Rcpt)
	line("  mailbox:   " + h.Orig + " (its forward_to in " + c.Path + ")")
	line("  answer:    " + h.Reply)
	line("  message:   queue id " + m.ID + ", from <" + m.From + ">, received " + m.Received.Format(time.RFC1123Z))
	line("")
	line("This is a configuration error, not the customer's: they got no bounce.")
	line("The message is held, with every other one refused the same way, until")
	line("you fix forward_to (or the mailbox server) and reload supportgate")
	line("(systemctl reload supportgate, or save the config file): held")
	line("messages are then forwarded again. To give one up instead, stop the")
	line("gateway and run: supportgate held -config " + c.Path + " -drop " + m.ID)
	line("")
	line("You get at most one such notice per hour for this address.")
	return []byte(b.String())
}
