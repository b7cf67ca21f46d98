package senderauth

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func TestSplitHeaderRoundTrip(t *testing.T) {
	for _, in := range []string{
		"A: 1\r\nB: 2\r\n folded\r\n\tmore\r\n\r\nbody\r\n",
		"A: 1\nB: 2\n folded\n\nbody",
		" leading continuation\r\nA: 1\r\n",
		"no colon line\r\nA: 1",
		"",
		"\r\n",
	} {
		fields, rest := splitHeader([]byte(in))
		var b bytes.Buffer
		for _, f := range fields {
			b.Write(f.raw)
		}
		b.Write(rest)
		if b.String() != in {
			t.Errorf("round trip of %q gave %q", in, b.String())
		}
	}

	fields, rest := splitHeader([]byte("Subject : a\r\n b\r\n\r\nbody"))
	if len(fields) != 1 || fields[0].name != "Subject" || fields[0].value() != "a b" || string(rest) != "\r\nbody" {
		t.Errorf("got %+v, rest %q", fields, rest)
	}
}

func TestReadHeader(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader("A: "+strings.Repeat("x", 5000)+"\r\n\r\nbody"), 16)
	h, err := readHeader(br)
	if err != nil || !strings.HasSuffix(string(h), "x\r\n\r\n") || len(h) != 5007 {
		t.Errorf("readHeader = %d bytes, %v", len(h), err)
	}
	if rest, _ := br.ReadString(0); rest != "body" {
		t.Errorf("left %q", rest)
	}
}

func TestFromDomain(t *testing.T) {
	cases := []struct {
		header string
		want   string // "" = error
	}{
		{"From: a@Example.ORG\r\n", "example.org"},
		{"From: \"Doe, John\" <j@example.org>\r\n", "example.org"},
		{"from: =?windows-1251?B?yOLg7Q==?= <ivan@example.ru>\r\n", "example.ru"},
		{"From: Ivan Petrov. Ltd <ivan@example.ru>\r\n", "example.ru"},
		{"From: <a@example.org.>\r\n", "example.org"},
		{"From: a@example.org, b@example.org\r\n", "example.org"},
		{"From: a@example.org, b@evil.example\r\n", ""},
		{"From: a@example.org\r\nFrom: b@example.org\r\n", ""},
		{"Subject: no from\r\n", ""},
		{"From: undisclosed\r\n", ""},
		{"From: a@[192.0.2.1]\r\n", ""},
		{"From: broken <<a@example.org>\r\n", "example.org"},
	}
	for _, tc := range cases {
		fields, _ := splitHeader([]byte(tc.header))
		got, err := fromDomain(fields)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("fromDomain(%q) = %q, %v; want %q", tc.header, got, err, tc.want)
		}
	}
}
