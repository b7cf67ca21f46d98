package bitrix_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"

	"supportgate/bitrix"
	"supportgate/bitrix/bitrixtest"
)

func TestUploadFile(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	ctx := context.Background()
	data := make([]byte, 100_000)
	_, _ = rand.Read(data)
	id, err := c.UploadFile(ctx, p.FolderID(), "scan.pdf", data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.File(id), data) {
		t.Fatal("stored bytes differ")
	}
	// Same name again: the portal renames instead of failing.
	id2, err := c.UploadFile(ctx, p.FolderID(), "scan.pdf", []byte("x"))
	if err != nil || id2 == id {
		t.Fatalf("second upload: %d, %v", id2, err)
	}
	if f, _ := p.FileInfo(id2); f.Name != "scan (1).pdf" {
		t.Errorf("renamed to %q", f.Name)
	}
	_, err = c.UploadFile(ctx, 424242, "a.txt", []byte("x"))
	if !bitrix.IsNotFound(err) {
		t.Errorf("unknown folder: err = %v", err)
	}
	p.CreateThenDrop("disk.folder.uploadfile")
	if _, err = c.UploadFile(ctx, p.FolderID(), "b.txt", []byte("x")); !errors.Is(err, bitrix.ErrAmbiguous) {
		t.Errorf("dropped upload: err = %v, want ErrAmbiguous", err)
	}
}

func TestDownloadLimits(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	ctx := context.Background()
	task := p.CreateTask(bitrixtest.Task{Title: "t", ResponsibleID: 1})
	p.AddSpecialistComment(task, 503, "file", []bitrixtest.Upload{{Name: "big.bin", Data: make([]byte, 2048)}})
	cm, err := c.ListComments(ctx, task, 0)
	if err != nil || len(cm) != 1 || len(cm[0].Files) != 1 {
		t.Fatalf("comments = %+v, %v", cm, err)
	}
	url := cm[0].Files[0].DownloadURL

	small, err := bitrix.New(p.WebhookURL(), bitrix.Options{RatePerSec: -1, MaxDownload: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := small.Download(ctx, url); err == nil {
		t.Error("download over the cap accepted")
	}
	if _, err := c.Download(ctx, "https://evil.example/steal"); err == nil {
		t.Error("download from another host accepted")
	}
	if _, err := c.Download(ctx, "/bitrix/tools/disk/uf.php?attachedId=999999"); !bitrix.IsNotFound(err) {
		t.Errorf("missing file: err = %v", err)
	}
	if data, err := c.Download(ctx, p.URL()+url); err != nil || len(data) != 2048 {
		t.Errorf("absolute portal URL: %d bytes, %v", len(data), err)
	}
}

func TestFindContactByEmail(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	ctx := context.Background()
	want := p.AddContact("anna@customer.test", "Anna Petrova")
	p.AddContact("anna@customer.test", "Anna Duplicate")
	id, name, err := c.FindContactByEmail(ctx, "ANNA@customer.test")
	if err != nil || id != want || name != "Anna Petrova" {
		t.Fatalf("= %d, %q, %v; want %d Anna Petrova", id, name, err, want)
	}
	id, name, err = c.FindContactByEmail(ctx, "nobody@x.test")
	if err != nil || id != 0 || name != "" {
		t.Fatalf("unknown = %d, %q, %v", id, name, err)
	}
	p.FailNext("crm.duplicate.findbycomm", 403, "insufficient_scope")
	if _, _, err = c.FindContactByEmail(ctx, "anna@customer.test"); !bitrix.IsAuth(err) {
		t.Fatalf("no crm scope: err = %v", err)
	}
}

// UploadFileFrom streams: the portal stores the same bytes as UploadFile
// would, for sizes around base64's 3-byte groups and the encoder's
// buffer; a wrong announced size fails instead of sending a short file;
// a rate-limited upload is sent again (it was never run).
func TestUploadFileFrom(t *testing.T) {
	p := bitrixtest.New(t)
	c := newClient(t, p)
	ctx := context.Background()
	for _, n := range []int{0, 1, 2, 3, 3071, 3072, 3073, 1 << 20} {
		data := make([]byte, n)
		_, _ = rand.Read(data)
		open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		id, err := c.UploadFileFrom(ctx, p.FolderID(), "f.bin", int64(n), open)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(p.File(id), data) {
			t.Fatalf("%d bytes: stored bytes differ", n)
		}
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("short")), nil }
	if _, err := c.UploadFileFrom(ctx, p.FolderID(), "g.bin", 10, open); err == nil {
		t.Error("a body shorter than announced was accepted")
	}
	p.FailNext("disk.folder.uploadfile", 503, "QUERY_LIMIT_EXCEEDED")
	data := []byte("after a rate limit")
	if id, err := c.UploadFileFrom(ctx, p.FolderID(), "h.txt", int64(len(data)), func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}); err != nil || !bytes.Equal(p.File(id), data) {
		t.Errorf("after QUERY_LIMIT_EXCEEDED: %v", err)
	}
}
