package gateway

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"supportgate/bitrix/bitrixtest"
	"supportgate/senderauth/authtest"
	"supportgate/store"
)

// newAuthBitrixEnv is a gateway with the portal and sender checks on,
// against an in-process DNS: dmarcd.test and evil.test pass SPF from
// loopback (dmarcd.test with DMARC p=reject), loose.test publishes
// nothing.
func newAuthBitrixEnv(t *testing.T) (*env, *bitrixtest.Portal) {
	dns := authtest.NewDNS(t)
	dns.TXT("dmarcd.test", "v=spf1 ip4:127.0.0.1 -all")
	dns.TXT("_dmarc.dmarcd.test", "v=DMARC1; p=reject")
	dns.TXT("evil.test", "v=spf1 ip4:127.0.0.1 -all")
	portal := bitrixtest.NewWithOptions(t, bitrixtest.Options{UserID: 1, FolderID: 11})
	portal.AddUser(7, "Ольга Смирнова", "olga@example.com")
	e := newEnv(t, fmt.Sprintf("[bitrix]\nwebhook_url = %q\nresponsible_id = 7\napplication_token = %q\nfolder_id = 11\npoll_interval = \"1h\"\n"+
		"[auth]\nautoreply = \"not-fail\"\nresolver = %q\ntimeout = \"1s\"\n", portal.WebhookURL(), appToken, dns.Addr()))
	return e, portal
}

func threadOfTask(t *testing.T, e *env, task int64) *store.Thread {
	t.Helper()
	var th *store.Thread
	e.g.Store.View(func(tx *bolt.Tx) (err error) { th, err = store.ThreadByTask(tx, task); return })
	if th == nil {
		t.Fatalf("no thread for task %d", task)
	}
	return th
}

func notifications(e *env) []int {
	var out []int
	for i, m := range e.smarthost.Messages() {
		if bytes.Contains(m.Data, []byte("Reply-To")) && !bytes.Contains(m.Data, []byte("Auto-Submitted: auto-replied")) {
			out = append(out, i)
		}
	}
	return out
}

