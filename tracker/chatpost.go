package tracker

import (
	"context"
	"strings"
	"time"

	"supportgate/bitrix"
	"supportgate/rules"
	"supportgate/store"

	bolt "go.etcd.io/bbolt"
)

// cacheChat keeps the task's chat id (from tasks.task.get) on the thread,
// so what reads the thread knows the card without asking the portal.
func (t *Tracker) cacheChat(th *store.Thread, task, chat int64) error {
	if chat == 0 || th.ChatID == chat || th.TaskID != task {
		return nil
	}
	return t.st.Update(func(tx *bolt.Tx) error {
		cur, err := store.GetThread(tx, th.ID)
		if err != nil || cur == nil || cur.TaskID != task {
			return err
		}
		cur.ChatID = chat
		return store.PutThread(tx, cur)
	})
}

// postToChat writes a follow-up into a new-card task's chat
// (docs/bitrix24.md §3.2): the text with im.message.add, then each file
// with im.v2.File.upload, each a message of its own. task.commentitem.add
// is kept there for old integrations only and loses files. Every message
// id is saved as it comes, so the event for it is known as ours (by id,
// not only by author) and a retry never posts twice.
func (t *Tracker) postToChat(ctx context.Context, c *bitrix.Client, cfg *rules.Config, th *store.Thread, m *inMail, d *commentData, save func() error) error {
	if len(d.Posts) == 0 {
		text := t.commentText(m, d, threadLang(cfg, th))
		hash := textHash(text)
		if !d.Sent.IsZero() {
			// An earlier send's outcome is unknown: look in the chat.
			id, err := t.findComment(ctx, c, d.Task, d.Chat, hash, d.Sent)
			if err != nil {
				return err
			}
			if id != 0 {
				d.Posts = append(d.Posts, id)
			}
		}
		if len(d.Posts) == 0 {
			d.Sent, d.Hash = time.Now(), hash
			if err := save(); err != nil {
				return err
			}
			id, err := c.SendChatMessage(ctx, d.Chat, text)
			if err != nil {
				return remoteErr("im.message.add", err)
			}
			d.Posts = append(d.Posts, id)
		}
		if err := save(); err != nil {
			return err
		}
	}
	files, skipped, err := m.files(false, fileCaps{files: cfg.Bitrix.MaxFiles, bytes: cfg.Bitrix.MaxFilesBytes})
	if err != nil {
		return err
	}
	var notes []string
	for d.Posted < len(files) {
		f := files[d.Posted]
		id, err := c.UploadChatFileFrom(ctx, d.Chat, f.name, f.size, f.open)
		switch {
		case bitrix.IsRefused(err):
			t.log.Warn("file refused by the task chat", "file", f.name, "err", err)
			d.Refused = append(d.Refused, refusedFile{Name: f.name, Reason: refusalReason(err)})
		case err != nil:
			// An ambiguous upload retried may post the file twice: a
			// duplicate in the chat, never a lost file.
			return remoteErr("im.v2.File.upload "+f.name, err)
		default:
			d.Posts = append(d.Posts, id)
		}
		d.Posted++
		if err := save(); err != nil {
			return err
		}
	}
	for _, f := range d.Refused {
		notes = append(notes, "[i]Файл «"+escapeBBCode(f.Name)+"» не загружен: портал отказал ("+escapeBBCode(f.Reason)+"). Он есть в письме в почтовом ящике.[/i]")
	}
	if len(skipped) > 0 {
		notes = append(notes, "[i]Не загружены (лимит bitrix.max_files / max_files_bytes): "+escapeBBCode(strings.Join(skipped, ", "))+".[/i]")
	}
	if len(notes) > 0 && !d.Noted {
		// The line naming refused or skipped files, once.
		id, err := c.SendChatMessage(ctx, d.Chat, strings.Join(notes, "\n"))
		if err != nil && !bitrix.IsRefused(err) {
			return remoteErr("im.message.add", err)
		}
		if id != 0 {
			d.Posts = append(d.Posts, id)
		}
		d.Noted = true
	}
	if err := save(); err != nil {
		return err
	}
	if err := t.renew(ctx, c, d, save); err != nil {
		return err
	}
	t.log.Info("bitrix24 chat comment added", "thread", th.ID, "task", d.Task, "chat", d.Chat,
		"messages", d.Posts, "reason", d.Policy)
	return commented(d.Task, 0, d.Posts...)
}
