package bitrixtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// post sends a raw request and returns the status and decoded envelope.
func post(t *testing.T, url, ctype, body string) (int, map[string]json.RawMessage, []byte) {
	t.Helper()
	resp, err := http.Post(url, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env map[string]json.RawMessage
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("%s: not JSON: %s", url, raw)
	}
	return resp.StatusCode, env, raw
}

const jsonCT = "application/json"

func errCode(env map[string]json.RawMessage) string {
	var s string
	_ = json.Unmarshal(env["error"], &s)
	return s
}

func TestRoutingAndAuth(t *testing.T) {
	p := NewWithOptions(t, Options{UserID: 7, Secret: "s3cr3t"})
	base := p.URL() + "/rest/"
	cases := []struct {
		url    string
		status int
		code   string
	}{
		{base + "7/s3cr3t/user.current", 200, ""},
		{base + "7/s3cr3t/USER.Current.json", 200, ""},
		{base + "7/s3cr3t/user.current/", 200, ""},
		{base + "7/wrong/user.current", 401, "INVALID_CREDENTIALS"},
		{base + "8/s3cr3t/user.current", 401, "INVALID_CREDENTIALS"},
		{base + "s3cr3t/user.current", 404, "ERROR_METHOD_NOT_FOUND"},
		{base + "user.current", 401, "NO_AUTH_FOUND"},
		{base + "7/s3cr3t/no.such.method", 404, "ERROR_METHOD_NOT_FOUND"},
	}
	for _, c := range cases {
		status, env, _ := post(t, c.url, jsonCT, "{}")
		if status != c.status || errCode(env) != c.code {
			t.Errorf("%s: %d %q, want %d %q", c.url, status, errCode(env), c.status, c.code)
		}
	}
	status, env, raw := post(t, p.WebhookURL()+"user.current", jsonCT, "")
	if status != 200 || !bytes.Contains(raw, []byte(`"ID":"7"`)) || env["time"] == nil {
		t.Errorf("user.current: %s", raw)
	}
}

func TestParamEncodings(t *testing.T) {
	p := New(t)
	u := p.WebhookURL() + "tasks.task.add"
	// Form with PHP brackets; "&" inside a value is %26.
	status, _, raw := post(t, u, "application/x-www-form-urlencoded",
		"fields[TITLE]=A%26B&fields[RESPONSIBLE_ID]=1&fields[AUDITORS][]=1&fields[AUDITORS][]=1&fields[TAGS][0]=x")
	if status != 200 {
		t.Fatalf("form: %d %s", status, raw)
	}
	// Query string plus JSON body, body wins.
	status, _, raw = post(t, u+"?fields[TITLE]=query", jsonCT, `{"fields":{"TITLE":"json","RESPONSIBLE_ID":"1"}}`)
	if status != 200 {
		t.Fatalf("query+json: %d %s", status, raw)
	}
	// Invalid JSON is no parameters at all, like PHP.
	status, env, _ := post(t, u, jsonCT, `{"fields":{"TITLE":"x","RESPONSIBLE_ID":1}`)
	if status != 400 || errCode(env) != "100" {
		t.Errorf("invalid JSON: %d %q", status, errCode(env))
	}
	tasks := p.Tasks()
	if len(tasks) != 2 || tasks[0].Title != "A&B" || len(tasks[0].Auditors) != 2 || tasks[0].Tags[0] != "x" || tasks[1].Title != "json" {
		t.Errorf("tasks = %+v", tasks)
	}
}

