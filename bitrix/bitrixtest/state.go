package bitrixtest

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// User is a portal user.
type User struct {
	ID             int64
	Name, LastName string
	Email          string
}

func (u *User) fullName() string { return strings.TrimSpace(u.Name + " " + u.LastName) }

// Task is a stored task, as the portal understood the request.
type Task struct {
	ID            int64
	Title         string
	Description   string
	ResponsibleID int64
	CreatedBy     int64
	GroupID       int64
	Priority      int // 0 low, 1 medium, 2 high
	Status        int // 2 pending … 5 completed
	ChatID        int64
	Tags          []string
	Auditors      []int64
	CRM           []string       // UF_CRM_TASK
	Files         []int64        // Drive object ids from UF_TASK_WEBDAV_FILES
	XMLID         string         //
	Fields        map[string]any // every other field sent (UF_*, DEADLINE, ...)
	CreatedDate   time.Time
	ClosedDate    time.Time // when completed (zero: never)
	// NewCard: the task has the new card (tasks ≥ 25.700.0, §3.2): a
	// chat (ChatID) where comments live, and task.commentitem.add drops
	// its files. Legacy-card tasks have no chat (ChatID 0). A task made
	// through REST takes the portal's default (SetNewCard).
	NewCard bool
}

// Comment is an old-card task comment.
type Comment struct {
	ID       int64
	TaskID   int64
	AuthorID int64
	Message  string
	PostDate time.Time
	Files    []int64 // Drive object ids
	attach   []int64 // attachment ids, parallel to Files
}

// ChatMessage is a message in a new-card task chat.
type ChatMessage struct {
	ID       int64
	ChatID   int64
	AuthorID int64 // 0 = system message
	Text     string
	Date     time.Time
	Files    []int64 // Drive object ids
}

// File is a Drive object with its bytes.
type File struct {
	ID        int64
	FolderID  int64
	Name      string
	Data      []byte
	CreatedBy int64
}

// Upload is a file a test attaches to a specialist's comment.
type Upload struct {
	Name string
	Data []byte
}

// Contact is a CRM contact.
type Contact struct {
	ID             int64
	Name, LastName string
	Emails         []string
	CompanyID      int64
	SourceID       string
}

func cloneTask(t *Task) Task {
	c := *t
	c.Tags = slices.Clone(t.Tags)
	c.Auditors = slices.Clone(t.Auditors)
	c.CRM = slices.Clone(t.CRM)
	c.Files = slices.Clone(t.Files)
	c.Fields = maps.Clone(t.Fields)
	return c
}

// AddUser adds (or replaces) a portal user, e.g. a support specialist.
func (p *Portal) AddUser(id int64, name, email string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	first, last, _ := strings.Cut(name, " ")
	p.users[id] = &User{ID: id, Name: first, LastName: last, Email: email}
}

// Tasks returns copies of all tasks, by id.
func (p *Portal) Tasks() []Task {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Task, 0, len(p.tasks))
	for _, id := range slices.Sorted(maps.Keys(p.tasks)) {
		out = append(out, cloneTask(p.tasks[id]))
	}
	return out
}

// Task returns a copy of one task.
func (p *Portal) Task(id int64) (Task, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.tasks[id]
	if !ok {
		return Task{}, false
	}
	return cloneTask(t), true
}

// CreateTask stores a task directly (no REST call) and returns its id.
// ID, ChatID and CreatedDate are filled in when zero.
func (p *Portal) CreateTask(t Task) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.storeTask(&t)
}

func (p *Portal) storeTask(t *Task) int64 {
	if t.ID == 0 {
		t.ID = p.next("task")
	}
	if t.NewCard && t.ChatID == 0 {
		t.ChatID = t.ID + 5000
	}
	if t.CreatedDate.IsZero() {
		t.CreatedDate = p.now()
	}
	if t.Status == 0 {
		t.Status = 2
	}
	if t.CreatedBy == 0 {
		t.CreatedBy = p.userID
	}
	p.tasks[t.ID] = t
	return t.ID
}

// DeleteTask removes a task with its comments and chat, as if deleted in
// the portal's UI.
func (p *Portal) DeleteTask(id int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.tasks[id]; ok {
		delete(p.chat, t.ChatID)
	}
	delete(p.tasks, id)
	delete(p.comments, id)
}

