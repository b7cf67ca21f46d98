package tracker

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"supportgate/bitrix"
	"supportgate/bitrix/bitrixtest"
	"supportgate/mailparse"
	"supportgate/rules"
	"supportgate/store"

	bolt "go.etcd.io/bbolt"
)

var pdf = []byte("%PDF-1.4\n\x00\x01\x02binary\xff\xfe invoice")

func TestTaskFromMessage(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	contact := e.portal.AddContact("anna@customer.test", "Анна Петрова")
	text := "Здравствуйте!\nПринтер пишет [b]ошибка[/b] и [url=http://evil]ссылка[/url].\n\nOn Mon, 1 Mar 2026, Support <support@example.com> wrote:\n> старое письмо\n"
	raw := buildMail("Анна Петрова <anna@customer.test>", "Принтер не печатает", "m1@customer.test", "", text,
		file{"Счёт №5.pdf", "application/pdf", pdf}, file{"скрин.png", "image/png", []byte("\x89PNG fake")})
	th, _ := e.newThread(raw, "anna@customer.test", "Анна Петрова")
	e.idle()

	tasks := e.portal.Tasks()
	if len(tasks) != 1 {
		t.Fatalf("%d tasks, want 1", len(tasks))
	}
	task := tasks[0]
	if task.Title != "Принтер не печатает" {
		t.Errorf("title %q", task.Title)
	}
	if task.ResponsibleID != e.portal.UserID() || task.GroupID != 7 || !slices.Equal(task.Tags, []string{"support"}) {
		t.Errorf("responsible %d group %d tags %v", task.ResponsibleID, task.GroupID, task.Tags)
	}
	if task.Fields["UF_AUTO_1"] != "mail" {
		t.Errorf("UF passthrough: %v", task.Fields)
	}
	if !slices.Equal(task.CRM, []string{"C_" + strconv.FormatInt(contact, 10)}) {
		t.Errorf("CRM %v", task.CRM)
	}
	d := task.Description
	for _, want := range []string{"От:[/B] Анна Петрова <anna@customer.test>", "Принтер пишет [\u200bb]ошибка[\u200b/b]",
		"[\u200burl=http://evil]", "\n" + Marker(th.ID)} {
		if !strings.Contains(d, want) {
			t.Errorf("description lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, "старое письмо") {
		t.Errorf("quoted history not trimmed:\n%s", d)
	}
	if task.XMLID != Marker(th.ID) {
		t.Errorf("XML_ID %q", task.XMLID)
	}
	if len(task.Files) != 3 {
		t.Fatalf("files %v, want 2 attachments + .eml", task.Files)
	}
	want := []struct {
		name string
		data []byte
	}{{"Счёт №5.pdf", pdf}, {"скрин.png", []byte("\x89PNG fake")}, {"Принтер не печатает.eml", raw}}
	for i, id := range task.Files {
		f, ok := e.portal.FileInfo(id)
		if !ok || f.Name != want[i].name || !bytes.Equal(f.Data, want[i].data) || f.FolderID != e.portal.FolderID() {
			t.Errorf("file %d: %q (%d bytes, folder %d), want %q (%d bytes)", i, f.Name, len(f.Data), f.FolderID, want[i].name, len(want[i].data))
		}
	}
	got := e.thread(th.ID)
	if got.TaskID != task.ID || got.ChatID != task.ChatID {
		t.Errorf("thread task %d chat %d, want %d %d", got.TaskID, got.ChatID, task.ID, task.ChatID)
	}
}

// No folder_id and no Drive for the webhook (the disk scope missing): the
// task is made and names the files.
func TestTaskWithoutFolder(t *testing.T) {
	e := newEnv(t, func(c *rules.Config) { c.Bitrix.FolderID = 0 }, bitrix.Options{})
	e.portal.FailNext("disk.storage.getlist", 403, "ACCESS_DENIED")
	raw := buildMail("anna@customer.test", "", "m1@customer.test", "", "текст", file{"a.pdf", "application/pdf", pdf})
	e.newThread(raw, "anna@customer.test", "")
	e.idle()
	tasks := e.portal.Tasks()
	if len(tasks) != 1 || len(tasks[0].Files) != 0 || len(e.portal.CallsTo("disk.folder.uploadfile")) != 0 {
		t.Fatalf("tasks %+v", tasks)
	}
	if tasks[0].Title != "(без темы)" || !strings.Contains(tasks[0].Description, "нет папки на Диске") || !strings.Contains(tasks[0].Description, "a.pdf") {
		t.Errorf("title %q description:\n%s", tasks[0].Title, tasks[0].Description)
	}
}

func TestCommentOnSameTask(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	th, task := e.started()
	raw := buildMail("Anna Petrova <anna@customer.test>", "Re: Принтер не печатает", "m2@customer.test", "m1@customer.test",
		"Вот ещё фото.\n\n> Здравствуйте, принтер не печатает.", file{"фото.jpg", "image/jpeg", []byte("JPEGDATA")})
	e.reply(th, raw, "anna@customer.test")
	e.idle()
	if n := len(e.portal.Tasks()); n != 1 {
		t.Fatalf("%d tasks", n)
	}
	cms := e.portal.Comments(task)
	if len(cms) != 1 {
		t.Fatalf("%d comments", len(cms))
	}
	cm := cms[0]
	if !strings.Contains(cm.Message, "Anna Petrova <anna@customer.test>") || !strings.Contains(cm.Message, "Вот ещё фото.") ||
		strings.Contains(cm.Message, "> Здравствуйте") {
		t.Errorf("comment text:\n%s", cm.Message)
	}
	if len(cm.Files) != 1 || !bytes.Equal(e.portal.File(cm.Files[0]), []byte("JPEGDATA")) {
		t.Errorf("comment files %v", cm.Files)
	}
	e.st.View(func(tx *bolt.Tx) error {
		if !store.WasSeen(tx, handledKey(task, 'c', cm.ID)) {
			t.Error("own comment not recorded as handled")
		}
		return nil
	})
	// Its event comes back: nothing is mailed.
	if code := e.fire(task, cm.ID); code != 200 {
		t.Fatalf("event: %d", code)
	}
	e.idle()
	if out := e.outbound(); len(out) != 0 {
		t.Errorf("own comment mailed: %d", len(out))
	}
}

func TestThrottledPortalOneTask(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{MaxRetries: 1})
	e.portal.Throttle(7) // more than the client retries: the job retries too
	raw := buildMail("anna@customer.test", "Тема", "m1@customer.test", "", "текст", file{"a.pdf", "application/pdf", pdf})
	e.newThread(raw, "anna@customer.test", "")
	e.idle()
	if n := len(e.portal.Tasks()); n != 1 {
		t.Fatalf("%d tasks, want 1", n)
	}
	if n := len(e.portal.CallsTo("disk.folder.uploadfile")); n < 2 {
		t.Errorf("uploads: %d calls", n)
	}
	tk := e.portal.Tasks()[0]
	if len(tk.Files) != 2 {
		t.Errorf("files %v", tk.Files)
	}
}

func TestTimeoutAfterCreateOneTask(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{Timeout: 300 * time.Millisecond})
	e.portal.CreateThenTimeout("tasks.task.add")
	raw := buildMail("anna@customer.test", "Тема", "m1@customer.test", "", "текст")
	th, _ := e.newThread(raw, "anna@customer.test", "")
	e.idle()
	tasks := e.portal.Tasks()
	if len(tasks) != 1 {
		t.Fatalf("%d tasks, want 1", len(tasks))
	}
	if got := e.thread(th.ID); got.TaskID != tasks[0].ID {
		t.Errorf("thread task %d, want %d", got.TaskID, tasks[0].ID)
	}
	if n := len(e.portal.CallsTo("tasks.task.add")); n != 1 {
		t.Errorf("tasks.task.add called %d times", n)
	}
	if len(e.portal.CallsTo("tasks.task.list")) == 0 {
		t.Error("no look before retrying")
	}
}

