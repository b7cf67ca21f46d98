package tracker

import (
	"context"
	"encoding/json"
	"strings"

	"supportgate/bitrix"
	"supportgate/store"

	bolt "go.etcd.io/bbolt"
)

// KindFiles uploads a new task's files to Drive and attaches them, after
// the task exists. Uploads cannot ride in a batch (docs/bitrix24.md §1.7):
// each costs one unit of the portal's 2/s budget, so a burst of new
// requests uploading before their tasks were made would file two tasks a
// second. Made first, in batches, the tasks are all there within seconds
// of a busy morning's burst; their files follow, after every specialist's
// answer, follow-up and new task waiting (bitrix.PriorityFiles).
const KindFiles = "files"

type filesData struct {
	Thread string `json:"thread"`
	Task   int64  `json:"task"`
	uploads
	// Attached counts the uploaded files attached so far; Noted: the
	// lines naming refused files were added to the description.
	Attached int  `json:"attached,omitempty"`
	Noted    bool `json:"noted,omitempty"`
}

// filesJob is the files job of a thread's new task, queued in the same
// transaction that records the task.
func filesJob(msgID, threadID string, taskID int64) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		data, err := json.Marshal(filesData{Thread: threadID, Task: taskID})
		if err != nil {
			return err
		}
		return store.AddJobs(tx, msgID, &store.Job{Kind: KindFiles, Data: data})
	}
}

func (t *Tracker) handleFiles(ctx context.Context, j *store.Job) error {
	var d filesData
	c, th, save, err := t.begin(j, &d, func() string { return d.Thread })
	if err != nil {
		return err
	}
	m, err := t.loadMail(j)
	if err != nil {
		return err
	}
	cfg := t.cfg.Get()
	if err := t.upload(ctx, c, cfg, m, true, &d.uploads, save); err != nil {
		return err
	}
	for d.Attached < len(d.Files) {
		f := d.Files[d.Attached]
		if err := c.AttachFile(ctx, d.Task, f.ID); err != nil {
			if bitrix.IsRefused(err) {
				// The task is gone or closed to us: the files stay on
				// Drive and in the mailbox.
				t.log.Warn("file not attached to the task", "task", d.Task, "file", f.Name, "err", err)
				d.Refused = append(d.Refused, refusedFile{Name: f.Name, Reason: refusalReason(err)})
			} else {
				// A lost answer may attach it twice on retry: clutter,
				// not harm.
				return remoteErr("attach "+f.Name, err)
			}
		}
		d.Attached++
		if err := save(); err != nil {
			return err
		}
	}
	if !d.Noted {
		lang := threadLang(cfg, th)
		var b strings.Builder
		if d.NoFolder {
			if names := m.attachmentNames(); len(names) > 0 {
				b.WriteString("\n[I]" + word(lang, "no_folder") + " (" + noFolderReason(&d.uploads, lang) + "): " +
					escapeBBCode(strings.Join(names, ", ")) + word(lang, "no_folder_2") + "[/I]\n")
			}
		}
		b.WriteString(refusedNote(&d.uploads, lang))
		if b.Len() > 0 {
			if err := c.AppendDescription(ctx, d.Task, b.String()); err != nil {
				if !bitrix.IsRetryable(err) {
					t.log.Warn("refused files not named in the task", "task", d.Task, "err", err)
				} else {
					return remoteErr("tasks.task.update", err)
				}
			}
		}
		d.Noted = true
		if err := save(); err != nil {
			return err
		}
	}
	t.log.Info("bitrix24 task files attached", "thread", th.ID, "task", d.Task, "files", len(d.Files), "refused", len(d.Refused))
	return nil
}
