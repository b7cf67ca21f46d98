package tracker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"supportgate/bitrix"
	"supportgate/queue"
	"supportgate/rules"
	"supportgate/store"

	bolt "go.etcd.io/bbolt"
)

// upload is a file put on Drive: its name and Drive object id.
type upload struct {
	Name string `json:"name"`
	ID   int64  `json:"id"`
}

// uploads is the progress of a job's Drive uploads: Next is the index of
// the next file of mail.files() to upload, Files what was uploaded.
type uploads struct {
	Next  int      `json:"next,omitempty"`
	Files []upload `json:"files,omitempty"`
	Done  bool     `json:"files_done,omitempty"`
	// NoFolder: folder_id was 0, nothing was uploaded.
	NoFolder bool `json:"no_folder,omitempty"`
	// Skipped are the attachments over [bitrix] max_files or
	// max_files_bytes: named in the text, not uploaded.
	Skipped []string `json:"skipped,omitempty"`
	// Refused are the files the portal would not take (rights, size),
	// NoFolderWhy why no folder could be had: named in the text.
	Refused     []refusedFile `json:"refused,omitempty"`
	NoFolderWhy string        `json:"no_folder_why,omitempty"`
}

// refusedFile is a file the portal refused, and its reason.
type refusedFile struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

func (u uploads) refs() []string {
	var out []string
	for _, f := range u.Files {
		out = append(out, "n"+strconv.FormatInt(f.ID, 10))
	}
	return out
}

// creation is the progress of a tasks.task.add.
type creation struct {
	// Contact is the CRM contact id of the requester (0: none);
	// ContactDone says the lookup ran.
	Contact     int64 `json:"contact,omitempty"`
	ContactDone bool  `json:"contact_done,omitempty"`
	// Sent is when tasks.task.add was first sent. Once set, the task
	// is looked for (by its marker) before it is sent again.
	Sent time.Time `json:"sent,omitzero"`
	// TaskID is the task made (or found).
	TaskID int64 `json:"task_id,omitempty"`
	// Other: the task was found before we sent anything, so another
	// job made it (and this job's text is not in it).
	Other bool `json:"other,omitempty"`
	// Exclude is a task with the thread's marker that is not the one
	// being made (the closed task a new one follows).
	Exclude int64 `json:"exclude,omitempty"`
	// Chat is the task's chat id when tasks.task.add's answer had one
	// (ChatKnown): no tasks.task.get is then needed for it.
	Chat      int64 `json:"chat,omitempty"`
	ChatKnown bool  `json:"chat_known,omitempty"`
	crmProgress
}

// taskData is the Data of a "task" job.
type taskData struct {
	Thread string `json:"thread"`
	uploads
	creation
	// FilesLater: the task is made first and a files job uploads and
	// attaches its files (KindFiles). Jobs from before it upload first.
	FilesLater bool `json:"files_later,omitempty"`
}

func (t *Tracker) handleTask(ctx context.Context, j *store.Job) error {
	var d taskData
	c, th, save, err := t.begin(j, &d, func() string { return d.Thread })
	if err != nil {
		return err
	}
	if th.TaskID != 0 && d.TaskID == 0 {
		t.log.Info("thread already has a task", "thread", th.ID, "task", th.TaskID)
		return nil
	}
	m, err := t.loadMail(j)
	if err != nil {
		return err
	}
	cfg := t.cfg.Get()
	if d.TaskID == 0 {
		if !d.FilesLater && d.Next == 0 && len(d.Files) == 0 && !d.Done {
			// The files follow the task (files.go); the caps are known
			// now, so the description names what will not be uploaded.
			_, skipped, err := m.files(true, fileCaps{files: cfg.Bitrix.MaxFiles, bytes: cfg.Bitrix.MaxFilesBytes})
			if err != nil {
				return err
			}
			d.Skipped, d.FilesLater = skipped, true
			if err := save(); err != nil {
				return err
			}
		}
		if !d.FilesLater {
			if err := t.upload(ctx, c, cfg, m, true, &d.uploads, save); err != nil {
				return err
			}
		}
		fields := t.taskFields(cfg, th, m, &d.uploads, "")
		if _, err := t.createTask(ctx, c, cfg, th, fields, &d.creation, false, save); err != nil {
			return err
		}
		t.tookTask(time.Since(j.Created))
	}
	var files func(*bolt.Tx) error
	if d.FilesLater {
		files = filesJob(j.MsgID, th.ID, d.TaskID)
	}
	return t.taskMade(ctx, c, th.ID, d.TaskID, d.Chat, d.ChatKnown, files)
}

