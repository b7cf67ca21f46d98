package bitrixtest

import (
	"encoding/base64"
	"maps"
	"slices"
	"strings"
	"time"
)

// issue11 is the state of the Drive storage, both task cards, closed
// tasks and CRM companies.
type issue11 struct {
	newCard      bool // the default card of tasks made through REST
	storageID    int64
	storageRoot  int64
	folders      map[int64]*Folder
	companies    map[int64]*Company
	refuseUpload map[string]apiError // by file name (lower case)
	refuseParent bool
}

// Folder is a Drive folder of the webhook user's storage.
type Folder struct {
	ID, Parent int64
	Name       string
}

// Company is a CRM company.
type Company struct {
	ID    int64
	Title string
}

func newIssue11(userID int64) issue11 {
	return issue11{storageID: 13, storageRoot: 21, folders: map[int64]*Folder{21: {ID: 21, Name: "user storage root"}},
		companies: map[int64]*Company{}, refuseUpload: map[string]apiError{}}
}

func init() {
	methods["disk.storage.getlist"] = diskStorages
	methods["disk.folder.getchildren"] = diskChildren
	methods["disk.folder.addsubfolder"] = diskAddFolder
	methods["tasks.task.renew"] = taskRenew
	methods["im.v2.file.upload"] = chatFileUpload
	methods["crm.company.get"] = crmCompanyGet
	methods["crm.contact.add"] = crmContactAdd
}

// SetNewCard picks the card of tasks made through tasks.task.add from now
// on: the new card (a chat per task) or the legacy one (the default).
// CreateTask takes the card from Task.NewCard.
func (p *Portal) SetNewCard(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.newCard = on
}

// StorageRoot is the root folder of the webhook user's Drive storage.
func (p *Portal) StorageRoot() int64 { return p.storageRoot }

// Folders returns the folders of the user's storage (the root aside).
func (p *Portal) Folders() []Folder {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Folder
	for _, f := range p.folders {
		if f.ID != p.storageRoot {
			out = append(out, *f)
		}
	}
	slices.SortFunc(out, func(a, b Folder) int { return int(a.ID - b.ID) })
	return out
}

// RefuseUpload makes every upload of a file named name fail with code
// (e.g. ACCESS_DENIED, or a size refusal), as a portal does for rights
// or quota.
func (p *Portal) RefuseUpload(name, code, desc string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuseUpload[strings.ToLower(name)] = apiError{400, code, desc}
}

// RefuseParent makes tasks.task.add refuse PARENT_ID (a portal where the
// webhook user may not see or link the old task).
func (p *Portal) RefuseParent(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuseParent = on
}

// CloseTask sets a task completed (5) or deferred (6) at the given time.
func (p *Portal) CloseTask(id int64, status int, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.tasks[id]; ok {
		t.Status, t.ClosedDate = status, at.In(p.loc).Truncate(time.Second)
	}
}

// AddCompany adds a CRM company and returns its id.
func (p *Portal) AddCompany(title string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &Company{ID: p.next("company"), Title: title}
	p.companies[c.ID] = c
	return c.ID
}

// LinkCompany sets a contact's COMPANY_ID.
func (p *Portal) LinkCompany(contact, company int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.contacts[contact]; c != nil {
		c.CompanyID = company
	}
}

// Contacts returns copies of the CRM contacts, by id.
func (p *Portal) Contacts() []Contact {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Contact
	for _, c := range p.contacts {
		cc := *c
		cc.Emails = slices.Clone(c.Emails)
		out = append(out, cc)
	}
	slices.SortFunc(out, func(a, b Contact) int { return int(a.ID - b.ID) })
	return out
}

// folderOK: uploads go to the configured folder or one of the storage's.
func (p *Portal) folderOK(id int64) bool { return id == p.folder || p.folders[id] != nil }

// diskStorages is disk.storage.getlist: the webhook user's storage, and a
// common one (so a client must filter).
func diskStorages(c *call) (any, *apiError) {
	fv, _ := c.params.getFold("filter")
	f, _ := fv.(*omap)
	all := []any{
		map[string]any{"ID": "3", "NAME": "Shared drive", "CODE": "shared_files_s1", "MODULE_ID": "disk",
			"ENTITY_TYPE": "common", "ENTITY_ID": "shared_files_s1", "ROOT_OBJECT_ID": "5"},
		map[string]any{"ID": strconvI(c.p.storageID), "NAME": c.p.users[c.p.userID].fullName(), "CODE": nil, "MODULE_ID": "disk",
			"ENTITY_TYPE": "user", "ENTITY_ID": strconvI(c.p.userID), "ROOT_OBJECT_ID": strconvI(c.p.storageRoot)},
	}
	var out []any
	for _, s := range all {
		m := s.(map[string]any)
		keep := true
		if f != nil {
			for _, k := range f.keys {
				want, _ := toString(f.m[k])
				if got, _ := toString(m[strings.ToUpper(k)]); got != want {
					keep = false
				}
			}
		}
		if keep {
			out = append(out, s)
		}
	}
	if out == nil {
		return []any{}, nil
	}
	return out, nil
}

func folderJSON(p *Portal, f *Folder) map[string]any {
	return map[string]any{"ID": strconvI(f.ID), "NAME": f.Name, "TYPE": "folder", "PARENT_ID": strconvI(f.Parent),
		"STORAGE_ID": strconvI(p.storageID), "CREATE_TIME": p.now().Format(isoTime)}
}

