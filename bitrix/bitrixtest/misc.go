package bitrixtest

import (
	"encoding/base64"
	"path"
	"slices"
	"strings"
)

func init() {
	methods["im.dialog.messages.get"] = chatGet
	methods["im.message.add"] = chatAdd
	methods["disk.folder.uploadfile"] = diskUpload
	methods["crm.duplicate.findbycomm"] = crmFindByComm
	methods["crm.contact.get"] = crmContactGet
}

// chatOf resolves DIALOG_ID "chat123" to a task chat.
func chatOf(c *call) (int64, *apiError) {
	v, _ := c.params.getFold("DIALOG_ID")
	s, _ := toString(v)
	if s == "" {
		return 0, &apiError{400, "DIALOG_ID_EMPTY", "Dialog ID can't be empty"}
	}
	id, ok := toInt(strings.TrimPrefix(s, "chat"))
	if !strings.HasPrefix(s, "chat") || !ok {
		return 0, &apiError{400, "ACCESS_ERROR", "You do not have access to the specified dialog"}
	}
	for _, t := range c.p.tasks {
		if t.ChatID == id {
			return id, nil
		}
	}
	return 0, &apiError{400, "ACCESS_ERROR", "You do not have access to the specified dialog"}
}

// chatGet is im.dialog.messages.get (§3.2): LIMIT default 20, max 50;
// FIRST_ID pages forwards (ascending), otherwise newest first.
func chatGet(c *call) (any, *apiError) {
	chatID, err := chatOf(c)
	if err != nil {
		return nil, err
	}
	limit := int64(20)
	if v, ok := c.params.getFold("LIMIT"); ok {
		if n, ok := toInt(v); ok && n > 0 {
			limit = min(n, 50)
		}
	}
	msgs := slices.Clone(c.p.chat[chatID])
	var picked []*ChatMessage
	// FIRST_ID counts only when > 0, as in the portal; otherwise the
	// newest messages come first.
	if first, _ := toInt(firstParam(c)); first > 0 {
		for _, m := range msgs {
			if m.ID > first && int64(len(picked)) < limit {
				picked = append(picked, m)
			}
		}
	} else {
		last := int64(1 << 62)
		if v, ok := c.params.getFold("LAST_ID"); ok {
			if n, _ := toInt(v); n > 0 {
				last = n
			}
		}
		slices.Reverse(msgs)
		for _, m := range msgs {
			if m.ID < last && int64(len(picked)) < limit {
				picked = append(picked, m)
			}
		}
	}
	messages, users, files := []any{}, []any{}, []any{}
	seenUser := map[int64]bool{}
	for _, m := range picked {
		var params any = []any{} // PHP empty array
		if len(m.Files) > 0 {
			params = map[string]any{"FILE_ID": m.Files}
			for _, fid := range m.Files {
				if f := c.p.files[fid]; f != nil {
					files = append(files, map[string]any{"id": f.ID, "chatId": chatID, "name": f.Name,
						"type": "file", "extension": strings.TrimPrefix(path.Ext(f.Name), "."),
						"size": len(f.Data), "authorId": m.AuthorID, "status": "done",
						"urlDownload": chatFileURL(f.ID, f.Name)})
				}
			}
		}
		messages = append(messages, map[string]any{"id": m.ID, "chat_id": chatID, "author_id": m.AuthorID,
			"date": m.Date.Format(isoTime), "text": m.Text, "params": params})
		if u := c.p.users[m.AuthorID]; u != nil && !seenUser[u.ID] {
			seenUser[u.ID] = true
			users = append(users, map[string]any{"id": u.ID, "name": u.fullName(), "first_name": u.Name,
				"last_name": u.LastName, "email": u.Email})
		}
	}
	return map[string]any{"chat_id": chatID, "messages": messages, "users": users, "files": files}, nil
}

func firstParam(c *call) any {
	v, _ := c.params.getFold("FIRST_ID")
	return v
}

func chatAdd(c *call) (any, *apiError) {
	chatID, err := chatOf(c)
	if err != nil {
		return nil, err
	}
	v, _ := c.params.getFold("MESSAGE")
	text, _ := toString(v)
	if strings.TrimSpace(text) == "" {
		return nil, &apiError{400, "MESSAGE_EMPTY", "Message can't be empty"}
	}
	return c.p.storeChat(chatID, c.p.userID, text, nil), nil
}