// begin decodes a job's data into d, and returns the portal client, the
// thread the job is about (named by thread() once d is decoded) and save,
// which stores d as the job's progress before the next remote step.
func (t *Tracker) begin(j *store.Job, d any, thread func() string) (*bitrix.Client, *store.Thread, func() error, error) {
	if err := json.Unmarshal(j.Data, d); err != nil || thread() == "" {
		return nil, nil, nil, queue.Permanent(fmt.Errorf("%s job: bad data %q", j.Kind, j.Data))
	}
	c, err := t.bx()
	if err != nil {
		return nil, nil, nil, t.notConfigured(j)
	}
	th, err := t.thread(thread())
	if err != nil {
		return nil, nil, nil, err
	}
	save := func() error {
		raw, err := json.Marshal(d)
		if err != nil {
			return err
		}
		j.Data = raw
		return t.run.Save(j)
	}
	return c, th, save, nil
}

// taskMade records the thread's task at once (the auto-reply waits for
// it), then its chat id (asked for unless the add's answer had it), and
// finishes the job.
func (t *Tracker) taskMade(ctx context.Context, c *bitrix.Client, threadID string, taskID, chat int64, chatKnown bool, more ...func(*bolt.Tx) error) error {
	final := func(tx *bolt.Tx) error {
		if err := setTask(tx, threadID, taskID, chat); err != nil {
			return err
		}
		for _, fn := range more {
			if fn != nil {
				if err := fn(tx); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if chatKnown {
		t.log.Info("bitrix24 task ready", "thread", threadID, "task", taskID, "chat", chat)
		// Recorded before the waiting reply and comments are woken: a
		// woken comment job must find the task in the thread.
		if err := t.st.Update(func(tx *bolt.Tx) error { return setTask(tx, threadID, taskID, chat) }); err != nil {
			return err
		}
		t.taskReady(threadID, taskID)
		return queue.Then(final)
	}
	if err := t.st.Update(func(tx *bolt.Tx) error { return setTask(tx, threadID, taskID, 0) }); err != nil {
		return err
	}
	t.taskReady(threadID, taskID)
	task, err := c.GetTask(ctx, taskID)
	switch {
	case err != nil && bitrix.IsRetryable(err):
		return remoteErr("tasks.task.get", err) // the task id is saved: retry only reads
	case err != nil:
		t.log.Warn("task made, its chat id unknown", "task", taskID, "err", err)
	case task != nil:
		chat = task.ChatID
	}
	t.log.Info("bitrix24 task ready", "thread", threadID, "task", taskID, "chat", chat)
	return queue.Then(final)
}

// thread reads a thread; a job whose thread is gone is permanent.
func (t *Tracker) thread(id string) (*store.Thread, error) {
	var th *store.Thread
	err := t.st.View(func(tx *bolt.Tx) error {
		var err error
		if th, err = store.GetThread(tx, id); err != nil || th == nil {
			return err
		}
		th.TaskID, err = threadTask(tx, th)
		return err
	})
	if err != nil {
		return nil, err
	}
	if th == nil {
		return nil, queue.Permanent(fmt.Errorf("thread %s not found", id))
	}
	return th, nil
}

// upload puts the message's files on Drive one by one, saving after
// each, so a retry never uploads a file twice. Each streams from the
// spool (the message is never held in memory), and at most
// [bitrix] max_files / max_files_bytes of attachments go (the rest are
// listed in u.Skipped; withEML's .eml always goes). With folder_id 0
// nothing is uploaded (the description says so).
func (t *Tracker) upload(ctx context.Context, c *bitrix.Client, cfg *rules.Config, m *inMail, withEML bool, u *uploads, save func() error) error {
	if u.Done {
		return nil
	}
	folder, err := t.uploadFolder(ctx, c, cfg, time.Now())
	if err != nil {
		if !errors.Is(err, errNoStorage) && !bitrix.IsRefused(err) {
			return err
		}
		// No Drive for us (no disk scope, no storage): the task matters
		// more than its files, which stay in the mailbox.
		t.log.Warn("no Drive folder for files; the task names them", "err", err)
		u.Done, u.NoFolder, u.NoFolderWhy = true, true, err.Error()
		return save()
	}
	files, skipped, err := m.files(withEML, fileCaps{files: cfg.Bitrix.MaxFiles, bytes: cfg.Bitrix.MaxFilesBytes})
	if err != nil {
		return err
	}
	u.Skipped = skipped
	for u.Next < len(files) {
		f := files[u.Next]
		id, err := c.UploadFileFrom(ctx, folder, f.name, f.size, f.open)
		if bitrix.IsRefused(err) {
			// Refused for rights or size: named in the task, never
			// lost with it.
			t.log.Warn("file refused by the portal; named in the task", "file", f.name, "err", err)
			u.Refused = append(u.Refused, refusedFile{Name: f.name, Reason: refusalReason(err)})
			u.Next++
			if err := save(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			// An ambiguous upload may leave a stray copy on Drive if
			// retried; that is clutter, not harm, so it is retried.
			return remoteErr("upload "+f.name, err)
		}
		u.Files = append(u.Files, upload{Name: f.name, ID: id})
		u.Next++
		if err := save(); err != nil {
			return err
		}
	}
	if len(skipped) > 0 {
		t.log.Warn("attachments over the cap not uploaded", "uploaded", len(u.Files), "skipped", len(skipped),
			"max_files", cfg.Bitrix.MaxFiles, "max_files_bytes", cfg.Bitrix.MaxFilesBytes)
	}
	u.Done = true
	return save()
}

// skippedNote is the line naming the attachments not uploaded ("" when
// none were left out).
func skippedNote(u *uploads, lang string) string {
	if len(u.Skipped) == 0 {
		return ""
	}
	names := u.Skipped
	more := ""
	if len(names) > 200 {
		names, more = names[:200], fmt.Sprintf(word(lang, "and_more"), len(u.Skipped)-200)
	}
	return "\n[I]" + word(lang, "skipped") +
		escapeBBCode(strings.Join(names, ", ")) + more + ".[/I]\n"
}

// Marker is what identifies the task of a thread on the portal: the
// task's XML_ID, and a line at the end of its description (XML_ID is
// not documented as writable, so the description is the fallback).
func Marker(threadID string) string { return "supportgate:" + threadID }

// maxTitle is a safe task title length, in runes.
const maxTitle = 250

// taskFields builds the task of a thread from its (first) message. note,
// if set, is a line put above the text.
func (t *Tracker) taskFields(cfg *rules.Config, th *store.Thread, m *inMail, u *uploads, note string) bitrix.TaskFields {
	bc := cfg.Bitrix
	title := strings.Join(strings.Fields(th.Subject), " ")
	if title == "" {
		title = strings.Join(strings.Fields(m.msg.Subject), " ")
	}
	if title == "" {
		title = bc.TitleFallback
	}
	if title == "" {
		title = "(без темы)"
	}
	if utf8.RuneCountInString(title) > maxTitle {
		title = string([]rune(title)[:maxTitle-1]) + "…"
	}

	lang := threadLang(cfg, th)
	var b strings.Builder
	if note != "" {
		b.WriteString("[I]" + escapeBBCode(note) + "[/I]\n\n")
	}
	b.WriteString(word(lang, "from") + escapeBBCode(m.sender()) + "\n")
	if th.Warning != "" {
		b.WriteString(word(lang, "warning") + escapeBBCode(th.Warning) + "\n")
	}
	b.WriteString(consentLine(cfg, th))
	b.WriteString("\n")
	if text := m.newText(); text != "" {
		b.WriteString(text + "\n")
	}
	if u.NoFolder {
		if names := m.attachmentNames(); len(names) > 0 {
			b.WriteString("\n[I]" + word(lang, "no_folder") + " (" + noFolderReason(u, lang) + "): " +
				escapeBBCode(strings.Join(names, ", ")) + word(lang, "no_folder_2") + "[/I]\n")
		}
	}
	b.WriteString(skippedNote(u, lang))
	b.WriteString(refusedNote(u, lang))
	b.WriteString("\n" + Marker(th.ID))

	f := bitrix.TaskFields{
		Title:         title,
		Description:   b.String(),
		ResponsibleID: mailboxResponsible(cfg, th),
		Files:         u.refs(),
		XMLID:         Marker(th.ID),
		Extra:         maps.Clone(taskExtra(cfg, th)), // [bitrix.task] (+ [webform.task]): GROUP_ID, TAGS, AUDITORS, PRIORITY, UF_*
	}
	return f
}

// createTask makes the thread's task unless it exists already. The
// creation state (contact lookup, send time, task id) is saved after
// each step. After a send whose outcome is unknown, or when lookFirst is
// set (another job may have made the task), the portal is searched for
// a task with the thread's marker before a new one is sent.
func (t *Tracker) createTask(ctx context.Context, c *bitrix.Client, cfg *rules.Config, th *store.Thread,
	f bitrix.TaskFields, cr *creation, lookFirst bool, save func() error) (int64, error) {
	if cr.TaskID != 0 {
		return cr.TaskID, nil
	}
	// An unverified thread's From is only what the sender wrote: linking
	// the CRM contact of that address would put a forger's request under
	// the victim's card.
	if !cr.ContactDone && th.Unverified {
		cr.ContactDone = true
	}
	if !cr.ContactDone {
		id, err := t.lookupContact(ctx, c, th.Requester)
		switch {
		case err == nil:
			cr.Contact = id
		case bitrix.IsRetryable(err):
			return 0, remoteErr("crm lookup", err)
		default: // no crm scope, odd answer: the task matters more
			t.log.Warn("CRM lookup failed; task made without a contact", "thread", th.ID, "err", err)
		}
		cr.ContactDone = true
		if err := save(); err != nil {
			return 0, err
		}
	}
	if err := t.crmExtras(ctx, c, cfg, th, cr, save); err != nil {
		return 0, err
	}
	if cr.Contact > 0 {
		f.CRM = append(f.CRM, "C_"+strconv.FormatInt(cr.Contact, 10))
	}
	f = withCompany(f, cr)
	if !cr.Sent.IsZero() || lookFirst {
		since := cr.Sent
		if lookFirst && !th.Created.IsZero() && (since.IsZero() || th.Created.Before(since)) {
			since = th.Created
		}
		if since.IsZero() {
			since = time.Now().Add(-time.Hour)
		}
		id, err := t.findTask(ctx, c, th.ID, since, cr.Exclude)
		if err != nil {
			return 0, err
		}
		if id != 0 {
			t.log.Info("found the thread's task on the portal", "thread", th.ID, "task", id)
			cr.TaskID, cr.Other = id, cr.Sent.IsZero()
			return id, save()
		}
	}
	if cr.Sent.IsZero() {
		cr.Sent = time.Now()
		if err := save(); err != nil {
			return 0, err
		}
	}
	id, chat, known, err := c.AddTaskChat(ctx, f)
	if err != nil {
		return 0, remoteErr("tasks.task.add", err)
	}
	cr.TaskID, cr.Chat, cr.ChatKnown = id, chat, known
	t.log.Info("bitrix24 task created", "thread", th.ID, "task", id, "files", len(f.Files), "crm", f.CRM)
	return id, save()
}

// findSlack widens the search window against clock skew between us and
// the portal.
const findSlack = 15 * time.Minute

// findTask looks for the task of threadID created since about since by
// the webhook's user: XML_ID or the marker line in the description. The
// filter is kept to documented keys (CREATED_BY, >=CREATED_DATE); the
// marker is checked here.
func (t *Tracker) findTask(ctx context.Context, c *bitrix.Client, threadID string, since time.Time, exclude int64) (int64, error) {
	me, err := c.CurrentUser(ctx)
	if err != nil {
		return 0, remoteErr("user.current", err)
	}
	filter := map[string]any{
		"CREATED_BY":     me.ID,
		">=CREATED_DATE": since.Add(-findSlack).Format(time.RFC3339),
	}
	tasks, err := c.FindTasks(ctx, filter)
	if err != nil {
		return 0, remoteErr("tasks.task.list", err)
	}
	mark := Marker(threadID)
	for _, tk := range tasks { // oldest first
		if tk.ID != exclude && (tk.XMLID == mark || hasMarkerLine(tk.Description, mark)) {
			return tk.ID, nil
		}
	}
	return 0, nil
}

// hasMarkerLine: the marker on a line of its own ("supportgate:ab" must
// not match "supportgate:abc").
func hasMarkerLine(desc, mark string) bool {
	for line := range strings.SplitSeq(desc, "\n") {
		if strings.TrimSpace(line) == mark {
			return true
		}
	}
	return false
}
