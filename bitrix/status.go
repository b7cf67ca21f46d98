package bitrix

import (
	"context"
	"time"
)

// Task statuses (docs/bitrix24.md §2.6).
const (
	StatusPending   = 2
	StatusProgress  = 3
	StatusControl   = 4
	StatusCompleted = 5
	StatusDeferred  = 6
)

// Closed reports whether the team is done with the task: completed or
// deferred.
func (t *Task) Closed() bool { return t.Status == StatusCompleted || t.Status == StatusDeferred }

// ClosedAt is when the task was closed: CLOSED_DATE, else (a deferred
// task has none) its last change. Zero when the portal gave neither.
func (t *Task) ClosedAt() time.Time {
	for _, s := range []string{t.ClosedDate, t.ChangedDate} {
		if tm, err := time.Parse(time.RFC3339, s); err == nil {
			return tm
		}
	}
	return time.Time{}
}

// RenewTask brings a completed task back to pending (tasks.task.renew,
// §2.8); a deferred task, which renew refuses, is set to pending with
// tasks.task.update. Repeating it is harmless: callers check the status
// first.
func (c *Client) RenewTask(ctx context.Context, id int64, status int) error {
	if status == StatusDeferred {
		params := map[string]any{"taskId": id, "fields": map[string]any{"STATUS": StatusPending}}
		_, err := c.call(ctx, "tasks.task.update", params, read, nil)
		return err
	}
	_, err := c.call(ctx, "tasks.task.renew", map[string]any{"taskId": id}, read, nil)
	return err
}
