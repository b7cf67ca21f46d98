package bitrixtest

import (
	"slices"
	"strings"
)

func init() {
	methods["task.commentitem.add"] = commentAdd
	methods["task.commentitem.get"] = commentGet
	methods["task.commentitem.getlist"] = commentList
}

// The legacy task.* router passes parameter values BY POSITION and drops
// their names (docs/bitrix24.md §1.3), so these handlers only ever look at
// c.params.values(). A client that sends {"FIELDS":…, "TASKID":…} gets
// FIELDS as the task id, and the error a real portal gives for that.

var errNotFound = errCore("TASKS_ERROR_EXCEPTION_#512; Task not found or not accessible; 512/TE/ITEM_NOT_FOUND_OR_NOT_ACCESSIBLE")

func errWrongArgs(what string) *apiError {
	return errCore("TASKS_ERROR_EXCEPTION_#256; " + what + "; 256/TE/WRONG_ARGUMENTS")
}

// argTask resolves positional argument 0 to an existing task.
func argTask(c *call) (*Task, *apiError) {
	args := c.params.values()
	if len(args) == 0 {
		return nil, errWrongArgs("Wrong arguments count")
	}
	id, ok := toInt(args[0])
	if !ok || id <= 0 || c.p.tasks[id] == nil {
		return nil, errNotFound
	}
	return c.p.tasks[id], nil
}

var commentKeys = []string{"POST_MESSAGE", "AUTHOR_ID", "POST_DATE", "UF_FORUM_MESSAGE_DOC"}

func commentAdd(c *call) (any, *apiError) {
	t, err := argTask(c)
	if err != nil {
		return nil, err
	}
	args := c.params.values()
	if len(args) < 2 {
		return nil, errWrongArgs("Wrong arguments count")
	}
	f, ok := args[1].(*omap)
	if !ok {
		return nil, errWrongArgs("Argument FIELDS must be an array")
	}
	for _, k := range f.keys {
		if !slices.Contains(commentKeys, k) {
			return nil, errWrongArgs("Array FIELDS must not contain key " + k)
		}
	}
	msgV, _ := f.get("POST_MESSAGE")
	msg, _ := toString(msgV)
	if strings.TrimSpace(msg) == "" {
		return nil, errCore("TASKS_ERROR_EXCEPTION_#256; Comment text is empty; 256/TE/ACTION_FAILED_TO_BE_PROCESSED")
	}
	author := c.p.userID
	if v, ok := f.get("AUTHOR_ID"); ok {
		if n, ok := toInt(v); ok && n > 0 {
			author = n
			c.p.ensureUser(n)
		}
	}
	var files []int64
	if v, ok := f.get("UF_FORUM_MESSAGE_DOC"); ok {
		if files, err = c.p.driveRefs(toList(v)); err != nil {
			return nil, err
		}
	}
	if t.NewCard {
		// The new card keeps the method for old integrations: the text
		// becomes a chat message, the files field is not for this card
		// and is lost (§3.2).
		return c.p.storeChat(t.ChatID, author, msg, nil), nil
	}
	id := c.p.storeComment(t.ID, author, msg, files)
	return id, nil // an int, unlike task ids (§8)
}

func commentGet(c *call) (any, *apiError) {
	t, err := argTask(c)
	if err != nil {
		return nil, err
	}
	args := c.params.values()
	if len(args) < 2 {
		return nil, errWrongArgs("Wrong arguments count")
	}
	id, ok := toInt(args[1])
	if !ok {
		return nil, errNotFound
	}
	for _, cm := range c.p.comments[t.ID] {
		if cm.ID == id {
			return c.p.commentJSON(cm), nil
		}
	}
	return nil, errNotFound
}

var commentOrderKeys = []string{"ID", "AUTHOR_ID", "AUTHOR_NAME", "AUTHOR_EMAIL", "POST_DATE"}

