package bitrix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Priority of a new task. The zero value leaves the portal's default
// (medium); the wire values are 0/1/2 (§2.1), which is why they are not
// used directly here.
type Priority int

const (
	PriorityDefault Priority = iota
	PriorityLow
	PriorityMedium
	PriorityHigh
)

// TaskFields describes a task to create (tasks.task.add, §2.1).
type TaskFields struct {
	Title         string // required
	Description   string // BBCode
	ResponsibleID int64  // required
	GroupID       int64
	Priority      Priority
	Tags          []string
	Auditors      []int64
	CRM           []string // UF_CRM_TASK bindings: "C_7", "CO_5", "D_10", ...
	Files         []string // UF_TASK_WEBDAV_FILES: "n"+Drive object id
	XMLID         string   // external id; writability is unverified (§10)
	ParentID      int64    // PARENT_ID: the task this one follows up
	// Extra holds any other field, e.g. portal UF_* fields. The named
	// fields above win on conflict.
	Extra map[string]any
}

// wire builds the UPPER_CASE "fields" object.
func (f TaskFields) wire() map[string]any {
	m := make(map[string]any, len(f.Extra)+10)
	for k, v := range f.Extra {
		m[k] = v
	}
	m["TITLE"] = f.Title
	m["RESPONSIBLE_ID"] = f.ResponsibleID
	if f.Description != "" {
		m["DESCRIPTION"] = f.Description
	}
	if f.GroupID != 0 {
		m["GROUP_ID"] = f.GroupID
	}
	if f.Priority != PriorityDefault {
		m["PRIORITY"] = int(f.Priority) - 1
	}
	if len(f.Tags) > 0 {
		m["TAGS"] = f.Tags
	}
	if len(f.Auditors) > 0 {
		m["AUDITORS"] = f.Auditors
	}
	if len(f.CRM) > 0 {
		m["UF_CRM_TASK"] = f.CRM
	}
	if len(f.Files) > 0 {
		m["UF_TASK_WEBDAV_FILES"] = f.Files
	}
	if f.XMLID != "" {
		m["XML_ID"] = f.XMLID
	}
	if f.ParentID > 0 {
		m["PARENT_ID"] = f.ParentID
	}
	return m
}

// Task is the part of a task supportgate reads back.
type Task struct {
	ID            int64
	Title         string
	Description   string
	Status        int // 2 pending, 3 in progress, 4 awaiting control, 5 completed, 6 deferred (§2.6)
	ResponsibleID int64
	CreatedBy     int64
	CreatedDate   string // ISO-8601 with offset, as the portal sent it
	XMLID         string
	// ChatID is the new task card's chat (dialog "chat"+ChatID); 0 for
	// old-card tasks.
	ChatID int64
	// ClosedDate is when the task was completed, ChangedDate its last
	// change (ISO-8601, "" when the portal sent none).
	ClosedDate  string
	ChangedDate string
}

