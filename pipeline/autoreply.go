package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/compose"
	"supportgate/letters"
	"supportgate/mailparse"
	"supportgate/queue"
	"supportgate/relay"
	"supportgate/rules"
	"supportgate/store"
)

// replyData is an auto-reply job: whom to answer and what it answers.
type replyData struct {
	Thread     string   `json:"thread"`
	To         string   `json:"to"`   // the envelope sender (RFC 3834 §4)
	Name       string   `json:"name"` // the From display name, when From is To
	Subject    string   `json:"subject"`
	MessageID  string   `json:"msgid,omitempty"`
	InReplyTo  []string `json:"irt,omitempty"`
	References []string `json:"refs,omitempty"`
}

func autoReplyJob(threadID string, m *store.Message, pm *mailparse.Message) *store.Job {
	d := replyData{Thread: threadID, To: m.From, Subject: pm.Subject, MessageID: pm.MessageID,
		InReplyTo: pm.InReplyTo, References: pm.References}
	if strings.EqualFold(pm.From.Addr, m.From) {
		d.Name = pm.From.Name
	}
	b, _ := json.Marshal(d)
	return &store.Job{Kind: KindAutoReply, Data: b}
}

// autoreply composes and queues one acknowledgement. It waits up to
// [autoreply] wait_for_task (from the message's arrival) for the Bitrix24
// task so the number can be in the reply, but only when the task can come
// in that time (with a portal backlog it goes at once, without), and in
// memory: the task job wakes it. Meanwhile the greeting's name is looked
// up (contacts file, names learned from the CRM, then the CRM with a
// short deadline). Queueing the message and finishing the job are one
// transaction: a retry never sends a second copy.
func (p *Pipeline) autoreply(ctx context.Context, j *store.Job) error {
	c := p.Cfg.Get()
	var d replyData
	if err := json.Unmarshal(j.Data, &d); err != nil {
		return queue.Permanent(err)
	}
	var t *store.Thread
	arrived := j.Created
	if err := p.Store.View(func(tx *bolt.Tx) (err error) {
		if m, err := store.GetMessage(tx, j.MsgID); err == nil && m != nil && !m.Received.IsZero() {
			arrived = m.Received // the wait counts from the 250, not from processing
		}
		t, err = store.GetThread(tx, d.Thread)
		return
	}); err != nil {
		return err
	}
	if t == nil {
		return queue.Permanent(errors.New("thread gone"))
	}
	taskCh := make(chan int64, 1)
	if t.TaskID == 0 && p.tasksEnabled() {
		left := c.Autoreply.WaitForTask.D() - time.Since(arrived)
		go func() { taskCh <- p.Tasks.WaitTask(ctx, t.ID, left) }()
	} else {
		taskCh <- t.TaskID
	}
	_, _, contacts := p.parts()
	set, err := letters.Of(c)
	if err != nil {
		return err
	}
	lb := set.For(t.Mailbox) // the thread's mailbox: its letters and hours
	tmpl := lb.Ack
	data := p.greeting(ctx, c, contacts, d, arrived)
	t.TaskID = <-taskCh
	subject := d.Subject
	if strings.TrimSpace(subject) == "" {
		subject = c.Bitrix.TitleFallback // "(без темы)": the same words the task title uses
	}
	data.Subject = subject
	if t.TaskID != 0 {
		data.TaskID = itoa(t.TaskID)
		data.TaskURL = taskURL(c, lb.S.ResponsibleID, t.TaskID)
	}
	now := p.now()
	lb.Fill(&data, now)
	msgID, err := compose.NewMessageID(c.SMTP.Hostname)
	if err != nil {
		return err
	}
	from := mail.Address{Address: t.Mailbox, Name: lb.S.Name}
	body, err := compose.AutoReply(compose.ReplyParams{
		Templates: tmpl, Data: data, Hostname: c.SMTP.Hostname,
		From: from, To: d.To, OrigFrom: mail.Address{Name: d.Name, Address: d.To},
		InReplyToID: d.MessageID, References: d.References, InReplyTo: d.InReplyTo,
		MessageID: msgID, LoopID: loopID(c), Date: now,
	})
	if err != nil {
		return queue.Permanent(fmt.Errorf("compose: %w", err))
	}
	return queue.Then(func(tx *bolt.Tx) error {
		if capped, err := webReplyCapped(tx, c, j.MsgID); err != nil || capped {
			if capped {
				p.Log.Info("no auto-reply", "queue_id", j.MsgID, "channel", ChannelWeb, "reason", rules.ReasonRateLimit, "cap", "webform.max_replies_per_ip")
			}
			return err
		}
		cur, err := store.GetThread(tx, t.ID)
		if err != nil || cur == nil {
			return err
		}
		if err := store.AddID(tx, cur, msgID, store.IDAutoReply); err != nil {
			return err
		}
		if err := store.PutThread(tx, cur); err != nil {
			return err
		}
		out, err := relay.QueueOutbound(p.Store, tx, body, c.Autoreply.MailFrom, []string{d.To})
		if err != nil {
			return err
		}
		return store.NoteReply(tx, j.MsgID, out, body)
	})
}

// taskURL links the task in the portal, from the webhook's host and the
// responsible user's task path (the portal redirects to the right view).
// An intranet page: only an internal mailbox's own template shows it.
func taskURL(c *rules.Config, responsible, id int64) string {
	u := c.Bitrix.WebhookURL
	i := strings.Index(u, "/rest/")
	if i < 0 {
		return ""
	}
	return fmt.Sprintf("%s/company/personal/user/%d/tasks/task/view/%d/", u[:i], responsible, id)
}
