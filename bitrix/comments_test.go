package bitrix_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"supportgate/bitrix"
	"supportgate/bitrix/bitrixtest"
)

func TestAddCommentRoundTrip(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	ctx := context.Background()
	task := p.CreateTask(bitrixtest.Task{Title: "t", ResponsibleID: 1})
	fid, err := c.UploadFile(ctx, p.FolderID(), "log.txt", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.AddComment(ctx, task, "Customer wrote:\n[QUOTE]it & <broke>[/QUOTE]", []string{fmt.Sprintf("n%d", fid)})
	if err != nil {
		t.Fatal(err)
	}
	stored := p.Comments(task)
	if len(stored) != 1 || stored[0].ID != id || stored[0].AuthorID != p.UserID() ||
		stored[0].Message != "Customer wrote:\n[QUOTE]it & <broke>[/QUOTE]" || len(stored[0].Files) != 1 || stored[0].Files[0] != fid {
		t.Fatalf("stored = %+v", stored)
	}

	got, err := c.GetComment(ctx, task, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.AuthorID != p.UserID() || got.AuthorName != "Webhook Robot" || got.Message != stored[0].Message ||
		got.PostDate == "" || len(got.Files) != 1 || got.Files[0].Name != "log.txt" || got.Files[0].Size != 5 {
		t.Fatalf("GetComment = %+v", got)
	}
	// The attachment's URL is portal-relative; Download resolves it.
	data, err := c.Download(ctx, got.Files[0].DownloadURL)
	if err != nil || string(data) != "hello" {
		t.Fatalf("Download = %q, %v", data, err)
	}
}

// The wire body of task.commentitem.* must carry TASKID first: the portal
// reads the values by position (docs/bitrix24.md §1.3).
func TestCommentArgsArePositionalOnTheWire(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	ctx := context.Background()
	task := p.CreateTask(bitrixtest.Task{Title: "t", ResponsibleID: 1})
	id, err := c.AddComment(ctx, task, "hi", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetComment(ctx, task, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListComments(ctx, task, 0); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"task.commentitem.add":     fmt.Sprintf(`{"TASKID":%d,"FIELDS":{"POST_MESSAGE":"hi"}}`, task),
		"task.commentitem.get":     fmt.Sprintf(`{"TASKID":%d,"ITEMID":%d}`, task, id),
		"task.commentitem.getlist": fmt.Sprintf(`{"TASKID":%d,"ORDER":{"ID":"asc"},"FILTER":{"\u003eID":0}}`, task),
	}
	for method, body := range want {
		calls := p.CallsTo(method)
		if len(calls) != 1 {
			t.Fatalf("%s: %d calls", method, len(calls))
		}
		if got := string(calls[0].Body); got != body {
			t.Errorf("%s body = %s\nwant %s", method, got, body)
		}
		if calls[0].Query != "" {
			t.Errorf("%s: query params %q would shift positions", method, calls[0].Query)
		}
	}
}

// The fake must punish the wrong order the way the portal does.
func TestFakeRejectsWrongCommentOrder(t *testing.T) {
	p := bitrixtest.New(t)
	task := p.CreateTask(bitrixtest.Task{Title: "t", ResponsibleID: 1})
	for _, body := range []string{
		fmt.Sprintf(`{"FIELDS":{"POST_MESSAGE":"hi"},"TASKID":%d}`, task),
		`{"TASKID":` + fmt.Sprint(task) + `,"FIELDS":{"POST_MESSAGE":"hi"}`, // invalid JSON: no params
	} {
		resp, err := http.Post(p.WebhookURL()+"task.commentitem.add.json", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !bytes.Contains(b, []byte("NOT_FOUND_OR_NOT_ACCESSIBLE")) && !bytes.Contains(b, []byte("WRONG_ARGUMENTS")) {
			t.Errorf("body %s: %d %s", body, resp.StatusCode, b)
		}
	}
	// An extra query parameter shifts the positions, too.
	resp, err := http.Post(p.WebhookURL()+"task.commentitem.add.json?debug=1", "application/json",
		strings.NewReader(fmt.Sprintf(`{"TASKID":%d,"FIELDS":{"POST_MESSAGE":"hi"}}`, task)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("query param shift: status %d", resp.StatusCode)
	}
	// The numeric-key form works.
	resp, err = http.Post(p.WebhookURL()+"task.commentitem.add", "application/x-www-form-urlencoded",
		strings.NewReader(fmt.Sprintf("0=%d&1[POST_MESSAGE]=a%%26b", task)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(p.Comments(task)) != 1 || p.Comments(task)[0].Message != "a&b" {
		t.Errorf("numeric form: status %d, comments %+v", resp.StatusCode, p.Comments(task))
	}
}

func TestGetCommentNotFound(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	task := p.CreateTask(bitrixtest.Task{Title: "t", ResponsibleID: 1})
	_, err := c.GetComment(context.Background(), task, 12345)
	if !bitrix.IsNotFound(err) || bitrix.IsRetryable(err) {
		t.Fatalf("err = %v, want not found", err)
	}
	_, err = c.AddComment(context.Background(), 999999, "hi", nil)
	if !bitrix.IsNotFound(err) || errors.Is(err, bitrix.ErrAmbiguous) {
		t.Fatalf("comment on missing task: err = %v", err)
	}
}

func TestListCommentsAfterID(t *testing.T) {
	for _, style := range []string{"{}", "[]", "absent"} {
		t.Run(style, func(t *testing.T) {
			p := bitrixtest.New(t)
			p.SetEmptyAttachments(style)
			p.AddUser(503, "Klaus Weber", "klaus@corp.test")
			c := newClient(t, p)
			ctx := context.Background()
			task := p.CreateTask(bitrixtest.Task{Title: "t", ResponsibleID: 1})
			own, err := c.AddComment(ctx, task, "from customer", nil)
			if err != nil {
				t.Fatal(err)
			}
			c1 := p.AddSpecialistComment(task, 503, "first answer", nil)
			c2 := p.AddSpecialistComment(task, 503, "[B]second[/B]", []bitrixtest.Upload{{Name: "a.png", Data: []byte("PNG")}, {Name: "b.txt", Data: []byte("bb")}})

			all, err := c.ListComments(ctx, task, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 3 || all[0].ID != own || all[1].ID != c1 || all[2].ID != c2 {
				t.Fatalf("all = %+v", all)
			}
			after, err := c.ListComments(ctx, task, c1)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != 1 || after[0].ID != c2 || after[0].AuthorName != "Klaus Weber" ||
				after[0].AuthorEmail != "klaus@corp.test" || len(after[0].Files) != 2 {
				t.Fatalf("after = %+v", after)
			}
			for _, f := range after[0].Files {
				data, err := c.Download(ctx, f.DownloadURL)
				if err != nil || int64(len(data)) != f.Size {
					t.Errorf("file %+v: %q, %v", f, data, err)
				}
			}
			if got, _ := c.ListComments(ctx, task, c2); len(got) != 0 {
				t.Errorf("after last = %+v", got)
			}
		})
	}
}

func TestChatMessages(t *testing.T) {
	p := bitrixtest.New(t)
	p.AddUser(503, "Klaus Weber", "klaus@corp.test")
	p.SetNewCard(true)
	c := newClient(t, p)
	ctx := context.Background()
	id, err := c.AddTask(ctx, bitrix.TaskFields{Title: "new card", ResponsibleID: 1})
	if err != nil {
		t.Fatal(err)
	}
	task, err := c.GetTask(ctx, id)
	if err != nil || task.ChatID == 0 {
		t.Fatalf("task = %+v, %v", task, err)
	}
	p.AddChatMessage(id, 0, "[USER=503 REPLACE]Klaus[/USER] joined", nil)
	var ids []int64
	for i := range 60 { // more than one page of 50
		ids = append(ids, p.AddChatMessage(id, 503, fmt.Sprintf("answer %d", i), nil))
	}
	withFile := p.AddChatMessage(id, 503, "see attached", []bitrixtest.Upload{{Name: "r.pdf", Data: []byte("%PDF")}})

	msgs, err := c.ChatMessages(ctx, task.ChatID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 62 || msgs[0].AuthorID != 0 || msgs[1].ID != ids[0] || msgs[61].ID != withFile {
		t.Fatalf("got %d messages, first %+v", len(msgs), msgs[:2])
	}
	// One message by id, as an event names it: FIRST_ID = MESSAGE_ID-1.
	one, err := c.ChatMessages(ctx, task.ChatID, withFile-1)
	if err != nil || len(one) != 1 {
		t.Fatalf("one = %+v, %v", one, err)
	}
	m := one[0]
	if m.Text != "see attached" || m.AuthorName != "Klaus Weber" || m.AuthorEmail != "klaus@corp.test" ||
		m.ChatID != task.ChatID || m.Date == "" || len(m.Files) != 1 || m.Files[0].Name != "r.pdf" {
		t.Fatalf("message = %+v", m)
	}
	data, err := c.Download(ctx, m.Files[0].DownloadURL)
	if err != nil || string(data) != "%PDF" {
		t.Fatalf("Download = %q, %v", data, err)
	}
	if _, err := c.ChatMessages(ctx, 777777, 0); err == nil {
		t.Error("unknown chat: no error")
	}
}