// UnmarshalJSON reads the camelCase, mostly-strings shape of tasks.task.*
// (§2.1).
func (t *Task) UnmarshalJSON(b []byte) error {
	var w struct {
		ID            ID         `json:"id"`
		Title         flexString `json:"title"`
		Description   flexString `json:"description"`
		Status        flexString `json:"status"`
		ResponsibleID ID         `json:"responsibleId"`
		CreatedBy     ID         `json:"createdBy"`
		CreatedDate   flexString `json:"createdDate"`
		XMLID         flexString `json:"xmlId"`
		ChatID        ID         `json:"chatId"`
		ClosedDate    flexString `json:"closedDate"`
		ChangedDate   flexString `json:"changedDate"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*t = Task{
		ID: int64(w.ID), Title: string(w.Title), Description: string(w.Description),
		Status: int(w.Status.int64()), ResponsibleID: int64(w.ResponsibleID),
		CreatedBy: int64(w.CreatedBy), CreatedDate: string(w.CreatedDate),
		XMLID: string(w.XMLID), ChatID: int64(w.ChatID),
		ClosedDate: string(w.ClosedDate), ChangedDate: string(w.ChangedDate),
	}
	return nil
}

// taskSelect is always sent: without select the portal picks for us (§2.2).
var taskSelect = []string{"ID", "TITLE", "DESCRIPTION", "STATUS", "RESPONSIBLE_ID",
	"CREATED_BY", "CREATED_DATE", "XML_ID", "CHAT_ID", "CLOSED_DATE", "CHANGED_DATE"}

// AddTask creates a task and returns its id. Not retried on an unknown
// outcome: see ErrAmbiguous and FindTasks.
func (c *Client) AddTask(ctx context.Context, f TaskFields) (int64, error) {
	id, _, _, err := c.AddTaskChat(ctx, f)
	return id, err
}

// AddTaskChat is AddTask that also returns the new task's chat id when
// the answer has one (chatKnown; 0 is an old-card task), which saves the
// tasks.task.get that would ask for it.
func (c *Client) AddTaskChat(ctx context.Context, f TaskFields) (id, chat int64, chatKnown bool, err error) {
	if strings.TrimSpace(f.Title) == "" || f.ResponsibleID <= 0 {
		return 0, 0, false, errors.New("bitrix tasks.task.add: title and responsible id are required")
	}
	var res struct {
		Task struct {
			ID     ID  `json:"id"`
			ChatID *ID `json:"chatId"`
		} `json:"task"`
	}
	params := map[string]any{"fields": f.wire()}
	if _, err := c.call(ctx, "tasks.task.add", params, create, &res); err != nil {
		return 0, 0, false, err
	}
	if res.Task.ID <= 0 {
		return 0, 0, false, &AmbiguousError{Method: "tasks.task.add",
			Err: &Error{Method: "tasks.task.add", Description: "answer has no task id", HTTPStatus: 200}}
	}
	if res.Task.ChatID != nil {
		return int64(res.Task.ID), int64(*res.Task.ChatID), true, nil
	}
	return int64(res.Task.ID), 0, false, nil
}

// GetTask fetches a task. A missing (or invisible) task is (nil, nil): the
// portal answers {"result": []} with HTTP 200 for it (§2.2).
func (c *Client) GetTask(ctx context.Context, id int64) (*Task, error) {
	var raw json.RawMessage
	params := map[string]any{"taskId": id, "select": taskSelect}
	if _, err := c.call(ctx, "tasks.task.get", params, read, &raw); err != nil {
		return nil, err
	}
	if isEmptyPHP(raw) {
		return nil, nil
	}
	var res struct {
		Task *Task `json:"task"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, &Error{Method: "tasks.task.get", Description: "unexpected result: " + err.Error(), HTTPStatus: 200}
	}
	if res.Task == nil || res.Task.ID == 0 {
		return nil, nil
	}
	return res.Task, nil
}

// maxListPages bounds FindTasks (50 rows per page) so a too-wide filter
// cannot walk the whole portal.
const maxListPages = 20

// FindTasks lists tasks matching filter (tasks.task.list §2.3), oldest
// first. Filter keys are the portal's: "TITLE", ">=CREATED_DATE",
// "RESPONSIBLE_ID", "XML_ID" (unverified, §10)… Use it to find the task a
// timed-out AddTask may have created before creating it again.
func (c *Client) FindTasks(ctx context.Context, filter map[string]any) ([]Task, error) {
	if filter == nil {
		filter = map[string]any{} // "filter": null is not what we mean
	}
	var out []Task
	start := int64(0)
	for range maxListPages {
		params := map[string]any{
			"filter": filter,
			"select": taskSelect,
			"order":  map[string]string{"ID": "asc"},
			"start":  start,
		}
		var raw json.RawMessage
		env, err := c.call(ctx, "tasks.task.list", params, read, &raw)
		if err != nil {
			return nil, err
		}
		if !isEmptyPHP(raw) {
			var res struct {
				Tasks []Task `json:"tasks"`
			}
			if err := json.Unmarshal(raw, &res); err != nil {
				return nil, &Error{Method: "tasks.task.list", Description: "unexpected result: " + err.Error(), HTTPStatus: 200}
			}
			out = append(out, res.Tasks...)
		}
		if env.Next == nil || int64(*env.Next) <= start {
			return out, nil
		}
		start = int64(*env.Next)
	}
	return out, fmt.Errorf("bitrix tasks.task.list: more than %d pages, narrow the filter", maxListPages)
}

// isEmptyPHP: PHP serialises an empty array as [] even where an object is
// expected (§8), and some methods answer null or false for "nothing".
func isEmptyPHP(raw json.RawMessage) bool {
	s := string(bytes.TrimSpace(raw))
	return s == "" || s == "[]" || s == "{}" || s == "null" || s == "false"
}
