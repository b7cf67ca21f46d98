package relay

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"supportgate/senderauth"
)

// maxScanHeader bounds how much of a message we read to find its header
// block; past it the rest passes through untouched.
const maxScanHeader = 1 << 20

// forwardBody is what goes upstream: our Authentication-Results field
// (when the sender was checked), then the message with every
// Authentication-Results field that claims our authserv-id removed (RFC
// 8601 §5: a sender could forge one to look authenticated to the mailbox
// behind us). Everything else passes byte for byte.
func forwardBody(body io.Reader, authResults, authservID string) io.Reader {
	br := bufio.NewReaderSize(body, 64<<10)
	var hdr bytes.Buffer
	for hdr.Len() < maxScanHeader {
		line, err := br.ReadSlice('\n')
		hdr.Write(line)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil || len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
	}
	stripped := senderauth.StripOwnResults(hdr.Bytes(), authservID)
	return io.MultiReader(strings.NewReader(authResults), bytes.NewReader(stripped), br)
}
