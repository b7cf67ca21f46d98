package mailparse

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// benchMessages builds a 4 KB plain-text reply and a ~100 KB message with
// a base64 attachment, the two sizes the gateway's throughput figures use.
func benchMessages() map[string][]byte {
	hdr := "Received: from mx.example.net by mx.example.com\r\n" +
		"From: =?utf-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <ivan@example.ru>\r\n" +
		"To: support@example.com\r\nCc: a@example.com, B <b@example.com>\r\n" +
		"Subject: =?utf-8?B?UmU6INCf0YDQvtCx0LvQtdC80LAg0YEg0LTQvtGB0YLRg9C/0L7QvA==?= [#42]\r\n" +
		"Date: Tue, 12 Mar 2024 10:15:00 +0300\r\nMessage-ID: <bench-1@example.ru>\r\n" +
		"In-Reply-To: <t42@support.example.com>\r\nReferences: <o1@example.com> <t42@support.example.com>\r\n" +
		"MIME-Version: 1.0\r\n"
	line := "Добрый день! Принтер в кабинете 305 снова не печатает, ошибка E-12.\r\n"
	plain := hdr + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
	for len(plain) < 4096 {
		plain += line
	}
	att := make([]byte, 70<<10)
	for i := range att {
		att[i] = byte(i * 7)
	}
	enc := base64.StdEncoding.EncodeToString(att)
	var b strings.Builder
	b.WriteString(hdr + "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + strings.Repeat(line, 20) + "\r\n--B\r\n" +
		"Content-Type: application/pdf; name=\"=?utf-8?B?0JTQvtCz0L7QstC+0YAucGRm?=\"\r\n" +
		"Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--B--\r\n")
	return map[string][]byte{"plain-4KB": []byte(plain), "attachment-100KB": []byte(b.String())}
}

func BenchmarkParse(b *testing.B) {
	for name, msg := range benchMessages() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				m, err := Parse(bytes.NewReader(msg), Limits{})
				if err != nil || m.Text == "" {
					b.Fatalf("err %v, empty text", err)
				}
			}
		})
	}
}
