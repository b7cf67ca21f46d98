package bitrix_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"supportgate/bitrix"
	"supportgate/bitrix/bitrixtest"
)

func TestAddTaskRoundTrip(t *testing.T) {
	p := bitrixtest.New(t)
	p.AddUser(5, "Anna Auditor", "anna@x.test")
	c := newClient(t, p)
	ctx := context.Background()
	fid, err := c.UploadFile(ctx, p.FolderID(), "scan.pdf", []byte("%PDF-1.4"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.AddTask(ctx, bitrix.TaskFields{
		Title: "Mail: printer broken", Description: "[B]help[/B]", ResponsibleID: p.UserID(),
		GroupID: 3, Priority: bitrix.PriorityHigh, Tags: []string{"support"}, Auditors: []int64{5},
		CRM: []string{"C_7"}, Files: []string{fmt.Sprintf("n%d", fid)}, XMLID: "sg-abc",
		Extra: map[string]any{"UF_MAIL_ID": "<m@x>", "TITLE": "ignored"},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, ok := p.Task(id)
	if !ok {
		t.Fatalf("task %d not stored", id)
	}
	if st.Title != "Mail: printer broken" || st.Description != "[B]help[/B]" || st.GroupID != 3 ||
		st.Priority != 2 || !slices.Equal(st.Tags, []string{"support"}) || !slices.Equal(st.Auditors, []int64{5}) ||
		!slices.Equal(st.CRM, []string{"C_7"}) || !slices.Equal(st.Files, []int64{fid}) || st.XMLID != "sg-abc" ||
		st.Fields["UF_MAIL_ID"] != "<m@x>" {
		t.Errorf("stored task = %+v", st)
	}

	got, err := c.GetTask(ctx, id)
	if err != nil || got == nil {
		t.Fatalf("GetTask = %v, %v", got, err)
	}
	if got.ID != id || got.Title != st.Title || got.Status != 2 || got.ChatID != st.ChatID ||
		got.ResponsibleID != p.UserID() || got.XMLID != "sg-abc" || got.CreatedDate == "" {
		t.Errorf("GetTask = %+v, stored %+v", got, st)
	}
}

func TestAddTaskDefaultPriorityNotSent(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	id, err := c.AddTask(context.Background(), bitrix.TaskFields{Title: "t", ResponsibleID: p.UserID()})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := p.Task(id); st.Priority != 1 {
		t.Errorf("priority = %d, want the portal default 1", st.Priority)
	}
	fields := p.CallsTo("tasks.task.add")[0].Params["fields"].(map[string]any)
	if _, ok := fields["PRIORITY"]; ok {
		t.Error("PRIORITY sent although not set")
	}
}

func TestAddTaskValidation(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	ctx := context.Background()
	// Client-side check: no call at all.
	if _, err := c.AddTask(ctx, bitrix.TaskFields{Title: " ", ResponsibleID: 1}); err == nil {
		t.Error("empty title accepted")
	}
	// Portal-side: unknown responsible.
	_, err := c.AddTask(ctx, bitrix.TaskFields{Title: "x", ResponsibleID: 999})
	var e *bitrix.Error
	if !errors.As(err, &e) || e.Code != "ERROR_CORE" || e.HTTPStatus != 400 || bitrix.IsRetryable(err) {
		t.Errorf("unknown responsible: err = %v", err)
	}
	// A file reference that is not a Drive object.
	_, err = c.AddTask(ctx, bitrix.TaskFields{Title: "x", ResponsibleID: 1, Files: []string{"n424242"}})
	if !errors.As(err, &e) || e.Code != "ERROR_CORE" {
		t.Errorf("bad file: err = %v", err)
	}
	if n := len(p.Tasks()); n != 0 {
		t.Errorf("%d tasks created by invalid requests", n)
	}
}

func TestGetMissingTaskIsNil(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	id := p.CreateTask(bitrixtest.Task{Title: "gone", ResponsibleID: 1})
	p.DeleteTask(id)
	got, err := c.GetTask(context.Background(), id)
	if got != nil || err != nil {
		t.Fatalf("GetTask(deleted) = %+v, %v; want nil, nil", got, err)
	}
}

func TestCreateTimeoutIsAmbiguousAndFindable(t *testing.T) {
	for _, mode := range []string{"timeout", "drop"} {
		t.Run(mode, func(t *testing.T) {
			p := bitrixtest.New(t)
			c := newClient(t, p, bitrix.Options{RatePerSec: -1, RetryWait: time.Millisecond, Timeout: 300 * time.Millisecond})
			ctx := context.Background()
			before := time.Now().Add(-time.Minute).Format(time.RFC3339)
			if mode == "timeout" {
				p.CreateThenTimeout("tasks.task.add")
			} else {
				p.CreateThenDrop("tasks.task.add")
			}
			_, err := c.AddTask(ctx, bitrix.TaskFields{Title: "Mail: lost answer", ResponsibleID: p.UserID(), XMLID: "sg-42"})
			if !errors.Is(err, bitrix.ErrAmbiguous) || bitrix.IsRetryable(err) {
				t.Fatalf("err = %v, want ErrAmbiguous", err)
			}
			if n := len(p.CallsTo("tasks.task.add")); n != 1 {
				t.Fatalf("create sent %d times, want 1", n)
			}
			// The caller looks before creating again.
			found, err := c.FindTasks(ctx, map[string]any{"TITLE": "Mail: lost answer", ">=CREATED_DATE": before})
			if err != nil {
				t.Fatal(err)
			}
			if len(found) != 1 || found[0].ID != p.Tasks()[0].ID {
				t.Fatalf("FindTasks = %+v", found)
			}
			byXML, err := c.FindTasks(ctx, map[string]any{"XML_ID": "sg-42"})
			if err != nil || len(byXML) != 1 {
				t.Fatalf("FindTasks(XML_ID) = %+v, %v", byXML, err)
			}
		})
	}
}

func TestCreate5xxIsAmbiguousButRateLimitRetried(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	ctx := context.Background()
	p.FailNext("tasks.task.add", 502, "")
	_, err := c.AddTask(ctx, bitrix.TaskFields{Title: "x", ResponsibleID: 1})
	var e *bitrix.Error
	if !errors.Is(err, bitrix.ErrAmbiguous) || !errors.As(err, &e) || e.HTTPStatus != 502 {
		t.Fatalf("502 on create: err = %v", err)
	}
	p.FailNext("tasks.task.add", 500, "INTERNAL_SERVER_ERROR")
	if _, err = c.AddTask(ctx, bitrix.TaskFields{Title: "x", ResponsibleID: 1}); !errors.Is(err, bitrix.ErrAmbiguous) {
		t.Fatalf("500 INTERNAL_SERVER_ERROR on create: err = %v, want ErrAmbiguous", err)
	}
	// The caller's own deadline expiring mid-request is ambiguous too.
	p.CreateThenTimeout("tasks.task.add")
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = c.AddTask(short, bitrix.TaskFields{Title: "x", ResponsibleID: 1})
	cancel()
	if !errors.Is(err, bitrix.ErrAmbiguous) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caller deadline on create: err = %v", err)
	}
	if n := len(p.CallsTo("tasks.task.add")); n != 3 {
		t.Fatalf("creates sent %d times, want 3 (none retried)", n)
	}
	p.FailNext("tasks.task.add", 503, "QUERY_LIMIT_EXCEEDED")
	if _, err := c.AddTask(ctx, bitrix.TaskFields{Title: "x", ResponsibleID: 1}); err != nil {
		t.Fatalf("rate-limited create not retried: %v", err)
	}
	p.FailNext("tasks.task.add", 400, "ERROR_CORE")
	if _, err := c.AddTask(ctx, bitrix.TaskFields{Title: "x", ResponsibleID: 1}); err == nil || errors.Is(err, bitrix.ErrAmbiguous) {
		t.Fatalf("400 on create: err = %v, want a plain error", err)
	}
}

func TestFindTasksPages(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	for i := range 120 {
		title := "other"
		if i%2 == 0 {
			title = "Mail: wanted"
		}
		p.CreateTask(bitrixtest.Task{Title: title, ResponsibleID: 1})
	}
	got, err := c.FindTasks(context.Background(), map[string]any{"TITLE": "wanted"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 60 {
		t.Fatalf("found %d, want 60", len(got))
	}
	if !slices.IsSortedFunc(got, func(a, b bitrix.Task) int { return int(a.ID - b.ID) }) {
		t.Error("not oldest first")
	}
	if n := len(p.CallsTo("tasks.task.list")); n != 2 {
		t.Errorf("list calls = %d, want 2 pages", n)
	}
	none, err := c.FindTasks(context.Background(), map[string]any{"TITLE": "nothing like it"})
	if err != nil || len(none) != 0 {
		t.Errorf("no match: %v, %v", none, err)
	}
}

// The add's answer carries the new task's chat id (new card), so no
// tasks.task.get is needed for it.
func TestAddTaskChat(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	id, chat, known, err := c.AddTaskChat(context.Background(), bitrix.TaskFields{Title: "t", ResponsibleID: p.UserID()})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := p.Task(id)
	if !known || chat != st.ChatID {
		t.Errorf("chat %d (known %v), portal has %d", chat, known, st.ChatID)
	}
}
