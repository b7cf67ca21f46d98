package bitrix

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
)

// ChatMessage is a comment in a new-card task: a message in the task's
// chat (§3.2). AuthorID 0 is a system message.
type ChatMessage struct {
	ID          int64
	ChatID      int64
	AuthorID    int64
	AuthorName  string
	AuthorEmail string
	Date        string // ISO-8601 with offset
	Text        string // chat BBCode (§7)
	Files       []AttachedFile
}

type wireChat struct {
	ChatID   ID `json:"chat_id"`
	Messages []struct {
		ID       ID              `json:"id"`
		ChatID   ID              `json:"chat_id"`
		AuthorID ID              `json:"author_id"`
		Date     flexString      `json:"date"`
		Text     flexString      `json:"text"`
		Params   json.RawMessage `json:"params"`
	} `json:"messages"`
	Users []struct {
		ID    ID         `json:"id"`
		Name  flexString `json:"name"`
		Email flexString `json:"email"`
	} `json:"users"`
	Files []struct {
		ID          ID         `json:"id"`
		Name        flexString `json:"name"`
		Size        flexString `json:"size"`
		URLDownload flexString `json:"urlDownload"`
	} `json:"files"`
}

// chatPageSize is the maximum LIMIT of im.dialog.messages.get.
const chatPageSize = 50

// ChatMessages returns the messages of chat chatID with id > firstID,
// oldest first (im.dialog.messages.get, DIALOG_ID "chat"+id). With
// firstID > 0 it pages forwards with FIRST_ID; to fetch the one message an
// event names, pass MESSAGE_ID-1 and pick the id. With firstID 0 the
// portal ignores FIRST_ID and answers newest first, so it pages backwards
// with LAST_ID instead.
func (c *Client) ChatMessages(ctx context.Context, chatID, firstID int64) ([]ChatMessage, error) {
	if chatID <= 0 {
		return nil, fmt.Errorf("bitrix im.dialog.messages.get: no chat id (old-card task?)")
	}
	dialog := "chat" + strconv.FormatInt(chatID, 10)
	var out []ChatMessage
	lastID := int64(0)
	for range maxListPages {
		params := map[string]any{"DIALOG_ID": dialog, "LIMIT": chatPageSize}
		switch {
		case firstID > 0:
			params["FIRST_ID"] = firstID
		case lastID > 0:
			params["LAST_ID"] = lastID
		}
		var w wireChat
		if _, err := c.call(ctx, "im.dialog.messages.get", params, read, &w); err != nil {
			return nil, err
		}
		page := w.messages() // sorted ascending
		for _, m := range page {
			if m.ID > firstID && (lastID == 0 || m.ID < lastID) {
				out = append(out, m)
			}
		}
		if len(w.Messages) < chatPageSize || len(page) == 0 {
			break
		}
		if firstID > 0 {
			if page[len(page)-1].ID <= firstID {
				break
			}
			firstID = page[len(page)-1].ID
		} else {
			if lastID > 0 && page[0].ID >= lastID {
				break
			}
			lastID = page[0].ID
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return slices.CompactFunc(out, func(a, b ChatMessage) bool { return a.ID == b.ID }), nil
}

// messages joins authors and files into the messages, sorted by id.
func (w *wireChat) messages() []ChatMessage {
	type person struct{ name, email string }
	users := map[ID]person{}
	for _, u := range w.Users {
		users[u.ID] = person{string(u.Name), string(u.Email)}
	}
	files := map[ID]AttachedFile{}
	for _, f := range w.Files {
		files[f.ID] = AttachedFile{ID: int64(f.ID), Name: string(f.Name), Size: f.Size.int64(), DownloadURL: string(f.URLDownload)}
	}
	out := make([]ChatMessage, 0, len(w.Messages))
	for _, m := range w.Messages {
		cm := ChatMessage{ID: int64(m.ID), ChatID: int64(m.ChatID), AuthorID: int64(m.AuthorID),
			Date: string(m.Date), Text: string(m.Text)}
		if cm.ChatID == 0 {
			cm.ChatID = int64(w.ChatID)
		}
		if p, ok := users[m.AuthorID]; ok {
			cm.AuthorName, cm.AuthorEmail = p.name, p.email
		}
		// params is [] when empty (PHP), else an object; FILE_ID lists
		// the message's files.
		var params struct {
			FileID []ID `json:"FILE_ID"`
		}
		if len(m.Params) > 0 && m.Params[0] == '{' {
			_ = json.Unmarshal(m.Params, &params) // tolerate odd params
		}
		for _, id := range params.FileID {
			if f, ok := files[id]; ok {
				cm.Files = append(cm.Files, f)
			}
		}
		out = append(out, cm)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
