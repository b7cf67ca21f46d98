package bitrix_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"supportgate/bitrix"
	"supportgate/bitrix/bitrixtest"
)

func batchClient(t *testing.T, p *bitrixtest.Portal) *bitrix.Client {
	return newClient(t, p, bitrix.Options{RatePerSec: -1, RetryWait: 5 * time.Millisecond, Timeout: time.Second,
		Batch: true, BatchWindow: 50 * time.Millisecond})
}

// addTasks creates n tasks at once, one goroutine each (the way n jobs
// do), and returns each one's id and error.
func addTasks(c *bitrix.Client, p *bitrixtest.Portal, n int) ([]int64, []error) {
	ids, errs := make([]int64, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = c.AddTask(context.Background(), bitrix.TaskFields{
				Title: fmt.Sprintf("t%d", i), ResponsibleID: p.UserID(), XMLID: fmt.Sprintf("m%d", i)})
		}()
	}
	wg.Wait()
	return ids, errs
}

func TestBatchCoalescesCalls(t *testing.T) {
	p := bitrixtest.New(t)
	c := batchClient(t, p)
	ids, errs := addTasks(c, p, 30)
	for i := range ids {
		if errs[i] != nil || ids[i] == 0 {
			t.Fatalf("task %d: %d, %v", i, ids[i], errs[i])
		}
		if tk, ok := p.Task(ids[i]); !ok || tk.Title != fmt.Sprintf("t%d", i) {
			t.Errorf("task %d is %+v, want title t%d", ids[i], tk, i)
		}
	}
	if n := len(p.CallsTo("batch")); n == 0 || n > 3 {
		t.Errorf("%d batch requests for 30 calls; want them coalesced", n)
	}
	if got := len(p.Tasks()); got != 30 {
		t.Errorf("%d tasks, want 30", got)
	}
	// Reads in a batch: positional comment args, lists, a missing task.
	cid, err := c.AddComment(context.Background(), ids[0], "hello [b]you[/b] & co", nil)
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.ListComments(context.Background(), ids[0], 0)
	if err != nil || len(list) != 1 || list[0].ID != cid || list[0].Message != "hello [b]you[/b] & co" {
		t.Errorf("ListComments = %+v, %v", list, err)
	}
	if tk, err := c.GetTask(context.Background(), 999999); tk != nil || err != nil {
		t.Errorf("GetTask(missing) = %+v, %v; want nil, nil", tk, err)
	}
	p.AddContact("ivan@customer.test", "Иван Петров")
	if id, name, err := c.FindContactByEmail(context.Background(), "ivan@customer.test"); id == 0 || name != "Иван Петров" || err != nil {
		t.Errorf("FindContactByEmail = %d, %q, %v", id, name, err)
	}
	for _, call := range p.Calls() {
		if call.Method == "disk.folder.uploadfile" && call.Batch {
			t.Error("an upload went inside a batch")
		}
	}
}

// One sub-call fails, the others succeed: each caller gets its own outcome.
func TestBatchSubCallErrorIsItsOwn(t *testing.T) {
	p := bitrixtest.New(t)
	c := batchClient(t, p)
	p.FailNext("tasks.task.add", 400, "ERROR_CORE")
	ids, errs := addTasks(c, p, 10)
	failed := 0
	for i := range ids {
		if errs[i] != nil {
			failed++
			if errors.Is(errs[i], bitrix.ErrAmbiguous) || bitrix.IsRetryable(errs[i]) {
				t.Errorf("sub-call error %v should be definite", errs[i])
			}
		}
	}
	if failed != 1 || len(p.Tasks()) != 9 {
		t.Errorf("%d failed, %d tasks; want 1 and 9", failed, len(p.Tasks()))
	}
	if n := len(p.CallsTo("batch")); n > 2 {
		t.Errorf("%d batches", n)
	}
}

// The answer of a batch is lost after the portal made some of its tasks:
// every create in it is ambiguous, none is repeated blindly.
func TestBatchTimeoutIsAmbiguous(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p, bitrix.Options{RatePerSec: -1, RetryWait: 5 * time.Millisecond, Timeout: 300 * time.Millisecond,
		Batch: true, BatchWindow: 50 * time.Millisecond})
	p.BatchTimeoutAfter(2)
	_, errs := addTasks(c, p, 5)
	for i, err := range errs {
		if !errors.Is(err, bitrix.ErrAmbiguous) {
			t.Errorf("call %d: %v, want ambiguous", i, err)
		}
	}
	if n := len(p.Tasks()); n != 2 {
		t.Errorf("%d tasks, want the 2 the portal made", n)
	}
}

// QUERY_LIMIT_EXCEEDED for the whole batch: nothing ran, every call is
// retried, nothing made twice.
func TestBatchRefusedIsRetried(t *testing.T) {
	p := bitrixtest.New(t)
	c := batchClient(t, p)
	p.FailNext("batch", 503, "QUERY_LIMIT_EXCEEDED")
	ids, errs := addTasks(c, p, 8)
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
	}
	if n := len(p.Tasks()); n != 8 {
		t.Errorf("%d tasks, want 8", n)
	}
}

// The fake's bucket: burst requests pass, the next is refused, and a
// batch of many calls is one request.
func TestPortalBucketCountsBatchAsOne(t *testing.T) {
	p := bitrixtest.NewWithOptions(t, bitrixtest.Options{RateBurst: 3, RatePerSec: 0.001})
	c := newClient(t, p, bitrix.Options{RatePerSec: -1, MaxRetries: -1, Batch: true, BatchWindow: 50 * time.Millisecond})
	_, errs := addTasks(c, p, 40)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	d := newClient(t, p, bitrix.Options{RatePerSec: -1, MaxRetries: -1})
	var last error
	for range 3 {
		_, last = d.GetTask(context.Background(), 101)
	}
	var e *bitrix.Error
	if !errors.As(last, &e) || e.Code != bitrix.CodeQueryLimit {
		t.Errorf("after the burst: %v, want QUERY_LIMIT_EXCEEDED", last)
	}
	if req, refused := p.Budget(); refused != 1 || req != 3 {
		t.Errorf("budget: %d requests, %d refused; want 3, 1", req, refused)
	}
}

// A portal that refuses batch itself: the calls go one by one.
func TestBatchRefusedByPortalFallsBack(t *testing.T) {
	p := bitrixtest.New(t)
	c := batchClient(t, p)
	p.FailNext("batch", 404, "ERROR_METHOD_NOT_FOUND")
	ids, errs := addTasks(c, p, 3)
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
	}
	if n := len(p.Tasks()); n != 3 {
		t.Errorf("%d tasks, want 3", n)
	}
	for _, call := range p.CallsTo("tasks.task.add") {
		if call.Batch {
			t.Error("still batching after the portal refused batch")
		}
	}
}