func TestCommentDroppedAfterCreateOneComment(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	th, task := e.started()
	e.portal.CreateThenDrop("task.commentitem.add")
	raw := buildMail("anna@customer.test", "Re: x", "m2@customer.test", "m1@customer.test", "ещё [i]текст[/i]")
	e.reply(th, raw, "anna@customer.test")
	e.idle()
	if cms := e.portal.Comments(task); len(cms) != 1 {
		t.Fatalf("%d comments, want 1", len(cms))
	}
	if n := len(e.portal.CallsTo("task.commentitem.add")); n != 1 {
		t.Errorf("task.commentitem.add called %d times", n)
	}
}

func TestTaskGoneNewTask(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	th, old := e.started()
	e.portal.DeleteTask(old)
	raw := buildMail("anna@customer.test", "Re: x", "m2@customer.test", "m1@customer.test", "вы где?")
	e.reply(th, raw, "anna@customer.test")
	e.idle()
	tasks := e.portal.Tasks()
	if len(tasks) != 1 || tasks[0].ID == old {
		t.Fatalf("tasks %+v", tasks)
	}
	if !strings.Contains(tasks[0].Description, "#"+strconv.FormatInt(old, 10)) || !strings.Contains(tasks[0].Description, "вы где?") {
		t.Errorf("description:\n%s", tasks[0].Description)
	}
	if got := e.thread(th.ID); got.TaskID != tasks[0].ID {
		t.Errorf("thread on task %d, want %d", got.TaskID, tasks[0].ID)
	}
}