// The hijack of issue 14: a forged From of a real customer with her
// task's tag makes a new, unverified task (no comment on hers), its Cc
// adds nobody, the answer to it goes to the envelope sender who wrote;
// a forged reply by Message-ID is a comment with a warning on top; the
// real customer's tag still works.
func TestHijackForgedFromWithTag(t *testing.T) {
	e, portal := newAuthBitrixEnv(t)
	claraContact := portal.AddContact("c@dmarcd.test", "Clara Schmidt")
	clara := "From: Clara <c@dmarcd.test>\r\nTo: support@example.com\r\nSubject: invoice\r\nMessage-ID: <clara1@dmarcd.test>\r\n\r\nPlease pay to my usual account.\r\n"
	if err := send(t, e.g.SMTPAddr(), "c@dmarcd.test", []string{"support@example.com"}, clara); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 1 }, "Clara's task")
	victim := portal.Tasks()[0].ID

	forged := fmt.Sprintf("From: Clara <c@dmarcd.test>\r\nTo: support@example.com\r\nCc: attacker@evil.test\r\nSubject: Re: [#%d] updated bank details\r\n"+
		"Message-ID: <forged1@loose.test>\r\n\r\npay to IBAN XX99 ATTACKER\r\n", victim)
	if err := send(t, e.g.SMTPAddr(), "attacker@loose.test", []string{"support@example.com"}, forged); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 2 }, "a new task for the forged mail")
	waitFor(t, func() bool { jobs, _ := e.g.Store.Jobs(); return len(jobs) == 0 }, "queue empty")
	if n := len(portal.Comments(victim)); n != 0 {
		t.Fatalf("the forged mail commented Clara's task (%d comments)", n)
	}
	var rogue bitrixtest.Task
	for _, tk := range portal.Tasks() {
		if tk.ID != victim {
			rogue = tk
		}
	}
	// In the mailbox's language (Russian by default).
	if !strings.Contains(rogue.Description, "не подтверждён") || !strings.Contains(rogue.Description, "attacker@loose.test") {
		t.Errorf("the new task does not say it is unverified and who gets answers:\n%s", rogue.Description)
	}
	// Clara's CRM card is linked to her own task, never to the forger's.
	claraCRM := fmt.Sprintf("C_%d", claraContact)
	if v, _ := portal.Task(victim); !slices.Contains(v.CRM, claraCRM) {
		t.Errorf("Clara's task lacks her CRM contact %s: %v", claraCRM, v.CRM)
	}
	if slices.Contains(rogue.CRM, claraCRM) {
		t.Errorf("the unverified task links the victim's CRM contact: %v", rogue.CRM)
	}
	rt := threadOfTask(t, e, rogue.ID)
	if !rt.Unverified || rt.AnswerAddr != "attacker@loose.test" {
		t.Errorf("rogue thread unverified=%v answer=%q", rt.Unverified, rt.AnswerAddr)
	}
	// The attacker's Cc added no participant, anywhere.
	for _, th := range []*store.Thread{threadOfTask(t, e, victim), rt} {
		if th.IsParticipant("attacker@evil.test") {
			t.Errorf("thread %s: the forged mail's Cc became a participant: %v", th.ID, th.Participants)
		}
	}
	// So the attacker's own (authenticated) mail with either tag is a
	// new task too.
	own := fmt.Sprintf("From: attacker@evil.test\r\nTo: support@example.com\r\nSubject: Re: [#%d] again\r\nMessage-ID: <a2@evil.test>\r\n\r\nstill me\r\n", victim)
	if err := send(t, e.g.SMTPAddr(), "attacker@evil.test", []string{"support@example.com"}, own); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 3 }, "a new task for the Cc'd attacker")
	if n := len(portal.Comments(victim)); n != 0 {
		t.Fatalf("the attacker's tag commented Clara's task")
	}

	// A specialist answers the rogue task: it goes to who wrote it.
	cid := portal.AddSpecialistComment(rogue.ID, 7, "Which account?", nil)
	if resp, err := portal.FireCommentEvent("http://"+e.g.HTTPAddr()+"/bitrix/event", appToken, rogue.ID, cid); err != nil || resp.StatusCode != 200 {
		t.Fatalf("event: %v %v", resp, err)
	}
	waitFor(t, func() bool { return len(notifications(e)) == 1 }, "answer mailed")
	note := e.smarthost.Messages()[notifications(e)[0]]
	if len(note.Rcpts) != 1 || note.Rcpts[0] != "attacker@loose.test" {
		t.Errorf("answer on the unverified task went to %v, want the envelope sender attacker@loose.test", note.Rcpts)
	}

	// A forged reply naming Clara's Message-ID joins her thread, with a
	// warning first.
	byRef := "From: Clara <c@dmarcd.test>\r\nTo: support@example.com\r\nSubject: Re: invoice\r\nMessage-ID: <forged2@loose.test>\r\n" +
		"In-Reply-To: <clara1@dmarcd.test>\r\nCc: attacker2@evil.test\r\n\r\nnew IBAN XX98\r\n"
	if err := send(t, e.g.SMTPAddr(), "attacker@loose.test", []string{"support@example.com"}, byRef); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(portal.Comments(victim)) == 1 }, "the forged reply as a comment")
	if c := portal.Comments(victim)[0].Message; !strings.HasPrefix(c, "[B]⚠") || !strings.Contains(c, "XX98") {
		t.Errorf("comment of a forged reply lacks the warning on top:\n%s", c)
	}
	if threadOfTask(t, e, victim).IsParticipant("attacker2@evil.test") {
		t.Errorf("a failing message's Cc became a participant")
	}

	// Clara's own tag still works.
	real := fmt.Sprintf("From: Clara <c@dmarcd.test>\r\nTo: support@example.com\r\nSubject: Re: [#%d] invoice\r\nMessage-ID: <clara2@dmarcd.test>\r\n\r\nthat was not me\r\n", victim)
	if err := send(t, e.g.SMTPAddr(), "c@dmarcd.test", []string{"support@example.com"}, real); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(portal.Comments(victim)) == 2 }, "Clara's tagged mail commented")
	if c := portal.Comments(victim)[1].Message; strings.Contains(c, "⚠") {
		t.Errorf("an authenticated comment carries the warning: %s", c)
	}
}
