package bitrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// dialog is the DIALOG_ID of a task chat (docs/bitrix24.md §3.2).
func dialog(chatID int64) string { return "chat" + strconv.FormatInt(chatID, 10) }

// SendChatMessage posts text into task chat chatID (im.message.add, §3.2)
// and returns the message id, so the event for it is known as ours. Not
// retried on an unknown outcome: look with ChatMessages first.
func (c *Client) SendChatMessage(ctx context.Context, chatID int64, text string) (int64, error) {
	if chatID <= 0 || strings.TrimSpace(text) == "" {
		return 0, errors.New("bitrix im.message.add: chat id and text are required")
	}
	var id ID
	if _, err := c.call(ctx, "im.message.add", map[string]any{"DIALOG_ID": dialog(chatID), "MESSAGE": text}, create, &id); err != nil {
		return 0, err
	}
	if id <= 0 {
		return 0, &AmbiguousError{Method: "im.message.add",
			Err: &Error{Method: "im.message.add", Description: "answer has no message id", HTTPStatus: 200}}
	}
	return int64(id), nil
}

// MaxChatFile is the largest file im.v2.File.upload takes (§3.2).
const MaxChatFile = 100 << 20

// UploadChatFileFrom posts a file into task chat chatID as a message of
// its own (im.v2.File.upload, §3.2), streaming it like UploadFileFrom,
// and returns the message id. Not in batch (an upload); not retried on an
// unknown outcome.
func (c *Client) UploadChatFileFrom(ctx context.Context, chatID int64, name string, size int64, open func() (io.ReadCloser, error)) (int64, error) {
	const method = "im.v2.File.upload"
	if chatID <= 0 || strings.TrimSpace(name) == "" {
		return 0, errors.New("bitrix im.v2.File.upload: chat id and name are required")
	}
	if size > MaxChatFile {
		return 0, &Error{Method: method, Code: "FILE_TOO_LARGE", HTTPStatus: 400,
			Description: fmt.Sprintf("file larger than %d MB, the chat's limit", MaxChatFile>>20)}
	}
	jname, _ := json.Marshal(name)
	prefix := `{"dialogId":"` + dialog(chatID) + `","fields":{"name":` + string(jname) + `,"content":"`
	const suffix = `"}}`
	env, err := c.streamCreate(ctx, method, name, prefix, suffix, size, open)
	if err != nil {
		return 0, err
	}
	var res struct {
		MessageID ID `json:"messageId"`
	}
	if uerr := json.Unmarshal(env.Result, &res); uerr != nil || res.MessageID <= 0 {
		return 0, &AmbiguousError{Method: method,
			Err: &Error{Method: method, Description: "answer has no message id", HTTPStatus: 200}}
	}
	return int64(res.MessageID), nil
}
