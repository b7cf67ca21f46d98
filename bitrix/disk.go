package bitrix

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
)

// Storage is a Drive storage: its id and the id of its root folder.
type Storage struct {
	ID         int64
	RootFolder int64
}

// UserStorage finds the Drive storage of user userID
// (disk.storage.getlist filtered to ENTITY_TYPE user, docs/bitrix24.md
// §5). None visible is (nil, nil).
func (c *Client) UserStorage(ctx context.Context, userID int64) (*Storage, error) {
	params := map[string]any{"filter": map[string]any{"ENTITY_TYPE": "user", "ENTITY_ID": userID}}
	var raw json.RawMessage
	if _, err := c.call(ctx, "disk.storage.getlist", params, read, &raw); err != nil {
		return nil, err
	}
	if isEmptyPHP(raw) {
		return nil, nil
	}
	var list []struct {
		ID         ID         `json:"ID"`
		EntityType flexString `json:"ENTITY_TYPE"`
		EntityID   ID         `json:"ENTITY_ID"`
		Root       ID         `json:"ROOT_OBJECT_ID"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, &Error{Method: "disk.storage.getlist", Description: "unexpected result: " + err.Error(), HTTPStatus: 200}
	}
	// The filter is the portal's; the answer is checked anyway, so a
	// portal that ignored it cannot send files to someone else's Drive.
	for _, s := range list {
		if strings.EqualFold(string(s.EntityType), "user") && int64(s.EntityID) == userID && s.Root > 0 {
			return &Storage{ID: int64(s.ID), RootFolder: int64(s.Root)}, nil
		}
	}
	return nil, nil
}

// FindFolder returns the id of the folder named name directly in folder
// parent (disk.folder.getchildren, §5), 0 if there is none.
func (c *Client) FindFolder(ctx context.Context, parent int64, name string) (int64, error) {
	params := map[string]any{"id": parent, "filter": map[string]any{"NAME": name, "TYPE": "folder"}}
	var raw json.RawMessage
	if _, err := c.call(ctx, "disk.folder.getchildren", params, read, &raw); err != nil {
		return 0, err
	}
	if isEmptyPHP(raw) {
		return 0, nil
	}
	var list []struct {
		ID   ID         `json:"ID"`
		Name flexString `json:"NAME"`
		Type flexString `json:"TYPE"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return 0, &Error{Method: "disk.folder.getchildren", Description: "unexpected result: " + err.Error(), HTTPStatus: 200}
	}
	for _, o := range list {
		if strings.EqualFold(string(o.Name), name) && (o.Type == "" || o.Type == "folder") && o.ID > 0 {
			return int64(o.ID), nil
		}
	}
	return 0, nil
}

// AddFolder makes folder name inside parent (disk.folder.addsubfolder,
// §5) and returns its id. Not retried on an unknown outcome: callers look
// with FindFolder first.
func (c *Client) AddFolder(ctx context.Context, parent int64, name string) (int64, error) {
	if parent <= 0 || strings.TrimSpace(name) == "" {
		return 0, errors.New("bitrix disk.folder.addsubfolder: parent and name are required")
	}
	params := map[string]any{"id": parent, "data": map[string]any{"NAME": name}}
	var res struct {
		ID ID `json:"ID"`
	}
	if _, err := c.call(ctx, "disk.folder.addsubfolder", params, create, &res); err != nil {
		return 0, err
	}
	if res.ID <= 0 {
		return 0, &AmbiguousError{Method: "disk.folder.addsubfolder",
			Err: &Error{Method: "disk.folder.addsubfolder", Description: "answer has no folder id", HTTPStatus: 200}}
	}
	return int64(res.ID), nil
}

// IsRefused reports whether err is the portal saying no for good to this
// one request (rights, size, a bad name): an upload refused so is named in
// the task rather than retried.
func IsRefused(err error) bool {
	var e *Error
	if err == nil || !errors.As(err, &e) || errors.Is(err, ErrAmbiguous) || IsRetryable(err) {
		return false
	}
	if e.codeIs("NO_AUTH_FOUND", "INVALID_CREDENTIALS", "insufficient_scope", "expired_token",
		"invalid_token", "authorization_error", "ERROR_METHOD_NOT_FOUND") {
		return false // the webhook itself is wrong: every call fails, say so loudly
	}
	// HTTPStatus 0: a sub-call's error inside batch, a definite answer.
	return e.HTTPStatus == 0 || e.HTTPStatus >= 400 && e.HTTPStatus < 500 || e.codeIs("ACCESS_DENIED", "ERROR_COULD_NOT_SAVE_FILE", "DISK_BASE_SERVICE_22001")
}
