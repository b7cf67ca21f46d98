package tracker

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"supportgate/bitrix"
	"supportgate/rules"
)

// A message of 10,000 tiny parts (issue 14: 499 uploads in a 292 s job):
// [bitrix] max_files of them go to Drive, with the .eml; the rest are
// named in the task. A right-to-left override in a name never reaches
// Drive.
func TestTenThousandPartsFiftyUploads(t *testing.T) {
	e := newEnv(t, nil, bitrix.Options{})
	var files []file
	files = append(files, file{"invoice.pdf\u202egnp.exe", "application/octet-stream", []byte("MZ")})
	for i := 1; i < 10000; i++ {
		files = append(files, file{fmt.Sprintf("f%05d.bin", i), "application/octet-stream", []byte{byte(i)}})
	}
	raw := buildMail("anna@customer.test", "many parts", "many@customer.test", "", "see the files", files...)
	e.newThread(raw, "anna@customer.test", "")
	e.idle()
	tasks := e.portal.Tasks()
	if len(tasks) != 1 {
		t.Fatalf("%d tasks", len(tasks))
	}
	task := tasks[0]
	if len(task.Files) != 51 {
		t.Fatalf("%d files linked, want 50 attachments + the .eml", len(task.Files))
	}
	first, _ := e.portal.FileInfo(task.Files[0])
	if first.Name != "invoice.pdfgnp.exe" {
		t.Errorf("first file named %q on Drive, want the override removed", first.Name)
	}
	eml, _ := e.portal.FileInfo(task.Files[50])
	if !strings.HasSuffix(eml.Name, ".eml") || !bytes.Equal(eml.Data, raw) {
		t.Errorf("last file %q (%d bytes), want the whole message as .eml", eml.Name, len(eml.Data))
	}
	if !strings.Contains(task.Description, "f00050.bin") || !strings.Contains(task.Description, "f00249.bin, и ещё 248") || strings.Contains(task.Description, "f00049.bin,") {
		t.Errorf("description does not list the files left out:\n%.600s", task.Description)
	}
}

// max_files_bytes: files that would pass it are listed, smaller later
// ones still go.
func TestMaxFilesBytes(t *testing.T) {
	e := newEnv(t, func(c *rules.Config) { c.Bitrix.MaxFilesBytes = 1000 }, bitrix.Options{})
	raw := buildMail("anna@customer.test", "sizes", "sizes@customer.test", "", "x",
		file{"a.bin", "application/octet-stream", bytes.Repeat([]byte("a"), 600)},
		file{"big.bin", "application/octet-stream", bytes.Repeat([]byte("b"), 600)},
		file{"c.bin", "application/octet-stream", bytes.Repeat([]byte("c"), 300)})
	e.newThread(raw, "anna@customer.test", "")
	e.idle()
	task := e.portal.Tasks()[0]
	var names []string
	for _, id := range task.Files {
		f, _ := e.portal.FileInfo(id)
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "a.bin,c.bin,sizes.eml" || !strings.Contains(task.Description, "big.bin") {
		t.Errorf("uploaded %v; description:\n%s", names, task.Description)
	}
}
