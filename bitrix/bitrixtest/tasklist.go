package bitrixtest

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// pageSize is fixed by the portal (§1.4).
const pageSize = 50

// taskJSON renders a task the way tasks.task.* do: camelCase keys, string
// scalars, chatId an int (§2.1, §2.2). With a select list only those
// fields (plus id and chatId) are returned; UF fields only when selected.
func (p *Portal) taskJSON(t *Task, sel []string) map[string]any {
	str := strconvI
	auditors := []string{}
	for _, a := range t.Auditors {
		auditors = append(auditors, str(a))
	}
	var xml any
	if t.XMLID != "" {
		xml = t.XMLID
	}
	creator := map[string]any{"id": str(t.CreatedBy), "name": "", "link": "/company/personal/user/" + str(t.CreatedBy) + "/", "icon": "", "workPosition": ""}
	if u := p.users[t.CreatedBy]; u != nil {
		creator["name"] = u.fullName()
	}
	m := map[string]any{
		"id": str(t.ID), "title": t.Title, "description": t.Description,
		"priority": str(int64(t.Priority)), "status": str(int64(t.Status)),
		"createdBy": str(t.CreatedBy), "responsibleId": str(t.ResponsibleID),
		"groupId": str(t.GroupID), "deadline": nil, "createdDate": t.CreatedDate.Format(isoTime),
		"descriptionInBbcode": "Y", "xmlId": xml, "auditors": auditors, "accomplices": []string{},
		"group": []any{}, "newCommentsCount": 0, "chatId": t.ChatID, "creator": creator,
		"action":     map[string]bool{"edit": true, "complete": true},
		"closedDate": nil, "changedDate": t.CreatedDate.Format(isoTime),
	}
	if !t.ClosedDate.IsZero() {
		m["closedDate"] = t.ClosedDate.Format(isoTime)
		m["changedDate"] = t.ClosedDate.Format(isoTime)
	}
	wantUF := false
	for _, s := range sel {
		if strings.HasPrefix(strings.ToUpper(s), "UF_") {
			wantUF = true
		}
	}
	if wantUF { // selecting any of the three returns all three (§2.2)
		att := []int64{}
		for _, f := range t.Files {
			att = append(att, f) // we do not model attachment ids for tasks
		}
		m["ufCrmTask"] = nonNil(t.CRM)
		m["ufTaskWebdavFiles"] = att
		m["ufMailMessage"] = nil
	}
	if len(sel) == 0 || slices.Contains(sel, "*") {
		return m
	}
	out := map[string]any{"id": m["id"], "chatId": m["chatId"]}
	for _, s := range sel {
		if k := camel(s); m[k] != nil || hasKey(m, k) {
			out[k] = m[k]
		}
	}
	for _, k := range []string{"ufCrmTask", "ufTaskWebdavFiles", "ufMailMessage"} {
		if hasKey(m, k) {
			out[k] = m[k]
		}
	}
	return out
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// camel turns RESPONSIBLE_ID into responsibleId.
func camel(s string) string {
	parts := strings.Split(strings.ToLower(s), "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

var sortKeys = []string{"ID", "TITLE", "CREATED_DATE", "CHANGED_DATE", "DEADLINE", "REAL_STATUS",
	"STATUS", "PRIORITY", "RESPONSIBLE_ID", "CREATED_BY", "GROUP_ID"}

// taskList filters, sorts and pages like tasks.task.list (§2.3). Filter
// keys we do not model are ignored, as CTasks ignores unknown ones.
func taskList(c *call) (any, *apiError) {
	fv, _ := c.params.getFold("filter")
	filter, _ := fv.(*omap)
	ov, _ := c.params.getFold("order")
	order, _ := ov.(*omap)
	sv, _ := c.params.getFold("select")
	sel := toList(sv)
	startV, _ := c.params.getFold("start")
	start, _ := toInt(startV)

	var rows []*Task
	for _, id := range slices.Sorted(maps.Keys(c.p.tasks)) {
		t := c.p.tasks[id]
		if filter == nil || matchTask(t, filter) {
			rows = append(rows, t)
		}
	}
	// Default order is ID desc; only the first order key is honoured.
	key, desc := "ID", true
	if order != nil && len(order.keys) > 0 {
		key = strings.ToUpper(order.keys[0])
		if !slices.Contains(sortKeys, key) {
			return nil, &apiError{400, "0", "Invalid sorting key (internal error)"}
		}
		dir, _ := toString(order.m[order.keys[0]])
		desc = strings.EqualFold(dir, "desc")
	}
	slices.SortStableFunc(rows, func(a, b *Task) int {
		r := 0
		switch key {
		case "TITLE":
			r = strings.Compare(a.Title, b.Title)
		case "CREATED_DATE", "CHANGED_DATE":
			r = a.CreatedDate.Compare(b.CreatedDate)
		}
		if r == 0 {
			r = cmpInt(a.ID, b.ID)
		}
		if desc {
			r = -r
		}
		return r
	})
	total := len(rows)
	if start < 0 {
		start = 0
	}
	page := []map[string]any{}
	for i := int(start); i < total && i < int(start)+pageSize; i++ {
		page = append(page, c.p.taskJSON(rows[i], sel))
	}
	next := 0
	if int(start)+pageSize < total {
		next = int(start) + pageSize
	}
	return listResult{items: map[string]any{"tasks": page}, total: total, next: next}, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// matchTask applies every filter key; prefixes !, <, <=, >, >=, =, %.
// TITLE without "=" is a substring (LIKE) match, like the portal's.
func matchTask(t *Task, f *omap) bool {
	for _, rawKey := range f.keys {
		op, field := splitOp(rawKey)
		want := f.m[rawKey]
		var ok bool
		switch strings.ToUpper(field) {
		case "ID":
			ok = cmpNum(t.ID, op, want)
		case "RESPONSIBLE_ID":
			ok = cmpNum(t.ResponsibleID, op, want)
		case "CREATED_BY":
			ok = cmpNum(t.CreatedBy, op, want)
		case "GROUP_ID":
			ok = cmpNum(t.GroupID, op, want)
		case "REAL_STATUS", "STATUS":
			ok = cmpNum(int64(t.Status), op, want)
		case "TITLE":
			ok = cmpText(t.Title, op, want)
		case "XML_ID":
			if op == "" {
				op = "="
			}
			ok = cmpText(t.XMLID, op, want)
		case "TAG":
			ok = anyOf(want, func(s string) bool { return slices.Contains(t.Tags, s) })
			if op == "!" {
				ok = !ok
			}
		case "UF_CRM_TASK":
			ok = anyOf(want, func(s string) bool { return slices.Contains(t.CRM, s) })
		case "CREATED_DATE":
			ok = cmpTime(t.CreatedDate, op, want)
		default:
			ok = true
		}
		if !ok {
			return false
		}
	}
	return true
}

func splitOp(k string) (op, field string) {
	for _, p := range []string{"!=", "<=", ">=", "!", "<", ">", "=", "%"} {
		if strings.HasPrefix(k, p) {
			return p, k[len(p):]
		}
	}
	return "", k
}

// anyOf: a filter value may be a list (IN).
func anyOf(want any, pred func(string) bool) bool {
	for _, s := range toList(want) {
		if pred(s) {
			return true
		}
	}
	return false
}

func cmpNum(have int64, op string, want any) bool {
	if op == "" || op == "=" || op == "!" || op == "!=" {
		in := anyOf(want, func(s string) bool { n, ok := toInt(s); return ok && n == have })
		return in == (op == "" || op == "=")
	}
	n, ok := toInt(want)
	if !ok {
		s, _ := toString(want)
		if n, ok = toInt(s); !ok {
			return false
		}
	}
	return cmpOrd(cmpInt(have, n), op)
}

func cmpOrd(r int, op string) bool {
	switch op {
	case "<":
		return r < 0
	case "<=":
		return r <= 0
	case ">":
		return r > 0
	case ">=":
		return r >= 0
	}
	return false
}

func cmpText(have, op string, want any) bool {
	switch op {
	case "=":
		return anyOf(want, func(s string) bool { return have == s })
	case "!", "!=":
		return !anyOf(want, func(s string) bool { return have == s })
	default: // "" and "%": LIKE %value%, case-insensitive
		return anyOf(want, func(s string) bool {
			return strings.Contains(strings.ToLower(have), strings.ToLower(strings.Trim(s, "%")))
		})
	}
}

// dateLayouts approximates PHP strtotime for the forms clients send.
var dateLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02", "02.01.2006 15:04:05", "02.01.2006"}

func cmpTime(have time.Time, op string, want any) bool {
	s, _ := toString(want)
	for _, l := range dateLayouts {
		if w, err := time.ParseInLocation(l, s, have.Location()); err == nil {
			if op == "" || op == "=" {
				return have.Equal(w)
			}
			return cmpOrd(have.Compare(w), op)
		}
	}
	return false // strtotime() === false: nothing matches
}
