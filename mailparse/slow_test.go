package mailparse

import (
	"strings"
	"testing"
	"time"
)

// TestAdversarialInputsAreLinear feeds 1 MB inputs built to trigger
// quadratic behaviour (found while fuzzing: joined folds, regexps on
// every line). The 10 s bound is loose on purpose; a regression to
// quadratic time takes far longer.
func TestAdversarialInputsAreLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const n = 1 << 20
	cases := map[string]string{
		"folds":        "Subject: x\n" + strings.Repeat(" a\n", n/3) + "\nbody",
		"delims":       "Content-Type: multipart/mixed; boundary=b\n\n" + strings.Repeat("--b\n", n/4),
		"prefixdelims": "Content-Type: multipart/mixed; boundary=b\n\n" + strings.Repeat("--bX\n", n/5),
		"rere":         "Subject: " + strings.Repeat("Re: ", n/4) + "\n\nx",
		"onlines":      "\n" + strings.Repeat("On x\n", n/5),
		"wrote":        "\n" + strings.Repeat("he wrote:\n\n", n/11),
		"html":         "Content-Type: text/html\n\n" + strings.Repeat("<blockquote><a href=x>", n/22),
		"to":           "To: " + strings.Repeat("a@b, ", n/5) + "\n\nx",
		"tobad":        "To: " + strings.Repeat("a@b <, ", n/7) + "\n\nx",
		"words":        "Subject: " + strings.Repeat("=?utf-8?B?0J/R?= ", n/17) + "\n\nx",
		"refs":         "References: " + strings.Repeat("<a", n/2) + "\n\nx",
		"ctparams":     "Content-Type: text/plain; " + strings.Repeat("name*1*=%41; ", n/13) + "\n\nx",
		"qp":           "Content-Transfer-Encoding: quoted-printable\n\n" + strings.Repeat("= \n", n/3),
		"8bit":         "Subject: " + strings.Repeat("\xe0\xc0", n/2) + "\n\n" + strings.Repeat("\xe0\xc0", n/2),
		"brackets":     "Subject: " + strings.Repeat("[", n/2) + "]\n\nx",
	}
	lim := Limits{MaxHeaderBytes: 4 << 20, MaxTotalBytes: 8 << 20}
	for name, in := range cases {
		start := time.Now()
		m, _ := Parse(strings.NewReader(in), lim)
		TrimQuoted(m.Text)
		NormalizeSubject(m.Subject)
		TaskTag(m.Subject)
		HTMLToText(m.HTML)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: %v", name, d)
		}
	}
}