// diskUpload is disk.folder.uploadfile with inline base64 content (§5).
// The two-step uploadUrl flow for big files is not faked.
func diskUpload(c *call) (any, *apiError) {
	v, ok := c.params.getFold("id")
	folder, _ := toInt(v)
	if !ok || folder != c.p.folder {
		s, _ := toString(v)
		return nil, &apiError{400, "ERROR_NOT_FOUND", "Could not find entity with id `" + s + "`"}
	}
	dv, _ := c.params.getFold("data")
	data, _ := dv.(*omap)
	nv, _ := data.get("NAME")
	name, _ := toString(nv)
	fcv, hasContent := c.params.getFold("fileContent")
	fc, _ := fcv.(*omap)
	if !hasContent || fc == nil || len(fc.keys) < 2 {
		return nil, &apiError{400, "ERROR_ARGUMENT", "fileContent must be [name, base64] (the uploadUrl flow is not faked)"}
	}
	vals := fc.values()
	if name == "" {
		name, _ = toString(vals[0])
	}
	if strings.TrimSpace(name) == "" {
		return nil, &apiError{400, "DISK_BASE_SERVICE_22001", "Name is required"}
	}
	b64, _ := toString(vals[1])
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, &apiError{400, "ERROR_COULD_NOT_SAVE_FILE", "Could not save file"}
	}
	unique := false
	if uv, ok := c.params.getFold("generateUniqueName"); ok {
		s, _ := toString(uv)
		unique = s == "1" || strings.EqualFold(s, "true") || strings.EqualFold(s, "Y")
	}
	if c.p.nameTaken(folder, name) {
		if !unique {
			return nil, &apiError{400, "DISK_OBJ_22000", "Object with the same name already exists"} // code invented
		}
		ext := path.Ext(name)
		base := strings.TrimSuffix(name, ext)
		for i := 1; c.p.nameTaken(folder, name); i++ {
			name = base + " (" + strconvI(int64(i)) + ")" + ext
		}
	}
	id := c.p.storeFile(folder, name, raw, c.p.userID)
	return map[string]any{"ID": id, "NAME": name, "CODE": nil, "STORAGE_ID": "1", "TYPE": "file",
		"PARENT_ID": strconvI(folder), "DELETED_TYPE": 0, "GLOBAL_CONTENT_VERSION": 1, "FILE_ID": id + 20000,
		"SIZE": strconvI(int64(len(raw))), "CREATE_TIME": c.p.now().Format(isoTime),
		"CREATED_BY": strconvI(c.p.userID), "DOWNLOAD_URL": c.p.diskURL(id),
		"DETAIL_URL": c.p.srv.URL + "/docs/file/" + name}, nil
}

func (p *Portal) nameTaken(folder int64, name string) bool {
	for _, f := range p.files {
		if f.FolderID == folder && strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// crmFindByComm: errors use the message as the code; "result": [] when
// nothing at all is found (§6).
func crmFindByComm(c *call) (any, *apiError) {
	tv, _ := c.params.getFold("type")
	typ, _ := toString(tv)
	if typ != "EMAIL" && typ != "PHONE" {
		return nil, &apiError{400, "Communication type is not defined", "Communication type is not defined."}
	}
	vv, _ := c.params.getFold("values")
	values := toList(vv)
	if len(values) == 0 {
		return nil, &apiError{400, "Communication values is not defined", "Communication values is not defined."}
	}
	if len(values) > 20 {
		return nil, &apiError{400, "Too many communication values", "Too many communication values."}
	}
	ev, _ := c.params.getFold("entity_type")
	et, _ := toString(ev)
	if et != "" && et != "CONTACT" && et != "LEAD" && et != "COMPANY" {
		return nil, &apiError{400, "Entity type is not supported", "Entity type is not supported."}
	}
	if typ != "EMAIL" || (et != "" && et != "CONTACT") {
		return []any{}, nil // we only model contacts with e-mails
	}
	var ids []int64
	for id, ct := range c.p.contacts {
		for _, e := range ct.Emails {
			if slices.ContainsFunc(values, func(v string) bool { return strings.EqualFold(strings.TrimSpace(v), e) }) {
				ids = append(ids, id)
				break
			}
		}
	}
	if len(ids) == 0 {
		return []any{}, nil
	}
	slices.Sort(ids)
	return map[string]any{"CONTACT": ids}, nil
}

func crmContactGet(c *call) (any, *apiError) {
	v, _ := c.params.getFold("id")
	id, ok := toInt(v)
	if !ok || id <= 0 {
		return nil, &apiError{400, "", "ID is not defined or invalid."}
	}
	ct := c.p.contacts[id]
	if ct == nil {
		return nil, &apiError{400, "", "Not found"}
	}
	emails := []any{}
	for i, e := range ct.Emails {
		emails = append(emails, map[string]any{"ID": strconvI(id*10 + int64(i)), "VALUE_TYPE": "WORK", "VALUE": e, "TYPE_ID": "EMAIL"})
	}
	hasEmail := "N"
	if len(emails) > 0 {
		hasEmail = "Y"
	}
	return map[string]any{"ID": strconvI(id), "NAME": ct.Name, "SECOND_NAME": nil, "LAST_NAME": ct.LastName,
		"HAS_EMAIL": hasEmail, "ASSIGNED_BY_ID": strconvI(c.p.userID), "EMAIL": emails}, nil
}