func TestTypeFidelity(t *testing.T) {
	p := New(t)
	w := p.WebhookURL()
	_, env, raw := post(t, w+"tasks.task.add", jsonCT, `{"fields":{"TITLE":"a/b","RESPONSIBLE_ID":1}}`)
	if !bytes.Contains(raw, []byte(`"id":"101"`)) || !bytes.Contains(raw, []byte(`a\/b`)) {
		t.Errorf("task add: want string id and escaped slash: %s", raw)
	}
	_ = env
	_, env, _ = post(t, w+"tasks.task.get", jsonCT, `{"taskId":999}`)
	if string(env["result"]) != "[]" {
		t.Errorf("missing task result = %s, want []", env["result"])
	}
	status, env, _ := post(t, w+"tasks.task.get", jsonCT, `{"taskId":"abc"}`)
	if status != 400 || errCode(env) != "0" {
		t.Errorf("junk task id: %d %s", status, errCode(env))
	}
	_, env, _ = post(t, w+"task.commentitem.add", jsonCT, `{"TASKID":101,"FIELDS":{"POST_MESSAGE":"hi"}}`)
	if string(env["result"]) != "3001" {
		t.Errorf("comment add result = %s, want int 3001", env["result"])
	}
	status, env, _ = post(t, w+"task.commentitem.add", jsonCT, `{"TASKID":101,"FIELDS":{"POST_MESSAGE":""}}`)
	if status != 400 || errCode(env) != "ERROR_CORE" {
		t.Errorf("empty comment: %d %s", status, errCode(env))
	}
	status, env, _ = post(t, w+"task.commentitem.add", jsonCT, `{"TASKID":101,"FIELDS":{"POST_MESSAGE":"x","BOGUS":1}}`)
	if status != 400 || !strings.Contains(string(env["error_description"]), "must not contain key") {
		t.Errorf("unknown key: %d %s", status, env["error_description"])
	}
	_, env, _ = post(t, w+"disk.folder.uploadfile", jsonCT, `{"id":11,"data":{"NAME":"a.txt"},"fileContent":["a.txt","aGk="],"generateUniqueName":true}`)
	var up struct {
		ID json.Number
	}
	if err := json.Unmarshal(env["result"], &up); err != nil || up.ID == "" {
		t.Errorf("upload result %s: want int ID (%v)", env["result"], err)
	}
	if !bytes.Equal(p.File(9001), []byte("hi")) {
		t.Error("upload bytes not stored")
	}
	_, env, _ = post(t, w+"crm.duplicate.findbycomm", jsonCT, `{"type":"EMAIL","values":["x@y.z"]}`)
	if string(env["result"]) != "[]" {
		t.Errorf("no duplicates = %s, want []", env["result"])
	}
	status, env, raw = post(t, w+"crm.contact.get", jsonCT, `{"id":5}`)
	if status != 400 || string(env["error"]) != `""` {
		t.Errorf("contact not found: %d %s", status, raw)
	}
	status, env, _ = post(t, w+"crm.duplicate.findbycomm", jsonCT, `{"values":["x@y.z"]}`)
	if status != 400 || errCode(env) != "Communication type is not defined" {
		t.Errorf("no type: %d %q", status, errCode(env))
	}
}

func TestListEnvelope(t *testing.T) {
	p := New(t)
	for range 51 {
		p.CreateTask(Task{Title: "t", ResponsibleID: 1})
	}
	_, env, _ := post(t, p.WebhookURL()+"tasks.task.list", jsonCT, `{"order":{"ID":"asc"}}`)
	if string(env["total"]) != "51" || string(env["next"]) != "50" {
		t.Errorf("total %s next %s", env["total"], env["next"])
	}
	_, env, _ = post(t, p.WebhookURL()+"tasks.task.list", jsonCT, `{"order":{"ID":"asc"},"start":50}`)
	if _, ok := env["next"]; ok || !bytes.Contains(env["result"], []byte(`"id":"151"`)) {
		t.Errorf("last page: next=%s result=%s", env["next"], env["result"])
	}
	status, env, _ := post(t, p.WebhookURL()+"tasks.task.list", jsonCT, `{"order":{"BOGUS":"asc"}}`)
	if status != 400 || errCode(env) != "0" {
		t.Errorf("bad order key: %d %q", status, errCode(env))
	}
}

func TestFailureInjection(t *testing.T) {
	p := New(t)
	w := p.WebhookURL()
	p.Throttle(1)
	status, env, _ := post(t, w+"user.current", jsonCT, "{}")
	if status != 503 || errCode(env) != "QUERY_LIMIT_EXCEEDED" {
		t.Errorf("throttle: %d %q", status, errCode(env))
	}
	p.FailNext("USER.CURRENT", 429, "OPERATION_TIME_LIMIT")
	status, env, _ = post(t, w+"user.current", jsonCT, "{}")
	if status != 429 || errCode(env) != "OPERATION_TIME_LIMIT" {
		t.Errorf("fail next: %d %q", status, errCode(env))
	}
	if status, _, _ = post(t, w+"user.current", jsonCT, "{}"); status != 200 {
		t.Errorf("after injected failures: %d", status)
	}
	// CreateThenTimeout: the work is done, the answer never comes.
	p.CreateThenTimeout("tasks.task.add")
	c := &http.Client{Timeout: 200 * time.Millisecond}
	_, err := c.Post(w+"tasks.task.add", jsonCT, strings.NewReader(`{"fields":{"TITLE":"slow","RESPONSIBLE_ID":1}}`))
	if err == nil {
		t.Fatal("stalled call answered")
	}
	if tasks := p.Tasks(); len(tasks) != 1 || tasks[0].Title != "slow" {
		t.Errorf("tasks = %+v", tasks)
	}
	calls := p.CallsTo("tasks.task.add")
	if len(calls) != 1 || calls[0].Params["fields"].(map[string]any)["TITLE"] != "slow" {
		t.Errorf("call log = %+v", calls)
	}
}
