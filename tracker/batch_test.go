package tracker

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"supportgate/bitrix"
	"supportgate/store"
)

// batchEnv is a tracker whose jobs' calls share batches: a long window,
// so the task jobs queued together go in one batch even on a busy machine.
func batchEnv(t *testing.T, timeout time.Duration) *env {
	return newEnv(t, nil, bitrix.Options{BatchWindow: 400 * time.Millisecond, Timeout: timeout})
}

// newThreads makes n threads (a task job each) whose requesters' CRM
// answers are already learned, so the task jobs' first calls are their
// tasks.task.add, sent together.
func (e *env) newThreads(n int) []*store.Thread {
	var out []*store.Thread
	for i := range n {
		from := fmt.Sprintf("c%d@customer.test", i)
		if err := e.st.Learn(learnKey(e.portal.URL(), from), store.LearnedName{Expires: time.Now().Add(time.Hour)}); err != nil {
			e.t.Fatal(err)
		}
		raw := buildMail(from, fmt.Sprintf("Тема %d", i), fmt.Sprintf("b%d@customer.test", i), "", "текст")
		th, _ := e.newThread(raw, from, "")
		out = append(out, th)
	}
	return out
}

// exactlyOne checks every thread has its own task, made once.
func (e *env) exactlyOne(threads []*store.Thread) {
	e.t.Helper()
	byMarker := map[string]int{}
	for _, tk := range e.portal.Tasks() {
		byMarker[tk.XMLID]++
	}
	if n := len(e.portal.Tasks()); n != len(threads) {
		e.t.Errorf("%d tasks for %d threads", n, len(threads))
	}
	for _, th := range threads {
		if byMarker[Marker(th.ID)] != 1 {
			e.t.Errorf("thread %s has %d tasks", th.ID, byMarker[Marker(th.ID)])
		}
		got := e.thread(th.ID)
		if tk, ok := e.portal.Task(got.TaskID); !ok || tk.XMLID != Marker(th.ID) {
			e.t.Errorf("thread %s points at task %d (%+v)", th.ID, got.TaskID, tk)
		}
	}
}

// One sub-call of a batch fails, the others succeed: each job gets its
// own outcome (one retries, the others are done), one task per thread.
func TestBatchOneSubCallFails(t *testing.T) {
	e := batchEnv(t, 0)
	e.portal.FailNext("tasks.task.add", 400, "ERROR_CORE")
	threads := e.newThreads(4)
	e.idle()
	e.exactlyOne(threads)
	if n := len(e.portal.CallsTo("crm.duplicate.findbycomm")); n != 0 {
		t.Errorf("%d CRM lookups; the learned answers should have been used", n)
	}
	adds := e.portal.CallsTo("tasks.task.add")
	failed := 0
	for _, c := range adds {
		if c.Status != 200 {
			failed++
		}
		if !c.Batch {
			t.Errorf("tasks.task.add sent on its own, not in a batch")
		}
	}
	if failed != 1 || len(adds) != 5 {
		t.Errorf("%d adds, %d failed; want 5 and 1 (the failed job alone retried)", len(adds), failed)
	}
	if sizes := e.portal.Batches(); len(sizes) == 0 || slices.Max(sizes) < 2 {
		// Timing (a very slow machine) can split them; the outcome per
		// job above is what matters.
		t.Logf("batch sizes %v: the jobs' calls were not coalesced", sizes)
	}
}

// A batch's answer is lost after the portal made some of its tasks:
// every job looks for its marker before creating again, and each thread
// still ends with exactly one task.
func TestBatchTimeoutAfterSomeTasks(t *testing.T) {
	e := batchEnv(t, 400*time.Millisecond)
	e.portal.BatchTimeoutAfter(2)
	threads := e.newThreads(4)
	e.idle()
	e.exactlyOne(threads)
	if len(e.portal.CallsTo("tasks.task.list")) == 0 {
		t.Error("no marker lookup after the lost batch")
	}
}

// A 503 for the whole batch (no code: it may or may not have run) is
// retried after a look, without a duplicate.
func TestBatch503IsRetriedWithoutDuplicate(t *testing.T) {
	e := batchEnv(t, 0)
	e.portal.FailNext("batch", 503, "")
	threads := e.newThreads(4)
	e.idle()
	e.exactlyOne(threads)
	if len(e.portal.CallsTo("tasks.task.list")) == 0 {
		t.Error("no marker lookup after the 503")
	}
}

// Large messages are admitted against a byte budget: beyond it a job
// waits in the queue, and a message larger than the budget goes alone.
func TestMemBudget(t *testing.T) {
	var b memBudget
	if !b.take(bigBudget + 1) {
		t.Fatal("a huge message must be admitted when nothing else is held")
	}
	if b.take(bigMessage) {
		t.Error("admitted past the budget")
	}
	b.give(bigBudget + 1)
	if !b.take(bigBudget/2) || !b.take(bigBudget/2) || b.take(bigMessage) {
		t.Error("budget not shared as expected")
	}
}

// A follow-up that waits for its thread's task is woken by the task job,
// not by polling: with the poll an hour away, it still lands at once.
func TestCommentWokenByTask(t *testing.T) {
	defer func(d time.Duration) { taskPoll = d }(taskPoll)
	taskPoll = time.Hour
	e := newEnv(t, nil, bitrix.Options{})
	release := e.portal.Hold()
	defer release()
	raw := buildMail("anna@customer.test", "Тема", "w1@customer.test", "", "первое")
	th, _ := e.newThread(raw, "anna@customer.test", "")
	e.reply(th, buildMail("anna@customer.test", "Re: Тема", "w2@customer.test", "w1@customer.test", "второе"), "anna@customer.test")
	waiting := func() bool {
		for _, j := range e.jobs(KindComment) {
			if j.State == store.Queued && j.NextRun.After(time.Now().Add(time.Minute)) {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(10 * time.Second); !waiting(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the comment job never waited for the task")
		}
	}
	release()
	e.idle()
	tasks := e.portal.Tasks()
	if len(tasks) != 1 {
		t.Fatalf("%d tasks", len(tasks))
	}
	if cms := e.portal.Comments(tasks[0].ID); len(cms) != 1 || !strings.Contains(cms[0].Message, "второе") {
		t.Fatalf("comments %+v", cms)
	}
}