// commentList: [TASKID, ORDER, FILTER]; everything at once, no paging.
func commentList(c *call) (any, *apiError) {
	t, err := argTask(c)
	if err != nil {
		return nil, err
	}
	args := c.params.values()
	var order, filter *omap
	if len(args) > 1 {
		if order, _ = args[1].(*omap); order == nil && !isEmptyArg(args[1]) {
			return nil, errWrongArgs("Argument ORDER must be an array")
		}
	}
	if len(args) > 2 {
		if filter, _ = args[2].(*omap); filter == nil && !isEmptyArg(args[2]) {
			return nil, errWrongArgs("Argument FILTER must be an array")
		}
	}
	key, desc := "ID", true
	if order != nil && len(order.keys) > 0 {
		key = strings.ToUpper(order.keys[0])
		if !slices.Contains(commentOrderKeys, key) {
			return nil, errWrongArgs("Unknown field in ORDER: " + order.keys[0])
		}
		dir, _ := toString(order.m[order.keys[0]])
		desc = strings.EqualFold(dir, "desc")
	}
	var rows []*Comment
	for _, cm := range c.p.comments[t.ID] {
		if filter == nil || matchComment(cm, filter) {
			rows = append(rows, cm)
		}
	}
	slices.SortStableFunc(rows, func(a, b *Comment) int {
		r := cmpInt(a.ID, b.ID)
		switch key {
		case "AUTHOR_ID":
			r = cmpInt(a.AuthorID, b.AuthorID)
		case "POST_DATE":
			r = a.PostDate.Compare(b.PostDate)
		}
		if desc {
			r = -r
		}
		return r
	})
	out := []any{}
	for _, cm := range rows {
		out = append(out, c.p.commentJSON(cm))
	}
	return out, nil
}

func isEmptyArg(v any) bool {
	s, ok := toString(v)
	return ok && s == ""
}

func matchComment(cm *Comment, f *omap) bool {
	for _, rawKey := range f.keys {
		op, field := splitOp(rawKey)
		want := f.m[rawKey]
		ok := true
		switch strings.ToUpper(field) {
		case "ID":
			ok = cmpNum(cm.ID, op, want)
		case "AUTHOR_ID":
			ok = cmpNum(cm.AuthorID, op, want)
		case "POST_DATE":
			ok = cmpTime(cm.PostDate, op, want)
		}
		if !ok {
			return false
		}
	}
	return true
}

// commentJSON: UPPER_CASE keys, all strings, portal-relative URLs (§3.1).
func (p *Portal) commentJSON(cm *Comment) map[string]any {
	name, email := "", ""
	if u := p.users[cm.AuthorID]; u != nil {
		name, email = u.fullName(), u.Email
	}
	m := map[string]any{
		"POST_MESSAGE_HTML": nil, "ID": strconvI(cm.ID), "AUTHOR_ID": strconvI(cm.AuthorID),
		"AUTHOR_NAME": name, "AUTHOR_EMAIL": email, "POST_DATE": cm.PostDate.Format(isoTime),
		"POST_MESSAGE": cm.Message,
	}
	if len(cm.Files) > 0 {
		att := map[string]any{}
		for i, fid := range cm.Files {
			f := p.files[fid]
			if f == nil {
				continue
			}
			a := strconvI(cm.attach[i])
			att[a] = map[string]any{"ATTACHMENT_ID": a, "NAME": f.Name, "SIZE": strconvI(int64(len(f.Data))),
				"FILE_ID": strconvI(f.ID), "DOWNLOAD_URL": attachmentURL(cm.attach[i]),
				"VIEW_URL": attachmentURL(cm.attach[i])}
		}
		m["ATTACHED_OBJECTS"] = att
	} else {
		switch p.emptyAttached {
		case "[]":
			m["ATTACHED_OBJECTS"] = []any{}
		case "absent":
		default:
			m["ATTACHED_OBJECTS"] = map[string]any{}
		}
	}
	return m
}
