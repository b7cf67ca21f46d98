package gateway

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"supportgate/bitrix/bitrixtest"
	"supportgate/mailtest"
)

const appToken = "app-token-from-the-outgoing-webhook"

func newBitrixEnv(t *testing.T) (*env, *bitrixtest.Portal) {
	portal := bitrixtest.NewWithOptions(t, bitrixtest.Options{UserID: 1, FolderID: 11})
	portal.AddUser(7, "Ольга Смирнова", "olga@example.com")
	e := newEnv(t, fmt.Sprintf("[bitrix]\nwebhook_url = %q\nresponsible_id = 7\napplication_token = %q\nfolder_id = 11\npoll_interval = \"1h\"\n", portal.WebhookURL(), appToken))
	return e, portal
}

// The whole support loop: a customer's mail becomes a task (with its
// attachment), the auto-reply names the task, the customer's follow-up
// becomes a comment, a specialist's comment reaches the customer by mail
// threaded into the conversation, and the customer's answer to it becomes
// a comment again — with one auto-reply in all.
func TestSupportLoop(t *testing.T) {
	e, portal := newBitrixEnv(t)
	pdf := []byte("%PDF-1.4 fake invoice bytes \x00\x01\x02")
	msg := "From: \"Иван Петров\" <ivan@customer.test>\r\nTo: support@example.com\r\nSubject: =?utf-8?B?0J3QtSDQv9C10YfQsNGC0LDQtdGCINC/0YDQuNC90YLQtdGA?=\r\n" +
		"Message-ID: <loop1@customer.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n" +
		"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nПринтер в бухгалтерии не печатает.\r\n" +
		"--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''%D0%A1%D1%87%D1%91%D1%82.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(pdf) + "\r\n--XX--\r\n"
	if err := send(t, e.g.SMTPAddr(), "ivan@customer.test", []string{"support@example.com"}, msg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 1 }, "task created")
	task := portal.Tasks()[0]
	if task.Title != "Не печатает принтер" || task.ResponsibleID != 7 || !strings.Contains(task.Description, "Принтер в бухгалтерии не печатает") {
		t.Errorf("task = %q / %d / %q", task.Title, task.ResponsibleID, task.Description)
	}
	var gotPDF bool
	waitFor(t, func() bool { task, _ = portal.Task(task.ID); return len(task.Files) >= 1 }, "files linked")
	for _, id := range task.Files {
		if f, ok := portal.FileInfo(id); ok && f.Name == "Счёт.pdf" && bytes.Equal(f.Data, pdf) {
			gotPDF = true
		}
	}
	if !gotPDF {
		t.Errorf("attachment Счёт.pdf not uploaded intact; files %v", task.Files)
	}

	// The auto-reply names the task.
	waitFor(t, func() bool { return len(replies(e)) == 1 }, "auto-reply")
	ack := replies(e)[0]
	if !bytes.Contains(decodedHTML(t, ack), []byte(fmt.Sprint(task.ID))) {
		t.Errorf("auto-reply does not name task %d", task.ID)
	}
	ah := header(t, ack)
	ackID, _ := ah.MessageID()

	// The customer writes again, answering our reply: a comment, no reply.
	follow := "From: ivan@customer.test\r\nTo: support@example.com\r\nSubject: Re: printer\r\nMessage-ID: <loop2@customer.test>\r\nIn-Reply-To: <" + ackID + ">\r\n\r\nЕщё: он мигает красным.\r\n\r\n> old quoted text\r\n"
	if err := send(t, e.g.SMTPAddr(), "ivan@customer.test", []string{"support@example.com"}, follow); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(portal.Comments(task.ID)) == 1 }, "comment added")
	if c := portal.Comments(task.ID)[0]; !strings.Contains(c.Message, "мигает красным") || strings.Contains(c.Message, "old quoted text") {
		t.Errorf("comment = %q", c.Message)
	}

	// A specialist comments in the portal; the event arrives.
	cid := portal.AddSpecialistComment(task.ID, 7, "Здравствуйте! Замените [b]картридж[/b].", nil)
	resp, err := portal.FireCommentEvent("http://"+e.g.HTTPAddr()+"/bitrix/event", appToken, task.ID, cid)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("event: %v %v", resp, err)
	}
	var note mailtest.Msg
	waitFor(t, func() bool {
		for _, m := range e.smarthost.Messages() {
			if bytes.Contains(m.Data, []byte("Reply-To")) && !bytes.Contains(m.Data, []byte("Auto-Submitted: auto-replied")) {
				note = m
				return true
			}
		}
		return false
	}, "notification mailed")
	if len(note.Rcpts) != 1 || note.Rcpts[0] != "ivan@customer.test" {
		t.Errorf("notification to %v", note.Rcpts)
	}
	h := header(t, note)
	subj, _ := h.Subject()
	if !strings.Contains(subj, fmt.Sprintf("[#%d]", task.ID)) {
		t.Errorf("notification subject %q lacks the task tag", subj)
	}
	irt, _ := h.MsgIDList("In-Reply-To")
	if len(irt) != 1 || (irt[0] != "loop2@customer.test" && irt[0] != ackID) {
		t.Errorf("notification In-Reply-To %v, want the conversation's last message", irt)
	}
	if !bytes.Contains(decodedHTML(t, note), []byte("<b>картридж</b>")) {
		t.Errorf("BBCode not rendered")
	}
	noteID, _ := h.MessageID()

	// The same event again (Bitrix24 resends nothing, but a proxy might): one mail.
	portal.FireCommentEvent("http://"+e.g.HTTPAddr()+"/bitrix/event", appToken, task.ID, cid)
	// A forged event: 401, no mail.
	forged, err := http.PostForm("http://"+e.g.HTTPAddr()+"/bitrix/event", url.Values{
		"event": {"ONTASKCOMMENTADD"}, "data[FIELDS_AFTER][ID]": {fmt.Sprint(cid)},
		"data[FIELDS_AFTER][TASK_ID]": {fmt.Sprint(task.ID)}, "auth[application_token]": {"guess"}})
	if err != nil || forged.StatusCode != 401 {
		t.Errorf("forged event: %v %v", forged, err)
	}

	// The customer answers the specialist: a comment, still one auto-reply.
	answer := "From: ivan@customer.test\r\nTo: support@example.com\r\nSubject: " + subj + "\r\nMessage-ID: <loop3@customer.test>\r\nIn-Reply-To: <" + noteID + ">\r\n\r\nСпасибо, заработало.\r\n"
	if err := send(t, e.g.SMTPAddr(), "ivan@customer.test", []string{"support@example.com"}, answer); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		for _, c := range portal.Comments(task.ID) {
			if strings.Contains(c.Message, "заработало") {
				return true
			}
		}
		return false
	}, "answer commented")
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
	notes := 0
	for _, m := range e.smarthost.Messages() {
		if bytes.Contains(m.Data, []byte("Reply-To")) && !bytes.Contains(m.Data, []byte("Auto-Submitted: auto-replied")) {
			notes++
		}
	}
	if n := len(replies(e)); n != 1 || notes != 1 {
		t.Errorf("%d auto-replies and %d notifications, want 1 and 1", n, notes)
	}
	if len(portal.Tasks()) != 1 {
		t.Errorf("%d tasks, want 1", len(portal.Tasks()))
	}
}

// A stranger who puts someone else's task tag in the subject starts a new
// thread (and task) instead of commenting on it.
func TestTaskTagFromStrangerStartsNewThread(t *testing.T) {
	e, portal := newBitrixEnv(t)
	if err := send(t, e.g.SMTPAddr(), "owner@customer.test", []string{"support@example.com"}, plainMsg("owner@customer.test", "support@example.com", "mine", "x")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 1 }, "first task")
	id := portal.Tasks()[0].ID
	hijack := plainMsg("mallory@evil.test", "support@example.com", fmt.Sprintf("Re: mine [#%d]", id), "give me the data")
	if err := send(t, e.g.SMTPAddr(), "mallory@evil.test", []string{"support@example.com"}, hijack); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 2 }, "second task for the stranger")
	if n := len(portal.Comments(id)); n != 0 {
		t.Errorf("stranger's mail commented the owner's task (%d comments)", n)
	}
	// The owner's tag works.
	own := plainMsg("owner@customer.test", "support@example.com", fmt.Sprintf("Re: mine [#%d]", id), "more")
	if err := send(t, e.g.SMTPAddr(), "owner@customer.test", []string{"support@example.com"}, own); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(portal.Comments(id)) == 1 }, "owner's tagged mail commented")
}
