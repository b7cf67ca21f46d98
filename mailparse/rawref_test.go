package mailparse

import (
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With RawAttachments, every attachment streams (Reader) to the same
// bytes Parse would have decoded, and Size is their length: over the
// test corpus and a lenient-base64 case.
func TestRawAttachmentsMatchDecoded(t *testing.T) {
	payload := bytes.Repeat([]byte("\x00\x01binary\xff\xfe"), 5000)
	enc := base64.StdEncoding.EncodeToString(payload)
	var lines []string
	for i := 0; i < len(enc); i += 76 {
		lines = append(lines, enc[i:min(i+76, len(enc))])
	}
	odd := "From: a@b.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n" +
		"--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=a.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		strings.Join(lines, " \r\n") + "\r\n--B\r\nContent-Type: application/pdf; name=b.pdf\r\n\r\n%PDF-1.4 plain\r\n--B\r\n" +
		"Content-Type: image/png\r\nContent-Disposition: attachment; filename=c.png\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC_-8=\r\n--B--\r\n"
	msgs := map[string][]byte{"constructed": []byte(odd)}
	files, _ := filepath.Glob("testdata/*.eml")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		msgs[f] = b
	}
	n := 0
	for name, raw := range msgs {
		full, _ := Parse(bytes.NewReader(raw), Limits{})
		ref, _ := Parse(bytes.NewReader(raw), Limits{RawAttachments: true})
		if full == nil || ref == nil || len(full.Attachments) != len(ref.Attachments) {
			t.Errorf("%s: attachments differ in number", name)
			continue
		}
		src := bytes.NewReader(raw)
		for i := range full.Attachments {
			a, b := full.Attachments[i], ref.Attachments[i]
			got, err := io.ReadAll(b.Reader(src))
			size, serr := b.Size(src)
			if err != nil || serr != nil || !bytes.Equal(got, a.Data) || size != int64(len(a.Data)) || a.Filename != b.Filename {
				t.Errorf("%s #%d %q: stream %d bytes (err %v), size %d (%v), decoded %d", name, i, b.Filename, len(got), err, size, serr, len(a.Data))
			}
			if b.Raw != nil {
				n++
			}
		}
	}
	if n < 3 {
		t.Errorf("only %d attachments went by reference", n)
	}
}
