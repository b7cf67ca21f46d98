package bitrix

import (
	"context"
	"strings"
)

// AttachFile attaches a Drive object to a task (tasks.task.files.attach,
// docs/bitrix24.md §2.5). It adds something, so an answer lost on the way
// is ambiguous (AmbiguousError): attaching again may show the file twice,
// which is clutter, not harm; callers record each attach as it succeeds.
func (c *Client) AttachFile(ctx context.Context, taskID, fileID int64) error {
	_, err := c.call(ctx, "tasks.task.files.attach", map[string]any{"taskId": taskID, "fileId": fileID}, create, nil)
	return err
}

// AppendDescription adds text at the end of a task's description unless
// it is there already (so a retry adds it once): one read, one update.
func (c *Client) AppendDescription(ctx context.Context, taskID int64, text string) error {
	t, err := c.GetTask(ctx, taskID)
	if err != nil || t == nil || text == "" || strings.Contains(t.Description, strings.TrimSpace(text)) {
		return err
	}
	params := map[string]any{"taskId": taskID, "fields": map[string]any{"DESCRIPTION": t.Description + text}}
	_, err = c.call(ctx, "tasks.task.update", params, read, nil)
	return err
}
