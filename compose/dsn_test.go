package compose

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestDSN(t *testing.T) {
	orig := "Return-Path: <ivan@client.example>\nFrom: Иван <ivan@client.example>\nTo: support@example.com\nSubject: test\nMessage-ID: <o-1@client.example>\n\nbody must not be included\n"
	raw, err := DSN(DSNParams{
		Hostname: "mx.example.com",
		To:       "ivan@client.example",
		Recipients: []DSNRecipient{
			{Address: "support@mail.internal.example.com", Status: "5.1.1", Diagnostic: "550 5.1.1 <support@mail.internal.example.com>: User unknown\r\nX: y"},
			{Address: "other@mail.internal.example.com", Status: "4.4.1", Diagnostic: ""},
		},
		Arrival:        time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC),
		OriginalHeader: []byte(orig),
		Date:           time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	root := parseTree(t, raw)
	want := "multipart/report(text/plain, message/delivery-status, text/rfc822-headers)"
	if got := root.shape(); got != want {
		t.Fatalf("tree %s, want %s", got, want)
	}
	if root.params["report-type"] != "delivery-status" {
		t.Errorf("report-type %q", root.params["report-type"])
	}
	for k, v := range map[string]string{
		"From": "Mail Delivery System <MAILER-DAEMON@mx.example.com>", "To": "<ivan@client.example>",
		"Auto-Submitted": "auto-replied",
	} {
		if got := root.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	human := string(root.kids[0].body)
	if !strings.Contains(human, "could not be delivered") || !strings.Contains(human, "не удалось доставить") {
		t.Errorf("human part: %s", human)
	}
	ds := string(root.kids[1].body)
	for _, s := range []string{
		"Reporting-MTA: dns; mx.example.com\r\n",
		"Arrival-Date: Wed, 18 Nov 2026 10:00:00 +0000\r\n",
		"\r\n\r\nFinal-Recipient: rfc822; support@mail.internal.example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n",
		"Diagnostic-Code: smtp; 550 5.1.1 <support@mail.internal.example.com>: User unknown X: y\r\n",
		"Final-Recipient: rfc822; other@mail.internal.example.com\r\nAction: failed\r\nStatus: 5.0.0\r\nDiagnostic-Code: smtp; delivery failed\r\n",
	} {
		if !strings.Contains(ds, s) {
			t.Errorf("delivery-status lacks %q:\n%s", s, ds)
		}
	}
	hdrs := root.kids[2].body
	if !bytes.Contains(hdrs, []byte("Message-ID: <o-1@client.example>\r\n")) || bytes.Contains(hdrs, []byte("body must not")) ||
		!bytes.Contains(hdrs, []byte("From: Иван")) {
		t.Errorf("rfc822-headers:\n%s", hdrs)
	}
	if _, err := DSN(DSNParams{Hostname: "h", To: "", Recipients: []DSNRecipient{{Address: "a@b"}}}); err == nil {
		t.Error("DSN to the null sender accepted")
	}
	if _, err := DSN(DSNParams{Hostname: "h", To: "a@b"}); err == nil {
		t.Error("DSN without recipients accepted")
	}
}
