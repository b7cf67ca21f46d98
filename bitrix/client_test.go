package bitrix_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"supportgate/bitrix"
	"supportgate/bitrix/bitrixtest"
)

// newClient returns a client for p with quick retries and no pacing, so
// tests run fast; pass opts to override.
func newClient(t *testing.T, p *bitrixtest.Portal, opts ...bitrix.Options) *bitrix.Client {
	t.Helper()
	o := bitrix.Options{RatePerSec: -1, RetryWait: 5 * time.Millisecond, Timeout: 2 * time.Second}
	if len(opts) > 0 {
		o = opts[0]
	}
	c, err := bitrix.New(p.WebhookURL(), o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{
		"", "ftp://portal/rest/1/x/", "https:///rest/1/x/", "https://portal/rest/1/",
		"https://portal/1/secret/", "https://portal/rest/1/secret/?auth=1", "https://u:p@portal/rest/1/s/",
	} {
		if _, err := bitrix.New(u, bitrix.Options{}); err == nil {
			t.Errorf("New(%q): no error", u)
		} else if strings.Contains(err.Error(), "secret") && strings.Contains(u, "secret") {
			t.Errorf("New(%q): error leaks the secret: %v", u, err)
		}
	}
	if _, err := bitrix.New("https://portal.bitrix24.ru/rest/1/abc/", bitrix.Options{}); err != nil {
		t.Errorf("good URL refused: %v", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://p.bitrix24.ru/rest/1/s3cr3t/":                    "https://p.bitrix24.ru/rest/1/***/",
		"https://p.bitrix24.ru/rest/1/s3cr3t/tasks.task.add.json": "https://p.bitrix24.ru/rest/1/***/tasks.task.add.json",
		"https://p/rest/api/1/s3cr3t/tasks.task.get":              "https://p/rest/api/1/***/tasks.task.get",
		"https://p/rest/upload.json?auth=s3cr3t&token=s3cr3t":     "https://p/rest/upload.json?auth=***&token=***",
		"%zz/rest/1/s3cr3t/x":                                     "%zz/rest/1/***/x",
	} {
		if got := bitrix.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCurrentUserCached(t *testing.T) {
	p := bitrixtest.NewWithOptions(t, bitrixtest.Options{UserID: 7, UserName: "Robo Cop", UserEmail: "r@x.test"})
	c := newClient(t, p)
	for range 3 {
		u, err := c.CurrentUser(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != 7 || u.FullName() != "Robo Cop" || u.Email != "r@x.test" {
			t.Fatalf("user = %+v", u)
		}
	}
	if n := len(p.CallsTo("user.current")); n != 1 {
		t.Errorf("user.current called %d times, want 1 (cached)", n)
	}
}

func TestThrottledPortalWaitsAndCreatesOnce(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	p.Throttle(3)
	id, err := c.AddTask(context.Background(), bitrix.TaskFields{Title: "Printer", ResponsibleID: p.UserID()})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Tasks(); len(got) != 1 || got[0].ID != id {
		t.Fatalf("tasks = %+v, want exactly task %d", got, id)
	}
	if n := len(p.CallsTo("tasks.task.add")); n != 4 {
		t.Errorf("tasks.task.add calls = %d, want 3 throttled + 1", n)
	}
}

func TestOperationTimeLimitRetried(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	p.FailNext("tasks.task.get", 429, "operation_time_limit") // case must not matter
	if _, err := c.GetTask(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
}

func TestThrottleGivesUpAfterMaxRetries(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p, bitrix.Options{RatePerSec: -1, RetryWait: time.Millisecond, MaxRetries: 2})
	p.Throttle(100)
	_, err := c.GetTask(context.Background(), 1)
	if !bitrix.IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable rate-limit error", err)
	}
	if n := len(p.Calls()); n != 3 {
		t.Errorf("calls = %d, want 1 + 2 retries", n)
	}
}

func TestLimiterPacesCalls(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p, bitrix.Options{RatePerSec: 50, Burst: 2})
	start := time.Now()
	for range 7 { // 2 free, then 5 at 50/s ≈ 100ms
		if _, err := c.GetTask(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("7 calls took %v; the limiter did not pace them", d)
	}
}

func TestAuthErrorNotRetried(t *testing.T) {
	p := bitrixtest.New(t)
	bad := strings.Replace(p.WebhookURL(), p.Secret(), "wrong-secret", 1)
	c, err := bitrix.New(bad, bitrix.Options{RatePerSec: -1, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AddTask(context.Background(), bitrix.TaskFields{Title: "x", ResponsibleID: 1})
	if !bitrix.IsAuth(err) || bitrix.IsRetryable(err) || errors.Is(err, bitrix.ErrAmbiguous) {
		t.Fatalf("err = %v; want auth, not retryable, not ambiguous", err)
	}
	var e *bitrix.Error
	if !errors.As(err, &e) || e.HTTPStatus != 401 || e.Method != "tasks.task.add" {
		t.Fatalf("err = %#v", err)
	}
	if n := len(p.Calls()); n != 1 {
		t.Errorf("calls = %d, want 1 (no retry)", n)
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error leaks the secret: %v", err)
	}
}

func TestRedirectRefused(t *testing.T) {
	p := bitrixtest.New(t)
	moved := bitrixtest.New(t)
	p.Redirect(moved.URL())
	c := newClient(t, p)
	_, err := c.AddTask(context.Background(), bitrix.TaskFields{Title: "x", ResponsibleID: 1})
	var e *bitrix.Error
	if !errors.As(err, &e) || e.Code != bitrix.CodeRedirect || e.HTTPStatus != http.StatusFound {
		t.Fatalf("err = %v, want a REDIRECT error", err)
	}
	if strings.Contains(err.Error(), p.Secret()) {
		t.Errorf("error leaks the secret: %v", err)
	}
	if n := len(moved.Calls()); n != 0 {
		t.Errorf("the redirect was followed: %d calls at the new address", n)
	}
	if len(p.Tasks())+len(moved.Tasks()) != 0 {
		t.Error("a task was created")
	}
}

func TestSecretNeverInErrors(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p, bitrix.Options{RatePerSec: -1, RetryWait: time.Millisecond, MaxRetries: -1, Timeout: 200 * time.Millisecond})
	ctx := context.Background()
	var errs []error
	p.FailNext("tasks.task.get", 502, "")
	_, err := c.GetTask(ctx, 1)
	errs = append(errs, err)
	p.CreateThenDrop("tasks.task.add")
	_, err = c.AddTask(ctx, bitrix.TaskFields{Title: "x", ResponsibleID: 1})
	errs = append(errs, err)
	p.CreateThenTimeout("task.commentitem.add")
	_, err = c.AddComment(ctx, p.Tasks()[0].ID, "hi", nil)
	errs = append(errs, err)
	p.Close() // connection refused from now on
	_, err = c.GetTask(ctx, 1)
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		if strings.Contains(err.Error(), p.Secret()) {
			t.Errorf("case %d: error leaks the secret: %v", i, err)
		}
	}
}

func TestRead5xxRetried(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	p.FailNext("tasks.task.get", 502, "")
	p.FailNext("tasks.task.get", 500, "ERROR_UNEXPECTED_ANSWER")
	if _, err := c.GetTask(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	p.FailNext("tasks.task.get", 500, "INTERNAL_SERVER_ERROR") // hard: not retried
	if _, err := c.GetTask(context.Background(), 1); err == nil {
		t.Fatal("INTERNAL_SERVER_ERROR was retried into success")
	}
	p.FailNext("tasks.task.get", 503, "OVERLOAD_LIMIT")
	if _, err := c.GetTask(context.Background(), 1); err == nil || bitrix.IsRetryable(err) {
		t.Fatalf("OVERLOAD_LIMIT: err = %v, want a final error", err)
	}
}

func TestErrorHelpers(t *testing.T) {
	mk := func(code string, status int, desc string) error {
		return &bitrix.Error{Method: "m", Code: code, HTTPStatus: status, Description: desc}
	}
	cases := []struct {
		err                   error
		retry, auth, notFound bool
	}{
		{mk("QUERY_LIMIT_EXCEEDED", 503, ""), true, false, false},
		{mk("query_limit_exceeded", 503, ""), true, false, false},
		{mk("OPERATION_TIME_LIMIT", 429, ""), true, false, false},
		{mk("", 502, "Bad Gateway"), true, false, false},
		{mk("INTERNAL_SERVER_ERROR", 500, ""), false, false, false},
		{mk("OVERLOAD_LIMIT", 503, ""), false, false, false},
		{mk("NO_AUTH_FOUND", 401, ""), false, true, false},
		{mk("invalid_credentials", 401, ""), false, true, false},
		{mk("insufficient_scope", 403, ""), false, true, false},
		{mk("ACCESS_DENIED", 403, ""), false, true, false},
		{mk("expired_token", 401, ""), false, true, false},
		{mk("INVALID_TOKEN", 401, ""), false, true, false},
		{mk("authorization_error", 401, ""), false, true, false},
		{mk("user_access_error", 403, ""), false, true, false},
		{mk("ERROR_CORE", 400, "TASKS_ERROR_EXCEPTION_#512; x; 512/TE/ITEM_NOT_FOUND_OR_NOT_ACCESSIBLE"), false, false, true},
		{mk("", 400, "Not found"), false, false, true},
		{mk("ERROR_NOT_FOUND", 400, "Could not find entity"), false, false, true},
		{mk("ERROR_METHOD_NOT_FOUND", 404, ""), false, false, false},
		{mk("ERROR_CORE", 400, "Task title is not specified"), false, false, false},
		{&bitrix.AmbiguousError{Method: "m", Err: mk("", 502, "")}, false, false, false},
		{context.Canceled, false, false, false},
		{nil, false, false, false},
	}
	for _, c := range cases {
		if got := bitrix.IsRetryable(c.err); got != c.retry {
			t.Errorf("IsRetryable(%v) = %v", c.err, got)
		}
		if got := bitrix.IsAuth(c.err); got != c.auth {
			t.Errorf("IsAuth(%v) = %v", c.err, got)
		}
		if got := bitrix.IsNotFound(c.err); got != c.notFound {
			t.Errorf("IsNotFound(%v) = %v", c.err, got)
		}
	}
}

func TestIDDecodesStringsAndNumbers(t *testing.T) {
	for in, want := range map[string]bitrix.ID{`"3711"`: 3711, `3711`: 3711, `null`: 0, `""`: 0, `false`: 0, `" 42 "`: 42, `1e3`: 1000} {
		var id bitrix.ID
		if err := id.UnmarshalJSON([]byte(in)); err != nil || id != want {
			t.Errorf("ID(%s) = %d, %v; want %d", in, id, err, want)
		}
	}
	for _, in := range []string{`"abc"`, `{}`, `1.5`} {
		var id bitrix.ID
		if err := id.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("ID(%s): no error", in)
		}
	}
}

// Against a portal enforcing a real leaky bucket, a client paced a little
// under it never gets throttled; an unpaced one is throttled and recovers.
func TestLeakyBucketPortal(t *testing.T) {
	p := bitrixtest.New(t)
	p.RateLimit(5, 50)
	paced := newClient(t, p, bitrix.Options{RatePerSec: 40, Burst: 4, RetryWait: 20 * time.Millisecond})
	for range 15 {
		if _, err := paced.GetTask(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range p.Calls() {
		if c.Status == 503 {
			t.Errorf("paced client was throttled")
			break
		}
	}
	p.RateLimit(3, 20) // fresh, slower bucket: no timing luck under -race
	p.ResetCalls()
	unpaced := newClient(t, p, bitrix.Options{RatePerSec: -1, RetryWait: 50 * time.Millisecond, MaxRetries: 10})
	for range 10 {
		if _, err := unpaced.GetTask(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	throttled := 0
	for _, c := range p.Calls() {
		if c.Status == 503 {
			throttled++
		}
	}
	if throttled == 0 {
		t.Error("unpaced client was never throttled; is the bucket on?")
	}
}

func TestRequestHeaders(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	if _, err := c.GetTask(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	call := p.Calls()[0]
	if call.HTTPMethod != "POST" || !strings.HasPrefix(call.ContentType, "application/json") ||
		call.Header.Get("Accept") != "application/json" || !strings.HasPrefix(call.Header.Get("User-Agent"), "supportgate") {
		t.Errorf("call = %s %s %v", call.HTTPMethod, call.ContentType, call.Header)
	}
}

func TestIsRefused(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&bitrix.Error{Code: "ACCESS_DENIED", HTTPStatus: 403}, true},
		{&bitrix.Error{Code: "ERROR_CORE", HTTPStatus: 0}, true}, // inside batch
		{&bitrix.Error{Code: "FILE_TOO_LARGE", HTTPStatus: 400}, true},
		{&bitrix.Error{Code: "NO_AUTH_FOUND", HTTPStatus: 401}, false},
		{&bitrix.Error{Code: "insufficient_scope", HTTPStatus: 403}, false},
		{&bitrix.Error{Code: "QUERY_LIMIT_EXCEEDED", HTTPStatus: 503}, false},
		{&bitrix.Error{HTTPStatus: 502}, false},
		{&bitrix.AmbiguousError{Method: "x", Err: &bitrix.Error{HTTPStatus: 500}}, false},
		{nil, false},
	} {
		if got := bitrix.IsRefused(c.err); got != c.want {
			t.Errorf("IsRefused(%v) = %v", c.err, got)
		}
	}
}
