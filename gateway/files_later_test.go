package gateway

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"supportgate/bitrix/bitrixtest"
	"supportgate/mailtest"
	"supportgate/tracker"
)

// newPacedEnv is newRealtimeEnv with the client's pacer on (5 requests/s,
// burst 1), so uploads, which cannot be batched, compete for the budget.
func newPacedEnv(t *testing.T) (*env, *bitrixtest.Portal) {
	portal := bitrixtest.NewWithOptions(t, bitrixtest.Options{UserID: 1, FolderID: 11})
	portal.AddUser(7, "Ольга Смирнова", "olga@example.com")
	e := &env{t: t, dir: t.TempDir(), upstream: mailtest.Start(t, false), smarthost: mailtest.Start(t, false)}
	extra := fmt.Sprintf("[bitrix]\nwebhook_url = %q\nresponsible_id = 7\napplication_token = %q\npoll_interval = \"1h\"\nrate_per_second = 5\nburst = 1\n"+
		"[autoreply]\nwait_for_task = \"1s\"\nmax_per_sender = 0\n[auth]\nautoreply = \"off\"\n", portal.WebhookURL(), appToken)
	text := baseConfig(e.dir, e.upstream.Addr(), e.smarthost.Addr(), extra)
	text = strings.Replace(text, "workers = 4", "workers = 4\nportal_workers = 8", 1) // fewer workers than jobs: files jobs must not take them all
	text = strings.Replace(text, "max_messages_per_sender = 0", "max_messages_per_sender = 0\nmax_connections_per_ip = 1000\nmax_connections_per_minute = 0", 1)
	e.startText(text)
	return e, portal
}

func withAttachment(from string, i int) string {
	return fmt.Sprintf("From: %s\r\nTo: support@example.com\r\nSubject: with a file %d\r\nMessage-ID: <file%d@customer.test>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"См. вложение\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"act%d.pdf\"\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n", from, i, i, i)
}

// Under a burst, the tasks are made first (in batches) and their files
// follow; a specialist's answer goes ahead of the uploads. Uploads cost
// a unit of the portal's budget each and cannot be batched: made before
// their tasks, they would file two tasks a second on a real portal.
func TestTasksBeforeFilesNotifyBeforeUploads(t *testing.T) {
	e, portal := newPacedEnv(t)
	if err := send(t, e.g.SMTPAddr(), "vip@customer.test", []string{"support@example.com"}, withAttachment("vip@customer.test", 0)); err != nil {
		t.Fatal(err)
	}
	idle := func() bool {
		return jobsOf(t, e, tracker.KindTask) == 0 && jobsOf(t, e, tracker.KindFiles) == 0
	}
	waitLong(t, func() bool { return len(portal.Tasks()) == 1 && idle() }, "first task with its files")
	first := portal.Tasks()[0]
	if len(first.Files) != 2 {
		t.Fatalf("first task has %d files, want the attachment and the .eml", len(first.Files))
	}

	const n = 20
	release := portal.Hold()
	defer release()
	for i := 1; i <= n; i++ {
		from := fmt.Sprintf("c%d@customer.test", i)
		if err := send(t, e.g.SMTPAddr(), from, []string{"support@example.com"}, withAttachment(from, i)); err != nil {
			t.Fatal(err)
		}
	}
	waitLong(t, func() bool { return jobsOf(t, e, tracker.KindTask) == n }, "the task jobs queued")
	cid := portal.AddSpecialistComment(first.ID, 7, "Акт получили.", nil)
	resp, err := portal.FireCommentEvent("http://"+e.g.HTTPAddr()+"/bitrix/event", appToken, first.ID, cid)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("event: %v %v", resp, err)
	}
	resp.Body.Close()
	waitFor(t, func() bool { return jobsOf(t, e, tracker.KindNotify) == 1 }, "notify job queued")
	release()

	waitLong(t, func() bool {
		for _, m := range e.smarthost.Messages() {
			if slices.Contains(m.Rcpts, "vip@customer.test") && !bytes.Contains(m.Data, []byte("Auto-Submitted: auto-replied")) {
				return true
			}
		}
		return false
	}, "specialist comment mailed")
	waitLong(t, func() bool { return len(portal.Tasks()) == n+1 && idle() }, "every task and its files")

	calls := portal.Calls()
	lastAdd, read := -1, -1
	for i, c := range calls {
		switch c.Method {
		case "tasks.task.add":
			lastAdd = i
		case "task.commentitem.get":
			if read < 0 {
				read = i
			}
		}
	}
	uploadsBefore := func(at int) int {
		k := 0
		for _, c := range calls[:at] {
			if c.Method == "disk.folder.uploadfile" {
				k++
			}
		}
		return k - 2 // the first task's two
	}
	if read < 0 || lastAdd < 0 {
		t.Fatalf("calls: read at %d, last add at %d", read, lastAdd)
	}
	// A batch waits at the priority of its most urgent call, and uploads
	// come last: a few may slip between batches, never the backlog's.
	if u := uploadsBefore(lastAdd); u > 4 {
		t.Errorf("%d of %d uploads went before the last task was made; want the tasks first", u, 2*n)
	}
	if u := uploadsBefore(read); u > 4 {
		t.Errorf("%d uploads went before the specialist's comment was read; want it ahead", u)
	}
	for _, tk := range portal.Tasks() {
		if len(tk.Files) != 2 {
			t.Errorf("task %d %q has %d files, want 2", tk.ID, tk.Title, len(tk.Files))
		}
	}
}
