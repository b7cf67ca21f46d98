package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"supportgate/rules"
	"supportgate/store"
)

// explain at a given moment: the mailbox's rules, its working hours at
// that moment, and the reply decoded with the right opening time, in
// and outside working hours; -html gets the page.
func TestExplainAtMoment(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	os.WriteFile(p, []byte(`
[smtp]
hostname = "mx.example.com"
[upstream]
address = "127.0.0.1:1"
[outbound]
address = "127.0.0.1:1"
[autoreply]
greeting = ["contacts", "address"]
[[mailbox]]
address = "support@example.com"
name = "Служба поддержки"
hours = "office"
response_time = "4h"
[hours.office]
timezone = "Europe/Moscow"
week = ["Mon-Fri 09:00-18:00"]
`), 0o600)
	c, err := rules.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	raw := []byte("From: \"Пётр Сидоров\" <petr@client.example>\r\nTo: support@example.com\r\nSubject: =?utf-8?B?0J/RgNC40L3RgtC10YA=?=\r\nMessage-ID: <e1@client.example>\r\n\r\nhelp\r\n")
	msk, _ := time.LoadLocation("Europe/Moscow")
	for _, c2 := range []struct {
		at    time.Time
		wants []string
	}{
		{time.Date(2026, 12, 31, 23, 40, 0, 0, msk), []string{
			"mailbox:     support@example.com (mailbox[0]",
			"outside working hours; opens 2027-01-11 09:00 Mon (в понедельник, 11 января, в 9:00)",
			"answer by:   2027-01-11 13:00 Mon",
			"Subject: Re: Принтер",
			"----- text/plain -----\nЗдравствуйте, petr@client.example!", // the seed's order: no display name
			"специалисты приступят к нему в понедельник, 11 января, в 9:00",
			"----- text/html -----\n<!DOCTYPE html>",
		}},
		{time.Date(2026, 12, 1, 10, 0, 0, 0, msk), []string{
			"in working hours", "Ответим сегодня в 14:00 или раньше.",
		}},
	} {
		var out, page bytes.Buffer
		in := ExplainInput{Raw: raw, Render: true, At: c2.at, HTML: &page}
		if err := st.View(func(tx *bolt.Tx) error { return Explain(context.Background(), tx, c, in, &out) }); err != nil {
			t.Fatal(err)
		}
		for _, w := range c2.wants {
			if !strings.Contains(out.String(), w) {
				t.Errorf("at %s: no %q in\n%s", c2.at, w, out.String())
			}
		}
		if !strings.Contains(page.String(), "data:image/png;base64,") || strings.Contains(page.String(), "cid:") {
			t.Errorf("-html page does not carry the logo inline")
		}
	}
}
