package senderauth

import (
	"bytes"
	"testing"
)

// FuzzStripOwnResults checks that stripping only ever removes whole
// fields of ours: it is idempotent, never grows the input, leaves input
// without our id alone, and keeps the body.
func FuzzStripOwnResults(f *testing.F) {
	for _, s := range []string{
		"Authentication-Results: mx.test; spf=pass\r\nFrom: a@b\r\n\r\nbody",
		"authentication-results: (c) MX.TEST. 1;\r\n\tnone\r\nSubject: x\r\n",
		"Authentication-Results: other; spf=pass smtp.mailfrom=mx.test\n\nAuthentication-Results: mx.test; none\n",
		"Authentication-Results: \"mx.test\"; none",
		" \r\n\r\n",
		"Authentication-Results\r\n: mx.test\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		const id = "mx.test"
		orig := bytes.Clone(in)
		out := StripOwnResults(in, id)
		if !bytes.Equal(in, orig) {
			t.Fatal("input modified")
		}
		if len(out) > len(in) {
			t.Fatalf("output grew: %q -> %q", in, out)
		}
		if again := StripOwnResults(out, id); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
		}
		if !bytes.Contains(bytes.ToLower(in), []byte(id)) && !bytes.Equal(out, in) {
			t.Fatalf("changed input without our id: %q -> %q", in, out)
		}
		_, restIn := splitHeader(in)
		if !bytes.HasSuffix(out, restIn) {
			t.Fatalf("body changed: %q -> %q", in, out)
		}
	})
}
