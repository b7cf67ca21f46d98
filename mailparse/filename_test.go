package mailparse

import (
	"strings"
	"testing"
)

// The right-to-left override of issue 14, sent the ways a client can:
// RFC 2231, an encoded word, raw UTF-8; and control characters.
func TestRTLFileNameCleaned(t *testing.T) {
	for _, disp := range []string{
		`attachment; filename*=utf-8''invoice.pdf%E2%80%AEgnp.exe`,
		`attachment; filename="=?utf-8?B?` + "aW52b2ljZS5wZGbigK5nbnAuZXhl" + `?="`,
		"attachment; filename=\"invoice.pdf\u202egnp.exe\"",
		"attachment; filename*=utf-8''invoice.pdf%E2%81%A7gnp.exe%E2%81%A9",
	} {
		raw := "From: a@b.test\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n" +
			"--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: " + disp +
			"\r\n\r\nMZ\r\n--B--\r\n"
		m, err := Parse(strings.NewReader(raw), Limits{})
		if m == nil || len(m.Attachments) != 1 {
			t.Fatalf("%s: %v %+v", disp, err, m)
		}
		if got := m.Attachments[0].Filename; got != "invoice.pdfgnp.exe" {
			t.Errorf("%s: name %q, want invoice.pdfgnp.exe", disp, got)
		}
	}
}
