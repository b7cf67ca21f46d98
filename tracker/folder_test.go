package tracker

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"supportgate/bitrix"
	"supportgate/rules"
)

// No folder_id: files go to supportgate/<month> in the webhook user's own
// Drive, made once and reused (after a restart too); a file the portal
// refuses is named in the task with the reason, and the task is made.
func TestFilesToUserStorage(t *testing.T) {
	e := newEnv(t, func(c *rules.Config) { c.Bitrix.FolderID = 0 }, bitrix.Options{})
	e.portal.RefuseUpload("secret.pdf", "ACCESS_DENIED", "Access denied")
	pdf := []byte("%PDF-1.4 scan")
	raw := buildMail("anna@customer.test", "Счёт", "f1@customer.test", "", "см. вложения",
		file{"scan.pdf", "application/pdf", pdf}, file{"secret.pdf", "application/pdf", []byte("no")})
	e.newThread(raw, "anna@customer.test", "")
	e.idle()
	tasks := e.portal.Tasks()
	if len(tasks) != 1 {
		t.Fatalf("%d tasks", len(tasks))
	}
	folders := e.portal.Folders()
	month := time.Now().Format("2006-01")
	if len(folders) != 2 || folders[0].Name != "supportgate" || folders[0].Parent != e.portal.StorageRoot() ||
		folders[1].Name != month || folders[1].Parent != folders[0].ID {
		t.Fatalf("folders %+v", folders)
	}
	var found bool
	for _, id := range tasks[0].Files {
		f, _ := e.portal.FileInfo(id)
		if f.FolderID != folders[1].ID {
			t.Errorf("file %s in folder %d", f.Name, f.FolderID)
		}
		if f.Name == "scan.pdf" {
			found = bytes.Equal(f.Data, pdf)
		}
	}
	if !found {
		t.Errorf("scan.pdf not linked with its bytes: %v", tasks[0].Files)
	}
	if d := tasks[0].Description; !strings.Contains(d, "«secret.pdf» не загружен") || !strings.Contains(d, "ACCESS_DENIED") {
		t.Errorf("no line for the refused file:\n%s", d)
	}

	raw = buildMail("bob@customer.test", "Ещё", "f2@customer.test", "", "ещё файл", file{"b.txt", "text/plain", []byte("b")})
	e.newThread(raw, "bob@customer.test", "")
	e.idle()
	// After a restart: a new tracker on the same store asks nothing.
	tr2, err := New(e.cfg, e.st, e.run, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr2.Reload(); err != nil {
		t.Fatal(err)
	}
	c, _ := tr2.bx()
	before := len(e.portal.Calls())
	id, err := tr2.uploadFolder(context.Background(), c, e.cfg.Get(), time.Now())
	if err != nil || id != folders[1].ID {
		t.Errorf("after restart: folder %d, %v; want %d", id, err, folders[1].ID)
	}
	if n := len(e.portal.Calls()) - before; n != 0 {
		t.Errorf("%d portal calls after restart", n)
	}
	if n := len(e.portal.CallsTo("disk.folder.addsubfolder")); n != 2 {
		t.Errorf("addsubfolder called %d times, want 2 (folder and month, once)", n)
	}
	if n := len(e.portal.CallsTo("disk.storage.getlist")); n != 1 {
		t.Errorf("disk.storage.getlist called %d times", n)
	}
	if where, err := tr2.FilesTarget(context.Background()); err != nil || !strings.Contains(where, "supportgate/"+month) {
		t.Errorf("FilesTarget %q, %v", where, err)
	}
}
