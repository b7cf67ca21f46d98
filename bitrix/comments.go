package bitrix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
)

// The task.commentitem.* methods take their parameters BY POSITION: the
// portal drops the names and passes values in order (§1.3). encoding/json
// sorts map keys (FIELDS < TASKID), so these bodies are structs, whose
// fields serialise in declaration order. Never add query parameters to
// these calls: they would come first and shift every position.

type commentAddArgs struct {
	TASKID int64
	FIELDS commentFields
}

type commentFields struct {
	POST_MESSAGE         string
	UF_FORUM_MESSAGE_DOC []string `json:",omitempty"`
}

type commentGetArgs struct {
	TASKID int64
	ITEMID int64
}

type commentListArgs struct {
	TASKID int64
	ORDER  struct{ ID string }
	FILTER map[string]int64 // one key, so map order cannot matter
}

// Comment is an old-card task comment (a forum message, §3.1).
type Comment struct {
	ID          int64
	AuthorID    int64
	AuthorName  string
	AuthorEmail string
	PostDate    string // ISO-8601 with offset
	Message     string // BBCode
	Files       []AttachedFile
}

// AttachedFile is a file attached to a comment or chat message. ID is the
// attachment id (not the Drive object id); DownloadURL may be relative to
// the portal, which Download resolves.
type AttachedFile struct {
	ID          int64
	Name        string
	Size        int64
	DownloadURL string
}

// UnmarshalJSON reads the UPPER_CASE, all-strings comment shape and
// ATTACHED_OBJECTS given as an object keyed by id, an array, {}/[] or
// absent (§3.1, §10).
func (c *Comment) UnmarshalJSON(b []byte) error {
	var w struct {
		ID          ID              `json:"ID"`
		AuthorID    ID              `json:"AUTHOR_ID"`
		AuthorName  flexString      `json:"AUTHOR_NAME"`
		AuthorEmail flexString      `json:"AUTHOR_EMAIL"`
		PostDate    flexString      `json:"POST_DATE"`
		Message     flexString      `json:"POST_MESSAGE"`
		Attached    json.RawMessage `json:"ATTACHED_OBJECTS"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = Comment{
		ID: int64(w.ID), AuthorID: int64(w.AuthorID), AuthorName: string(w.AuthorName),
		AuthorEmail: string(w.AuthorEmail), PostDate: string(w.PostDate), Message: string(w.Message),
	}
	files, err := decodeAttached(w.Attached)
	c.Files = files
	return err
}

type wireAttached struct {
	AttachmentID ID         `json:"ATTACHMENT_ID"`
	Name         flexString `json:"NAME"`
	Size         flexString `json:"SIZE"`
	DownloadURL  flexString `json:"DOWNLOAD_URL"`
}

func decodeAttached(raw json.RawMessage) ([]AttachedFile, error) {
	raw = bytes.TrimSpace(raw)
	if isEmptyPHP(raw) {
		return nil, nil
	}
	var list []wireAttached
	if raw[0] == '{' {
		var m map[string]wireAttached
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		for _, a := range m {
			list = append(list, a)
		}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, err
	}
	out := make([]AttachedFile, 0, len(list))
	for _, a := range list {
		out = append(out, AttachedFile{ID: int64(a.AttachmentID), Name: string(a.Name),
			Size: a.Size.int64(), DownloadURL: string(a.DownloadURL)})
	}
	// Map order is random; keep the portal's attachment order stable.
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// AddComment posts text (BBCode) on a task as the webhook user, attaching
// Drive objects given as "n"+id. It returns the new comment's id. Not
// retried on an unknown outcome: see ErrAmbiguous and ListComments.
func (c *Client) AddComment(ctx context.Context, taskID int64, text string, files []string) (int64, error) {
	if taskID <= 0 || strings.TrimSpace(text) == "" {
		return 0, errors.New("bitrix task.commentitem.add: task id and text are required")
	}
	args := commentAddArgs{TASKID: taskID, FIELDS: commentFields{POST_MESSAGE: text, UF_FORUM_MESSAGE_DOC: files}}
	var id ID
	if _, err := c.call(ctx, "task.commentitem.add", args, create, &id); err != nil {
		return 0, err
	}
	if id <= 0 {
		return 0, &AmbiguousError{Method: "task.commentitem.add",
			Err: &Error{Method: "task.commentitem.add", Description: "answer has no comment id", HTTPStatus: 200}}
	}
	return int64(id), nil
}

// GetComment fetches one comment. A missing comment or task is an error
// for which IsNotFound is true (#512 ITEM_NOT_FOUND_OR_NOT_ACCESSIBLE).
// It does not work for new-card tasks: use ChatMessages there (§3.2).
func (c *Client) GetComment(ctx context.Context, taskID, commentID int64) (*Comment, error) {
	var cm Comment
	if _, err := c.call(ctx, "task.commentitem.get", commentGetArgs{TASKID: taskID, ITEMID: commentID}, read, &cm); err != nil {
		return nil, err
	}
	return &cm, nil
}

// ListComments returns the task's comments with ID > afterID, oldest
// first. The method is not paginated (§3.1), so this is one call; the
// reconciler remembers the last id it saw and passes it as afterID.
func (c *Client) ListComments(ctx context.Context, taskID, afterID int64) ([]Comment, error) {
	args := commentListArgs{TASKID: taskID, FILTER: map[string]int64{">ID": afterID}}
	args.ORDER.ID = "asc"
	var raw json.RawMessage
	if _, err := c.call(ctx, "task.commentitem.getlist", args, read, &raw); err != nil {
		return nil, err
	}
	if isEmptyPHP(raw) {
		return nil, nil
	}
	var list []Comment
	if bytes.TrimSpace(raw)[0] == '{' {
		// A PHP array with holes serialises as an object.
		var m map[string]Comment
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, &Error{Method: "task.commentitem.getlist", Description: "unexpected result: " + err.Error(), HTTPStatus: 200}
		}
		for _, cm := range m {
			list = append(list, cm)
		}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, &Error{Method: "task.commentitem.getlist", Description: "unexpected result: " + err.Error(), HTTPStatus: 200}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	// Belt and braces: a portal that ignored FILTER must not make us
	// mail a specialist's answer twice.
	kept := list[:0]
	for _, cm := range list {
		if cm.ID > afterID {
			kept = append(kept, cm)
		}
	}
	return kept, nil
}