func TestEventWrongToken(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	_, task := e.started()
	cm := e.portal.AddSpecialistComment(task, 7, "ответ", nil)
	for _, tok := range []string{"wrong", ""} {
		resp, err := e.portal.FireCommentEvent(e.srv.URL, tok, task, cm)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("token %q: %d, want 401", tok, resp.StatusCode)
		}
	}
	if j := e.jobs(KindNotify); len(j) != 0 {
		t.Errorf("%d notify jobs", len(j))
	}
	e.st.View(func(tx *bolt.Tx) error {
		if store.WasSeen(tx, queuedKey(task, 'c', cm)) {
			t.Error("side effect of a refused event")
		}
		return nil
	})
	// Other events and methods.
	rec := httptest.NewRecorder()
	e.tr.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/bitrix/event", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rec.Code)
	}
	resp, err := e.portal.FireTaskEvent(e.srv.URL, testToken, "ONTASKUPDATE", task)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(e.jobs(KindNotify)) != 0 {
		t.Errorf("ONTASKUPDATE: %d, jobs %d", resp.StatusCode, len(e.jobs(KindNotify)))
	}
}

func TestSpecialistCommentMailed(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	th, task := e.started()
	e.portal.AddUser(7, "Иван Сидоров", "ivan@corp.test")
	cm := e.portal.AddSpecialistComment(task, 7, "Добрый день! Попробуйте [b]перезагрузить[/b] принтер.",
		[]bitrixtest.Upload{{Name: "инструкция.pdf", Data: pdf}})
	if code := e.fire(task, cm); code != 200 {
		t.Fatalf("event: %d", code)
	}
	e.idle()
	out := e.outbound()
	if len(out) != 1 {
		t.Fatalf("%d messages, want 1", len(out))
	}
	m := out[0]
	if m.From.Addr != testMailbox || m.From.Name != "Иван Сидоров, Служба поддержки" {
		t.Errorf("From %+v", m.From)
	}
	if rt := m.Header.Get("Reply-To"); !strings.Contains(rt, testMailbox) {
		t.Errorf("Reply-To %q", rt)
	}
	if len(m.To) != 1 || m.To[0].Addr != "anna@customer.test" {
		t.Errorf("To %+v", m.To)
	}
	wantSubj := "Re: Принтер не печатает [#" + strconv.FormatInt(task, 10) + "]"
	if m.Subject != wantSubj {
		t.Errorf("Subject %q, want %q", m.Subject, wantSubj)
	}
	if !slices.Equal(m.InReplyTo, []string{"m1@customer.test"}) || !slices.Contains(m.References, "m1@customer.test") {
		t.Errorf("In-Reply-To %v References %v", m.InReplyTo, m.References)
	}
	if !strings.HasSuffix(m.MessageID, "@mx.example.com") {
		t.Errorf("Message-ID %q", m.MessageID)
	}
	if !strings.Contains(m.Text, "перезагрузить") || !strings.Contains(m.HTML, "<b>перезагрузить</b>") {
		t.Errorf("text %q html %q", m.Text, m.HTML)
	}
	// The logo is inline (the signature's); the specialist's file attached.
	files := slices.DeleteFunc(slices.Clone(m.Attachments), func(a mailparse.Attachment) bool { return a.Inline })
	if len(files) != 1 || files[0].Filename != "инструкция.pdf" || !bytes.Equal(files[0].Data, pdf) {
		t.Errorf("attachments %+v", files)
	}
	e.st.View(func(tx *bolt.Tx) error {
		ent, _ := store.LookupID(tx, m.MessageID)
		if ent == nil || ent.Thread != th.ID || ent.Kind != store.IDNotification {
			t.Errorf("Message-ID not indexed: %+v", ent)
		}
		return nil
	})
	if got := e.thread(th.ID); got.LastID != m.MessageID {
		t.Errorf("thread LastID %q, want %q", got.LastID, m.MessageID)
	}

	// The same event again, and the reconciler: still one mail.
	e.fire(task, cm)
	e.idle()
	if n, err := e.tr.Reconcile(context.Background()); err != nil || n != 0 {
		t.Errorf("reconcile: %d, %v", n, err)
	}
	e.idle()
	if out := e.outbound(); len(out) != 1 {
		t.Errorf("%d messages after a repeated event, want 1", len(out))
	}
}

