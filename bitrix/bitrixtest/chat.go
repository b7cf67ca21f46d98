package bitrixtest

import (
	"path"
	"slices"
	"strings"
)

func init() {
	methods["im.dialog.messages.get"] = chatGet
	methods["im.message.add"] = chatAdd
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
	if c.p.hasChat(id) {
		return id, nil
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