func diskChildren(c *call) (any, *apiError) {
	v, _ := c.params.getFold("id")
	id, _ := toInt(v)
	if c.p.folders[id] == nil {
		s, _ := toString(v)
		return nil, &apiError{400, "ERROR_NOT_FOUND", "Could not find entity with id `" + s + "`"}
	}
	name := ""
	if fv, ok := c.params.getFold("filter"); ok {
		if f, ok := fv.(*omap); ok {
			nv, _ := f.get("NAME")
			name, _ = toString(nv)
		}
	}
	out := []any{}
	for _, fid := range slices.Sorted(maps.Keys(c.p.folders)) {
		f := c.p.folders[fid]
		if f.Parent == id && f.ID != id && (name == "" || strings.EqualFold(f.Name, name)) {
			out = append(out, folderJSON(c.p, f))
		}
	}
	for _, fid := range slices.Sorted(maps.Keys(c.p.files)) {
		f := c.p.files[fid]
		if f.FolderID == id && (name == "" || strings.EqualFold(f.Name, name)) {
			out = append(out, map[string]any{"ID": f.ID, "NAME": f.Name, "TYPE": "file", "PARENT_ID": strconvI(id)})
		}
	}
	return out, nil
}

func diskAddFolder(c *call) (any, *apiError) {
	v, _ := c.params.getFold("id")
	parent, _ := toInt(v)
	if c.p.folders[parent] == nil {
		s, _ := toString(v)
		return nil, &apiError{400, "ERROR_NOT_FOUND", "Could not find entity with id `" + s + "`"}
	}
	dv, _ := c.params.getFold("data")
	data, _ := dv.(*omap)
	nv, _ := data.get("NAME")
	name, _ := toString(nv)
	if strings.TrimSpace(name) == "" {
		return nil, &apiError{400, "DISK_BASE_SERVICE_22001", "Name is required"}
	}
	for _, f := range c.p.folders {
		if f.Parent == parent && strings.EqualFold(f.Name, name) {
			return nil, &apiError{400, "DISK_OBJ_22000", "Object with the same name already exists"} // code invented
		}
	}
	f := &Folder{ID: c.p.next("file"), Parent: parent, Name: name}
	c.p.folders[f.ID] = f
	return folderJSON(c.p, f), nil
}

// taskRenew is tasks.task.renew (§2.8): only a completed task.
func taskRenew(c *call) (any, *apiError) {
	id, err := taskIDParam(c)
	if err != nil {
		return nil, err
	}
	t, ok := c.p.tasks[id]
	if !ok || t.Status != 5 {
		return nil, errCore("TASKS_ERROR_EXCEPTION_#6; Action not allowed; 6/TE/ACCESS_DENIED/ACTION_NOT_ALLOWED")
	}
	t.Status, t.ClosedDate = 2, time.Time{}
	return map[string]any{"task": c.p.taskJSON(t, nil)}, nil
}

// chatFileUpload is im.v2.File.upload (§3.2): the file goes into the
// chat as a message of its own.
func chatFileUpload(c *call) (any, *apiError) {
	dv, _ := c.params.getFold("dialogId")
	d, _ := toString(dv)
	chatID, ok := toInt(strings.TrimPrefix(d, "chat"))
	if !strings.HasPrefix(d, "chat") || !ok || chatID <= 0 || !c.p.hasChat(chatID) {
		return nil, &apiError{400, "ACCESS_ERROR", "You do not have access to the specified dialog"}
	}
	fv, _ := c.params.getFold("fields")
	f, _ := fv.(*omap)
	if f == nil {
		return nil, missing("fields")
	}
	nv, _ := f.get("name")
	name, _ := toString(nv)
	cv, _ := f.get("content")
	b64, _ := toString(cv)
	mv, _ := f.get("message")
	text, _ := toString(mv)
	if strings.TrimSpace(name) == "" || b64 == "" {
		return nil, &apiError{400, "ERROR_ARGUMENT", "name and content are required"}
	}
	if e, ok := c.p.refuseUpload[strings.ToLower(name)]; ok {
		return nil, &e
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, &apiError{400, "ERROR_ARGUMENT", "content is not base64"}
	}
	fid := c.p.storeFile(0, name, raw, c.p.userID)
	mid := c.p.storeChat(chatID, c.p.userID, text, []int64{fid})
	return map[string]any{"file": map[string]any{"id": fid, "name": name, "size": len(raw), "chatId": chatID},
		"messageId": mid, "chatId": chatID, "dialogId": d}, nil
}

func (p *Portal) hasChat(id int64) bool {
	for _, t := range p.tasks {
		if t.ChatID == id && id > 0 {
			return true
		}
	}
	return false
}

func crmCompanyGet(c *call) (any, *apiError) {
	v, _ := c.params.getFold("id")
	id, _ := toInt(v)
	co := c.p.companies[id]
	if co == nil {
		return nil, &apiError{400, "", "Not found"}
	}
	return map[string]any{"ID": strconvI(id), "TITLE": co.Title, "COMPANY_TYPE": "CUSTOMER", "HAS_EMAIL": "N"}, nil
}

func crmContactAdd(c *call) (any, *apiError) {
	v, _ := c.params.getFold("fields")
	f, _ := v.(*omap)
	if f == nil || len(f.keys) == 0 {
		return nil, &apiError{400, "", "Fields not defined"}
	}
	str := func(k string) string { x, _ := f.get(k); s, _ := toString(x); return s }
	ct := &Contact{ID: c.p.next("contact"), Name: str("NAME"), LastName: str("LAST_NAME"), SourceID: str("SOURCE_ID")}
	if ev, ok := f.get("EMAIL"); ok {
		if list, ok := ev.(*omap); ok {
			for _, item := range list.values() {
				if m, ok := item.(*omap); ok {
					vv, _ := m.get("VALUE")
					if s, _ := toString(vv); s != "" {
						ct.Emails = append(ct.Emails, s)
					}
				}
			}
		}
	}
	c.p.contacts[ct.ID] = ct
	return ct.ID, nil // an int, like comment ids
}