func TestSameEventTwiceOneMail(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	_, task := e.started()
	cm := e.portal.AddSpecialistComment(task, 7, "ответ", nil)
	// Both before either job runs, and once more after.
	e.fire(task, cm)
	e.fire(task, cm)
	e.idle()
	e.fire(task, cm)
	e.idle()
	if out := e.outbound(); len(out) != 1 {
		t.Fatalf("%d messages, want 1", len(out))
	}
}

func TestOwnAndInternalCommentsNotMailed(t *testing.T) {
	e := newEnv(t, func(c *rules.Config) { c.Bitrix.InternalPrefix = "!" }, bitrix.Options{})
	_, task := e.started()
	own := e.portal.AddSpecialistComment(task, e.portal.UserID(), "робот", nil)
	internal := e.portal.AddSpecialistComment(task, 7, "  ! только для своих", nil)
	e.fire(task, own)
	e.fire(task, internal)
	e.fire(task+1000, 1) // a task that is no thread of ours
	e.idle()
	if out := e.outbound(); len(out) != 0 {
		t.Fatalf("%d messages, want none", len(out))
	}
	if n, _ := e.tr.Reconcile(context.Background()); n != 0 {
		t.Errorf("reconcile queued %d", n)
	}
}

func TestLostEventReconciledOnce(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	_, task := e.started()
	e.portal.AddUser(7, "Иван Сидоров", "ivan@corp.test")
	cm := e.portal.AddSpecialistComment(task, 7, "ответ без события", nil)
	ctx := context.Background()
	n, err := e.tr.Reconcile(ctx)
	if err != nil || n != 1 {
		t.Fatalf("reconcile: %d, %v; want 1", n, err)
	}
	if n, _ := e.tr.Reconcile(ctx); n != 0 {
		t.Errorf("second reconcile queued %d", n)
	}
	e.idle()
	if n, _ := e.tr.Reconcile(ctx); n != 0 {
		t.Errorf("third reconcile queued %d", n)
	}
	// The event arrives late after all.
	e.fire(task, cm)
	e.idle()
	out := e.outbound()
	if len(out) != 1 || !strings.Contains(out[0].Text, "ответ без события") {
		t.Fatalf("%d messages, want 1", len(out))
	}
}