// Comments returns copies of a task's old-card comments, oldest first.
func (p *Portal) Comments(taskID int64) []Comment {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Comment
	for _, c := range p.comments[taskID] {
		cc := *c
		cc.Files = slices.Clone(c.Files)
		cc.attach = nil
		out = append(out, cc)
	}
	return out
}

// AddSpecialistComment posts an old-card comment as authorID (who need
// not exist yet), uploading files to Drive first. No event is sent: call
// FireCommentEvent, or don't, to simulate a lost event.
func (p *Portal) AddSpecialistComment(taskID, authorID int64, text string, files []Upload) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ensureUser(authorID)
	var ids []int64
	for _, f := range files {
		ids = append(ids, p.storeFile(p.folder, f.Name, f.Data, authorID))
	}
	return p.storeComment(taskID, authorID, text, ids)
}

func (p *Portal) storeComment(taskID, authorID int64, text string, files []int64) int64 {
	c := &Comment{ID: p.next("comment"), TaskID: taskID, AuthorID: authorID, Message: text,
		PostDate: p.now(), Files: files}
	for range files {
		c.attach = append(c.attach, p.next("attach"))
	}
	for i, a := range c.attach {
		p.attachments[a] = files[i]
	}
	p.comments[taskID] = append(p.comments[taskID], c)
	return c.ID
}

// ChatMessages returns copies of a task's chat messages, oldest first.
func (p *Portal) ChatMessages(taskID int64) []ChatMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.tasks[taskID]
	if !ok {
		return nil
	}
	var out []ChatMessage
	for _, m := range p.chat[t.ChatID] {
		mm := *m
		mm.Files = slices.Clone(m.Files)
		out = append(out, mm)
	}
	return out
}

// AddChatMessage posts a new-card comment (a chat message) as authorID
// and returns its id; authorID 0 makes a system message. It returns 0 if
// the task does not exist.
func (p *Portal) AddChatMessage(taskID, authorID int64, text string, files []Upload) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.tasks[taskID]
	if !ok {
		return 0
	}
	if authorID != 0 {
		p.ensureUser(authorID)
	}
	var ids []int64
	for _, f := range files {
		ids = append(ids, p.storeFile(p.folder, f.Name, f.Data, authorID))
	}
	return p.storeChat(t.ChatID, authorID, text, ids)
}

func (p *Portal) storeChat(chatID, authorID int64, text string, files []int64) int64 {
	m := &ChatMessage{ID: p.next("msg"), ChatID: chatID, AuthorID: authorID, Text: text, Date: p.now(), Files: files}
	p.chat[chatID] = append(p.chat[chatID], m)
	return m.ID
}

func (p *Portal) ensureUser(id int64) {
	if _, ok := p.users[id]; !ok {
		p.users[id] = &User{ID: id, Name: "Specialist", LastName: strconvI(id),
			Email: "user" + strconvI(id) + "@portal.test"}
	}
}

// File returns the bytes of Drive object id (nil if none).
func (p *Portal) File(id int64) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.files[id]; ok {
		return slices.Clone(f.Data)
	}
	return nil
}

// FileInfo returns a copy of Drive object id.
func (p *Portal) FileInfo(id int64) (File, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, ok := p.files[id]
	if !ok {
		return File{}, false
	}
	c := *f
	c.Data = slices.Clone(f.Data)
	return c, true
}

func (p *Portal) storeFile(folder int64, name string, data []byte, by int64) int64 {
	f := &File{ID: p.next("file"), FolderID: folder, Name: name, Data: slices.Clone(data), CreatedBy: by}
	p.files[f.ID] = f
	return f.ID
}

// AddContact adds a CRM contact with one work e-mail; "Anna Petrova"
// becomes NAME Anna, LAST_NAME Petrova. It returns the contact id.
func (p *Portal) AddContact(email, name string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	first, last, _ := strings.Cut(strings.TrimSpace(name), " ")
	c := &Contact{ID: p.next("contact"), Name: first, LastName: last, Emails: []string{email}}
	p.contacts[c.ID] = c
	return c.ID
}
