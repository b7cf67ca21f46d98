package gateway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"supportgate/bitrix/bitrixtest"
	"supportgate/mailtest"
	"supportgate/tracker"
)

// newRealtimeEnv is a gateway with a portal, wait_for_task 1s, per-client
// limits lifted and portalWorkers workers in the portal lane.
func newRealtimeEnv(t *testing.T, portalWorkers int) (*env, *bitrixtest.Portal) {
	portal := bitrixtest.NewWithOptions(t, bitrixtest.Options{UserID: 1, FolderID: 11})
	portal.AddUser(7, "Ольга Смирнова", "olga@example.com")
	e := &env{t: t, dir: t.TempDir(), upstream: mailtest.Start(t, false), smarthost: mailtest.Start(t, false)}
	extra := fmt.Sprintf("[bitrix]\nwebhook_url = %q\nresponsible_id = 7\napplication_token = %q\npoll_interval = \"1h\"\nrate_per_second = 1000\n"+
		"[autoreply]\nwait_for_task = \"1s\"\nmax_per_sender = 0\n[auth]\nautoreply = \"off\"\n", portal.WebhookURL(), appToken)
	text := baseConfig(e.dir, e.upstream.Addr(), e.smarthost.Addr(), extra)
	text = strings.Replace(text, "workers = 4", fmt.Sprintf("workers = 4\nportal_workers = %d", portalWorkers), 1)
	text = strings.Replace(text, "max_messages_per_sender = 0", "max_messages_per_sender = 0\nmax_connections_per_ip = 1000\nmax_connections_per_minute = 0", 1)
	e.startText(text)
	return e, portal
}

func jobsOf(t *testing.T, e *env, kind string) int {
	t.Helper()
	jobs, err := e.g.Store.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range jobs {
		if j.Kind == kind {
			n++
		}
	}
	return n
}

// With the portal holding every call, the forward and the auto-reply
// still go; the task follows when the portal answers again, once.
func TestPortalStalledMailStillFlows(t *testing.T) {
	e, portal := newRealtimeEnv(t, 4)
	release := portal.Hold()
	defer release()
	msg := "From: Ivan <ivan@customer.test>\r\nTo: support@example.com\r\nSubject: printer\r\nMessage-ID: <stall1@customer.test>\r\n\r\nHelp\r\n"
	if err := send(t, e.g.SMTPAddr(), "ivan@customer.test", []string{"support@example.com"}, msg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(e.upstream.Messages()) == 1 }, "forward while the portal is stalled")
	waitFor(t, func() bool { return len(replies(e)) == 1 }, "auto-reply while the portal is stalled")
	if portal.Held() == 0 || len(portal.Tasks()) != 0 {
		t.Fatalf("portal not stalled: %d calls held, %d tasks", portal.Held(), len(portal.Tasks()))
	}
	if bytes.Contains(replies(e)[0].Data, []byte("ivan@customer.test")) == false {
		t.Error("greeting should fall back to the address")
	}
	release()
	waitFor(t, func() bool { return jobsOf(t, e, tracker.KindTask) == 0 }, "task job done after the stall")
	if n := len(portal.Tasks()); n != 1 {
		t.Errorf("%d tasks, want 1", n)
	}
	if n := len(replies(e)); n != 1 {
		t.Errorf("%d auto-replies, want 1", n)
	}
	// The backpressure is visible: lanes and the portal's budget.
	resp, err := http.Get("http://" + e.g.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`supportgate_lane_queued{lane="portal"}`, `supportgate_lane_running{lane="forward"}`,
		`supportgate_lane_oldest_seconds{lane="reply"}`, `supportgate_bitrix_requests_total{kind="batch",outcome="ok"}`,
		`supportgate_bitrix_batch_calls_count`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// A specialist's comment queued behind 100 new tasks is mailed before
// them: the notify job goes first in the portal lane, and its calls
// first in the batches.
func TestNotifyOvertakesTaskBacklog(t *testing.T) {
	e, portal := newRealtimeEnv(t, 2)
	first := "From: vip@customer.test\r\nTo: support@example.com\r\nSubject: first\r\nMessage-ID: <vip1@customer.test>\r\n\r\nHelp\r\n"
	if err := send(t, e.g.SMTPAddr(), "vip@customer.test", []string{"support@example.com"}, first); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(portal.Tasks()) == 1 && jobsOf(t, e, tracker.KindTask) == 0 }, "first task")
	task := portal.Tasks()[0].ID

	release := portal.Hold()
	defer release()
	for i := range 100 {
		from := fmt.Sprintf("c%d@customer.test", i)
		msg := fmt.Sprintf("From: %s\r\nTo: support@example.com\r\nSubject: backlog %d\r\nMessage-ID: <bl%d@customer.test>\r\n\r\nHelp\r\n", from, i, i)
		if err := send(t, e.g.SMTPAddr(), from, []string{"support@example.com"}, msg); err != nil {
			t.Fatal(err)
		}
	}
	waitLong(t, func() bool { return jobsOf(t, e, tracker.KindTask) == 100 }, "100 task jobs queued")
	cid := portal.AddSpecialistComment(task, 7, "Замените картридж.", nil)
	resp, err := portal.FireCommentEvent("http://"+e.g.HTTPAddr()+"/bitrix/event", appToken, task, cid)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("event: %v %v", resp, err)
	}
	resp.Body.Close()
	waitFor(t, func() bool { return jobsOf(t, e, tracker.KindNotify) == 1 }, "notify job queued")
	release()

	notified := func() bool {
		for _, m := range e.smarthost.Messages() {
			if slices.Contains(m.Rcpts, "vip@customer.test") && bytes.Contains(m.Data, []byte("Subject: ")) &&
				!bytes.Contains(m.Data, []byte("Auto-Submitted: auto-replied")) {
				return true
			}
		}
		return false
	}
	waitFor(t, notified, "specialist comment mailed")
	// Count, once the backlog is filed, the task creations that came
	// after the notify job's read of the comment.
	waitLong(t, func() bool { return jobsOf(t, e, tracker.KindTask) == 0 }, "backlog filed")
	calls := portal.Calls()
	at := slices.IndexFunc(calls, func(c bitrixtest.Call) bool { return c.Method == "task.commentitem.get" })
	if at < 0 {
		t.Fatal("the comment was never read")
	}
	later := 0
	for _, c := range calls[at+1:] {
		if c.Method == "tasks.task.add" {
			later++
		}
	}
	if later < 90 {
		t.Errorf("only %d of 100 new tasks were created after the notify job read the comment; want it ahead of the backlog", later)
	}
	if n := len(portal.Tasks()); n != 101 {
		t.Errorf("%d tasks, want 101", n)
	}
}

// waitLong is waitFor for the steps that work through a backlog: a busy
// machine (the race detector, other tests) may need longer than 10s.
func waitLong(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for: %s", what)
}