func TestFirstReconcileMailsNoHistory(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	// A thread whose task predates the tracker: it has history.
	task := e.portal.CreateTask(bitrixtest.Task{Title: "старая", ResponsibleID: e.portal.UserID(), NewCard: true})
	e.portal.AddSpecialistComment(task, 7, "старый ответ 1", nil)
	e.portal.AddSpecialistComment(task, 8, "старый ответ 2", nil)
	tk, _ := e.portal.Task(task)
	th := &store.Thread{Mailbox: testMailbox, Requester: "bob@customer.test", Subject: "старая", TaskID: task, ChatID: tk.ChatID}
	if err := e.st.Update(func(tx *bolt.Tx) error { return store.PutThread(tx, th) }); err != nil {
		t.Fatal(err)
	}
	e.portal.AddChatMessage(task, 7, "старое в чате", nil)
	ctx := context.Background()
	if n, err := e.tr.Reconcile(ctx); err != nil || n != 0 {
		t.Fatalf("first reconcile: %d, %v; want 0", n, err)
	}
	cm := e.portal.AddSpecialistComment(task, 7, "новый ответ", nil)
	msg := e.portal.AddChatMessage(task, 9, "новое в чате", nil)
	e.portal.AddChatMessage(task, 0, "системное", nil)
	if n, err := e.tr.Reconcile(ctx); err != nil || n != 2 {
		t.Fatalf("reconcile: %d, %v; want 2", n, err)
	}
	e.idle()
	out := e.outbound()
	if len(out) != 2 {
		t.Fatalf("%d messages, want 2", len(out))
	}
	texts := out[0].Text + out[1].Text
	if !strings.Contains(texts, "новый ответ") || !strings.Contains(texts, "новое в чате") || strings.Contains(texts, "старый") {
		t.Errorf("mailed: %q", texts)
	}
	e.st.View(func(tx *bolt.Tx) error {
		if !store.WasSeen(tx, handledKey(task, 'c', cm)) || !store.WasSeen(tx, handledKey(task, 'm', msg)) {
			t.Error("not recorded")
		}
		return nil
	})
}

