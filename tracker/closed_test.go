package tracker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"supportgate/bitrix"
	"supportgate/bitrix/bitrixtest"
	"supportgate/mailparse"
	"supportgate/store"

	bolt "go.etcd.io/bbolt"
)

// A follow-up on a task completed within reopen_within: one comment that
// says the customer wrote again, the task renewed once, though the renew
// failed once and the job was retried.
func TestClosedWithinWindowRenews(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	th, task := e.started()
	e.portal.CloseTask(task, 5, time.Now().Add(-24*time.Hour))
	e.portal.CreateThenTimeout("task.commentitem.add") // the job retries, finds its comment
	e.portal.FailNext("tasks.task.renew", 429, "OPERATION_TIME_LIMIT")
	e.reply(th, buildMail("anna@customer.test", "Re: Принтер", "r1@customer.test", "m1@customer.test", "Опять не печатает."), "anna@customer.test")
	e.idle()
	cms := e.portal.Comments(task)
	if len(cms) != 1 || !strings.Contains(cms[0].Message, "возобновлена") || !strings.Contains(cms[0].Message, "Опять не печатает") {
		t.Fatalf("comments %+v", cms)
	}
	if tk, _ := e.portal.Task(task); tk.Status != 2 {
		t.Errorf("status %d, want 2 (renewed)", tk.Status)
	}
	if n := len(e.portal.Tasks()); n != 1 {
		t.Errorf("%d tasks", n)
	}
	if n := len(e.portal.CallsTo("tasks.task.renew")); n < 2 {
		t.Errorf("renew called %d times, want a refusal, then once", n)
	}
}

// "Спасибо!" on a completed task: a comment, nothing renewed.
func TestClosedThanksOnlyComments(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	th, task := e.started()
	e.portal.CloseTask(task, 5, time.Now().Add(-time.Hour))
	e.reply(th, buildMail("anna@customer.test", "Re: Принтер", "r1@customer.test", "m1@customer.test", "Спасибо!\n\nАнна"), "anna@customer.test")
	e.idle()
	if cms := e.portal.Comments(task); len(cms) != 1 || strings.Contains(cms[0].Message, "возобновлена") {
		t.Fatalf("comments %+v", cms)
	}
	if tk, _ := e.portal.Task(task); tk.Status != 5 {
		t.Errorf("status %d, want 5", tk.Status)
	}
	if n := len(e.portal.CallsTo("tasks.task.renew")); n != 0 {
		t.Errorf("renew called %d times", n)
	}
	// Thanks with a complaint is not thanks.
	m := &inMail{msg: &mailparse.Message{Text: "Спасибо, но принтер опять не печатает"}}
	if isThanks(m, []string{"спасибо"}) {
		t.Error("a complaint taken for thanks")
	}
}

// After the window: a new task linked to the old one (PARENT_ID, or a
// link line when the portal refuses it), the thread moved, and the
// acknowledgement requested in the same transaction, naming the new task;
// the task add timing out once makes no second task.
func TestClosedAfterWindowNewTask(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		e := newEnv(t, nil, bitrix.Options{})
		type ackRec struct {
			thread string
			task   int64
		}
		var acks []ackRec
		e.tr.SetAck(func(tx *bolt.Tx, threadID, msgID string, pm *mailparse.Message) error {
			cur, err := store.GetThread(tx, threadID)
			if err != nil || cur == nil || msgID == "" || pm == nil {
				t.Errorf("ack: thread %v, %v, msg %q", cur, err, msgID)
				return err
			}
			acks = append(acks, ackRec{threadID, cur.TaskID})
			return nil
		})
		th, old := e.started()
		e.portal.CloseTask(old, 5, time.Now().Add(-30*24*time.Hour))
		e.portal.RefuseParent(refuse)
		e.portal.CreateThenTimeout("tasks.task.add")
		e.reply(th, buildMail("anna@customer.test", "Re: Принтер", "r1@customer.test", "m1@customer.test", "Снова сломался."), "anna@customer.test")
		e.idle()
		tasks := e.portal.Tasks()
		if len(tasks) != 2 {
			t.Fatalf("refuse=%v: %d tasks", refuse, len(tasks))
		}
		nt := tasks[1]
		if !strings.Contains(nt.Description, "закрыта") || !strings.Contains(nt.Description, "Снова сломался") {
			t.Errorf("new task text:\n%s", nt.Description)
		}
		if refuse {
			if !strings.Contains(nt.Description, "/tasks/task/view/") || nt.Fields["PARENT_ID"] != nil {
				t.Errorf("no link line (fields %v):\n%s", nt.Fields, nt.Description)
			}
		} else if p := fmt.Sprint(nt.Fields["PARENT_ID"]); p != fmt.Sprint(old) {
			t.Errorf("PARENT_ID %v (%T), want %d", nt.Fields["PARENT_ID"], nt.Fields["PARENT_ID"], old)
		}
		if got := e.thread(th.ID).TaskID; got != nt.ID {
			t.Errorf("thread on task %d, want %d", got, nt.ID)
		}
		if len(acks) != 1 || acks[0].task != nt.ID {
			t.Errorf("acks %+v, want one naming %d", acks, nt.ID)
		}
		if cms := e.portal.Comments(old); len(cms) != 0 {
			t.Errorf("comment on the closed task: %+v", cms)
		}
	}
}

// New card: the follow-up with a file goes into the task chat (text and
// file, the bytes equal); the event for our own message mails nothing,
// and a specialist's message is mailed once, however often it fires.
func TestNewCardFollowUpToChat(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	e.portal.SetNewCard(true)
	th, task := e.started()
	data := []byte("%PDF-1.4 acts")
	e.portal.CreateThenTimeout("im.message.add") // posted, the answer lost: the retry finds it
	e.reply(th, buildMail("anna@customer.test", "Re: Принтер", "r1@customer.test", "m1@customer.test", "Акт во вложении.",
		file{"act.pdf", "application/pdf", data}), "anna@customer.test")
	e.idle()
	if n := len(e.portal.CallsTo("task.commentitem.add")); n != 0 {
		t.Errorf("task.commentitem.add called %d times on a new-card task", n)
	}
	msgs := e.portal.ChatMessages(task)
	var text, withFile *bitrixtest.ChatMessage
	texts := 0
	for i := range msgs {
		if strings.Contains(msgs[i].Text, "Акт во вложении") {
			text = &msgs[i]
			texts++
		}
		if len(msgs[i].Files) == 1 {
			withFile = &msgs[i]
		}
	}
	if text == nil || withFile == nil || texts != 1 {
		t.Fatalf("chat %+v", msgs)
	}
	if f, _ := e.portal.FileInfo(withFile.Files[0]); f.Name != "act.pdf" || string(f.Data) != string(data) {
		t.Errorf("file %q %q", f.Name, f.Data)
	}
	for _, id := range []int64{text.ID, withFile.ID} {
		resp, err := e.portal.FireChatCommentEvent(e.srv.URL, testToken, task, id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	e.idle()
	if out := e.outbound(); len(out) != 0 {
		t.Fatalf("our own chat messages mailed: %d", len(out))
	}
	e.portal.AddUser(7, "Иван Сидоров", "ivan@corp.test")
	sp := e.portal.AddChatMessage(task, 7, "Приняли, спасибо", nil)
	for range 2 {
		resp, err := e.portal.FireChatCommentEvent(e.srv.URL, testToken, task, sp)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		e.idle()
	}
	if out := e.outbound(); len(out) != 1 || !strings.Contains(out[0].Text, "Приняли") {
		t.Fatalf("mailed %d", len(out))
	}
}
