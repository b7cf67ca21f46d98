package bitrixtest

import (
	"slices"
	"strings"
)

func init() {
	methods["user.current"] = userCurrent
	methods["tasks.task.add"] = taskAdd
	methods["tasks.task.get"] = taskGet
	methods["tasks.task.update"] = taskUpdate
	methods["tasks.task.list"] = taskList
}

func userCurrent(c *call) (any, *apiError) {
	u := c.p.users[c.p.userID]
	return map[string]any{"ID": strconvI(u.ID), "ACTIVE": true, "NAME": u.Name,
		"LAST_NAME": u.LastName, "EMAIL": u.Email, "UF_DEPARTMENT": []int{1}}, nil
}

func missing(name string) *apiError {
	return &apiError{400, "100", "Could not find value for parameter {" + name + "}"}
}

// taskAdd validates like the portal (§2.1): fields required, TITLE and an
// existing RESPONSIBLE_ID required, files must be Drive objects "n"+id.
func taskAdd(c *call) (any, *apiError) {
	v, ok := c.params.getFold("fields")
	f, isMap := v.(*omap)
	if !ok || !isMap || len(f.keys) == 0 {
		return nil, missing("fields")
	}
	t := &Task{Priority: 1, Fields: map[string]any{}, NewCard: c.p.newCard}
	if err := c.p.applyTaskFields(t, f, true); err != nil {
		return nil, err
	}
	if pv, ok := t.Fields["PARENT_ID"]; ok {
		pid, _ := toInt(pv)
		if _, exists := c.p.tasks[pid]; c.p.refuseParent || !exists {
			return nil, errCore("Parent task not found or not accessible (PARENT_ID " + strconvI(pid) + ")")
		}
	}
	c.p.storeTask(t)
	return map[string]any{"task": c.p.taskJSON(t, nil)}, nil
}

// applyTaskFields copies UPPER_CASE fields into t. On add, TITLE and
// RESPONSIBLE_ID are required.
func (p *Portal) applyTaskFields(t *Task, f *omap, add bool) *apiError {
	str := func(k string) (string, bool) {
		v, ok := f.get(k)
		if !ok {
			return "", false
		}
		s, _ := toString(v)
		return s, true
	}
	num := func(k string) (int64, bool) {
		v, ok := f.get(k)
		if !ok {
			return 0, false
		}
		n, _ := toInt(v)
		return n, true
	}
	if s, ok := str("TITLE"); ok || add {
		if strings.TrimSpace(s) == "" {
			return errCore("Task title is not specified")
		}
		t.Title = s
	}
	if n, ok := num("RESPONSIBLE_ID"); ok || add {
		if n <= 0 {
			return errCore("Assignee is not specified")
		}
		if _, known := p.users[n]; !known {
			return errCore("User not found (RESPONSIBLE_ID " + strconvI(n) + ")")
		}
		t.ResponsibleID = n
	}
	if s, ok := str("DESCRIPTION"); ok {
		t.Description = s
	}
	if n, ok := num("CREATED_BY"); ok {
		t.CreatedBy = n
	}
	if n, ok := num("GROUP_ID"); ok {
		t.GroupID = n
	}
	if n, ok := num("PRIORITY"); ok && n >= 0 && n <= 2 {
		t.Priority = int(n)
	}
	if n, ok := num("STATUS"); ok && n >= 1 && n <= 7 {
		t.Status = int(n)
	}
	if s, ok := str("XML_ID"); ok {
		t.XMLID = s
	}
	if v, ok := f.get("TAGS"); ok {
		t.Tags = toList(v)
	}
	if v, ok := f.get("AUDITORS"); ok {
		t.Auditors = nil
		for _, s := range toList(v) {
			if n, ok := toInt(s); ok {
				t.Auditors = append(t.Auditors, n)
			}
		}
	}
	if v, ok := f.get("UF_CRM_TASK"); ok {
		t.CRM = toList(v)
	}
	if v, ok := f.get("UF_TASK_WEBDAV_FILES"); ok {
		files, err := p.driveRefs(toList(v))
		if err != nil {
			return err
		}
		t.Files = files
	}
	handled := []string{"TITLE", "RESPONSIBLE_ID", "DESCRIPTION", "CREATED_BY", "GROUP_ID", "PRIORITY",
		"STATUS", "XML_ID", "TAGS", "AUDITORS", "UF_CRM_TASK", "UF_TASK_WEBDAV_FILES"}
	for _, k := range f.keys {
		if !slices.Contains(handled, k) {
			t.Fields[k] = plain(f.m[k])
		}
	}
	return nil
}

// driveRefs resolves "n123" references to Drive objects (§5). A bare
// number is an attachment id, valid only for files already attached;
// we do not model that, so it is refused.
func (p *Portal) driveRefs(refs []string) ([]int64, *apiError) {
	var out []int64
	for _, r := range refs {
		id, ok := toInt(strings.TrimPrefix(r, "n"))
		if !strings.HasPrefix(r, "n") || !ok || p.files[id] == nil {
			return nil, errCore("File not found or not accessible: " + r)
		}
		out = append(out, id)
	}
	return out, nil
}

// taskID reads the taskId parameter: missing → "100", junk → "0".
func taskIDParam(c *call) (int64, *apiError) {
	v, ok := c.params.getFold("taskId")
	if !ok {
		return 0, missing("taskId")
	}
	id, ok := toInt(v)
	if !ok || id <= 0 {
		return 0, &apiError{400, "0", "wrong task id"}
	}
	return id, nil
}

// taskGet answers {"result": []} for an unknown task, HTTP 200 (§2.2).
func taskGet(c *call) (any, *apiError) {
	id, err := taskIDParam(c)
	if err != nil {
		return nil, err
	}
	t, ok := c.p.tasks[id]
	if !ok {
		return []any{}, nil
	}
	sel, _ := c.params.getFold("select")
	return map[string]any{"task": c.p.taskJSON(t, toList(sel))}, nil
}

func taskUpdate(c *call) (any, *apiError) {
	id, err := taskIDParam(c)
	if err != nil {
		return nil, err
	}
	v, _ := c.params.getFold("fields")
	f, isMap := v.(*omap)
	if !isMap || len(f.keys) == 0 {
		return nil, missing("fields")
	}
	t, ok := c.p.tasks[id]
	if !ok {
		return nil, &apiError{400, "0", "Action on the task is not allowed (internal error)"}
	}
	upd := cloneTask(t)
	if upd.Fields == nil {
		upd.Fields = map[string]any{}
	}
	if err := c.p.applyTaskFields(&upd, f, false); err != nil {
		return nil, err
	}
	*t = upd
	return map[string]any{"task": c.p.taskJSON(t, nil)}, nil
}