func TestNewCardChatEvent(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	e.portal.SetNewCard(true)
	_, task := e.started()
	e.portal.AddUser(7, "Иван Сидоров", "ivan@corp.test")
	msg := e.portal.AddChatMessage(task, 7, "ответ в чате", []bitrixtest.Upload{{Name: "лог.txt", Data: []byte("log")}})
	sys := e.portal.AddChatMessage(task, 0, "Задача взята в работу", nil)
	for _, id := range []int64{msg, sys} {
		resp, err := e.portal.FireChatCommentEvent(e.srv.URL, testToken, task, id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	e.idle()
	out := e.outbound()
	if len(out) != 1 {
		t.Fatalf("%d messages, want 1", len(out))
	}
	files := slices.DeleteFunc(slices.Clone(out[0].Attachments), func(a mailparse.Attachment) bool { return a.Inline })
	if !strings.Contains(out[0].Text, "ответ в чате") || len(files) != 1 || string(files[0].Data) != "log" {
		t.Errorf("text %q attachments %+v", out[0].Text, files)
	}
	if n, _ := e.tr.Reconcile(context.Background()); n != 0 {
		t.Errorf("reconcile queued %d", n)
	}
}

func TestContactNameAndCheck(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	e.portal.AddContact("anna@customer.test", "Анна Петрова")
	ctx := context.Background()
	if got := e.tr.ContactName(ctx, "Anna@Customer.test"); got != "Анна Петрова" {
		t.Errorf("name %q", got)
	}
	calls := len(e.portal.CallsTo("crm.duplicate.findbycomm"))
	e.tr.ContactName(ctx, "anna@customer.test")
	if len(e.portal.CallsTo("crm.duplicate.findbycomm")) != calls {
		t.Error("not cached")
	}
	if got := e.tr.ContactName(ctx, "nobody@x.test"); got != "" {
		t.Errorf("unknown: %q", got)
	}
	if err := e.tr.Check(ctx); err != nil {
		t.Errorf("check: %v", err)
	}

	// Without a webhook: disabled, no names, jobs wait.
	c := *e.cfg.Get()
	c.Bitrix.WebhookURL = ""
	e.cfg.Set(&c)
	if err := e.tr.Reload(); err != nil {
		t.Fatal(err)
	}
	if e.tr.Enabled() || e.tr.ContactName(ctx, "anna@customer.test") != "" || e.tr.Check(ctx) == nil {
		t.Error("disabled tracker still works")
	}
}

func TestEscapeBBCode(t *testing.T) {
	for in, want := range map[string]string{
		"[b]x[/b]":       "[\u200bb]x[\u200b/b]",
		"ticket [#123]":  "ticket [#123]",
		"[*] item":       "[\u200b*] item",
		"[URL=x]y[/URL]": "[\u200bURL=x]y[\u200b/URL]",
		"a [ b ] c":      "a [ b ] c",
		"[цитата]":       "[\u200bцитата]",
	} {
		if got := escapeBBCode(in); got != want {
			t.Errorf("escapeBBCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFileNames(t *testing.T) {
	for in, want := range map[string]string{
		"../../etc/passwd":  "passwd",
		`C:\docs\отчёт.pdf`: "отчёт.pdf",
		"a:b*c?.txt":        "a_b_c_.txt",
		" .. ":              "",
		"x\x00y.doc":        "xy.doc",
	} {
		if got := cleanFileName(in); got != want {
			t.Errorf("cleanFileName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := emlName("Re: a/b"); got != "Re_ a_b.eml" {
		t.Errorf("emlName %q", got)
	}
	if got := emlName(""); got != "message.eml" {
		t.Errorf("emlName empty %q", got)
	}
}

func TestCommentWaitsForTask(t *testing.T) {
	defer func(d time.Duration) { taskPoll = d }(taskPoll)
	taskPoll = 20 * time.Millisecond
	e := newEnv(t, nil, bitrix.Options{})
	e.portal.Throttle(3) // the task job is slow to start
	raw := buildMail("anna@customer.test", "Тема", "m1@customer.test", "", "первое")
	th, _ := e.newThread(raw, "anna@customer.test", "")
	e.reply(th, buildMail("anna@customer.test", "Re: Тема", "m2@customer.test", "m1@customer.test", "второе"), "anna@customer.test")
	e.idle()
	tasks := e.portal.Tasks()
	if len(tasks) != 1 {
		t.Fatalf("%d tasks", len(tasks))
	}
	if cms := e.portal.Comments(tasks[0].ID); len(cms) != 1 || !strings.Contains(cms[0].Message, "второе") {
		t.Fatalf("comments %+v", cms)
	}
}

func TestCommentWithoutTaskJob(t *testing.T) {
	defer func(d time.Duration) { waitForTask = d }(waitForTask)
	waitForTask = 0
	for _, existing := range []bool{false, true} {
		e := newEnv(t, nil, bitrix.Options{})
		// A thread whose task job never recorded a task.
		raw := buildMail("anna@customer.test", "Тема", "m1@customer.test", "", "первое")
		var th *store.Thread
		e.spool(raw, "anna@customer.test", func(tx *bolt.Tx) (*store.Job, error) {
			th = &store.Thread{Mailbox: testMailbox, Requester: "anna@customer.test", Subject: "Тема"}
			return nil, store.PutThread(tx, th)
		})
		var made int64
		if existing { // it made the task, though
			made = e.portal.CreateTask(bitrixtest.Task{Title: "Тема", ResponsibleID: 1, XMLID: Marker(th.ID)})
		}
		e.reply(th, buildMail("anna@customer.test", "Re: Тема", "m2@customer.test", "m1@customer.test", "второе"), "anna@customer.test")
		e.idle()
		tasks := e.portal.Tasks()
		if len(tasks) != 1 {
			t.Fatalf("existing=%v: %d tasks", existing, len(tasks))
		}
		if got := e.thread(th.ID).TaskID; got != tasks[0].ID {
			t.Errorf("existing=%v: thread task %d, want %d", existing, got, tasks[0].ID)
		}
		if existing {
			if tasks[0].ID != made || len(e.portal.Comments(made)) != 1 {
				t.Errorf("comment not added to the found task: %+v", e.portal.Comments(made))
			}
		} else if !strings.Contains(tasks[0].Description, "второе") || !strings.Contains(tasks[0].Description, "не была создана вовремя") {
			t.Errorf("description:\n%s", tasks[0].Description)
		}
	}
}

func TestRunReconciler(t *testing.T) {
	e := newEnv(t, func(c *rules.Config) { c.Bitrix.PollInterval = rules.Duration(30 * time.Millisecond) }, bitrix.Options{})
	_, task := e.started()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.tr.RunReconciler(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	e.portal.AddSpecialistComment(task, 7, "событие потерялось", nil)
	deadline := time.Now().Add(5 * time.Second)
	for len(e.jobs("send")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond) // a few more passes
	e.idle()
	if out := e.outbound(); len(out) != 1 {
		t.Fatalf("%d messages, want 1", len(out))
	}
}
