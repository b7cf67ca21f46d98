package bitrixtest

import (
	"encoding/json"
	"strings"
	"testing"
)

// The wire shape of batch (docs/bitrix24.md §1.7): results by key, result_error for
// the failing sub-call only, [] for empty sections, halt stops the rest,
// uploads refused, more than 50 refused, and one bucket unit for all.
func TestBatchWire(t *testing.T) {
	p := NewWithOptions(t, Options{RateBurst: 2, RatePerSec: 0.001})
	u := p.WebhookURL() + "batch.json"
	body := `{"halt":0,"cmd":{"me":"user.current","t":"tasks.task.add?fields[TITLE]=x&fields[RESPONSIBLE_ID]=1","bad":"tasks.task.add?fields[TITLE]=","g":"tasks.task.get?taskId=999"}}`
	status, env, raw := post(t, u, jsonCT, body)
	if status != 200 {
		t.Fatalf("status %d: %s", status, raw)
	}
	var res map[string]json.RawMessage
	json.Unmarshal(env["result"], &res)
	var results, errs map[string]json.RawMessage
	json.Unmarshal(res["result"], &results)
	json.Unmarshal(res["result_error"], &errs)
	if results["me"] == nil || results["t"] == nil || string(results["g"]) != "[]" {
		t.Errorf("results %s", res["result"])
	}
	if errs["bad"] == nil || len(errs) != 1 {
		t.Errorf("errors %s, want only bad", res["result_error"])
	}
	if string(res["result_next"]) != "[]" || string(res["result_time"]) != "[]" {
		t.Errorf("empty sections: next %s time %s, want []", res["result_next"], res["result_time"])
	}
	if len(p.Tasks()) != 1 {
		t.Errorf("%d tasks", len(p.Tasks()))
	}

	// halt: the first error stops the rest.
	status, env, raw = post(t, u, jsonCT, `{"halt":1,"cmd":{"bad":"tasks.task.add?fields[TITLE]=","t":"tasks.task.add?fields[TITLE]=y&fields[RESPONSIBLE_ID]=1"}}`)
	json.Unmarshal(env["result"], &res)
	if status != 200 || string(res["result"]) != "[]" || len(p.Tasks()) != 1 {
		t.Errorf("halt: %d %s, %d tasks", status, raw, len(p.Tasks()))
	}
	// The bucket (2) is spent by the two batches: the next is refused.
	status, env, _ = post(t, u, jsonCT, `{"cmd":{"me":"user.current"}}`)
	if status != 503 || errCode(env) != "QUERY_LIMIT_EXCEEDED" {
		t.Errorf("third request: %d %s", status, errCode(env))
	}
	if req, refused := p.Budget(); req != 2 || refused != 1 {
		t.Errorf("budget %d/%d", req, refused)
	}
}

func TestBatchRefusesUploadsAndLength(t *testing.T) {
	p := New(t)
	u := p.WebhookURL() + "batch.json"
	status, env, _ := post(t, u, jsonCT, `{"cmd":{"f":"disk.folder.uploadfile?id=11"}}`)
	if status != 405 || errCode(env) != "ERROR_BATCH_METHOD_NOT_ALLOWED" {
		t.Errorf("upload in batch: %d %s", status, errCode(env))
	}
	var cmds []string
	for i := range 51 {
		cmds = append(cmds, `"c`+strings.Repeat("x", i)+`":"user.current"`)
	}
	status, env, _ = post(t, u, jsonCT, `{"cmd":{`+strings.Join(cmds, ",")+`}}`)
	if status != 400 || errCode(env) != "ERROR_BATCH_LENGTH_EXCEEDED" {
		t.Errorf("51 calls: %d %s", status, errCode(env))
	}
}
