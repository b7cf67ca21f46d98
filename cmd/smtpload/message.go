package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// words feeds the body text. Plain lowercase words: no line ever starts with
// a dot, so the bytes on the wire equal the bytes the server stores, and a
// sink can check sizes exactly.
var words = strings.Fields(`the customer reports that the invoice sent last week
does not match the order and asks support to check the account settings again
before the renewal date please reply with the ticket number and a short summary
of what changed thanks for the quick help earlier this month`)

// bodyLine is the text width of a body line. Well under the 998-octet limit of
// RFC 5322 and the 78 it recommends.
const bodyLine = 72

// msgGen builds RFC 5322 messages of an exact total size (headers + body, as
// sent before dot-stuffing). The body is shared between messages of one run;
// only the header block differs, which keeps 50 × 10 MB runs cheap for the
// load tool itself.
type msgGen struct {
	from, to string
	size     int
	runID    string

	mu      sync.Mutex
	bodyLen int
	body    []byte
}

func newMsgGen(from, to string, size int) *msgGen {
	// runID makes Message-IDs unique across runs and processes.
	return &msgGen{from: from, to: to, size: size,
		runID: fmt.Sprintf("%x.%d", time.Now().UnixNano(), os.Getpid())}
}

// header returns the header block for message seq. Every field is fixed
// width (zero-padded counter, RFC 1123Z date), so its length does not depend
// on seq and the body length stays constant across a run.
func (g *msgGen) header(seq int) []byte {
	return fmt.Appendf(nil, "From: smtpload <%s>\r\n"+
		"To: <%s>\r\n"+
		"Subject: smtpload test message %010d\r\n"+
		"Date: %s\r\n"+
		"Message-ID: <%s.%010d@smtpload.invalid>\r\n"+
		"MIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=us-ascii\r\n"+
		"Content-Transfer-Encoding: 7bit\r\n"+
		"\r\n",
		g.from, g.to, seq, time.Now().Format(time.RFC1123Z), g.runID, seq)
}

// message returns header and body for message seq; the body slice is shared
// and must not be modified.
func (g *msgGen) message(seq int) (hdr, body []byte) {
	hdr = g.header(seq)
	n := g.size - len(hdr)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.body == nil || g.bodyLen != n {
		g.body = makeBody(n)
		g.bodyLen = n
	}
	return hdr, g.body
}

// makeBody returns exactly n bytes of CRLF-terminated text lines (n < 2 gives
// an empty body: a message cannot be smaller than its headers plus one line).
func makeBody(n int) []byte {
	if n < 2 {
		return nil
	}
	b := make([]byte, 0, n)
	w := 0
	for rem := n; rem > 0; {
		l := min(bodyLine+2, rem)
		if rem-l == 1 { // never leave a single byte that cannot form a line
			l--
		}
		line := make([]byte, 0, l)
		for len(line) < l-2 {
			word := words[w%len(words)]
			w++
			if len(line) > 0 {
				word = " " + word
			}
			room := l - 2 - len(line)
			if len(word) > room {
				word = strings.Repeat("x", room) // pad the line to its exact width
			}
			line = append(line, word...)
		}
		b = append(b, line...)
		b = append(b, '\r', '\n')
		rem -= l
	}
	return b
}
