package relay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// spoolWriter writes one incoming message to its spool file: our
// Received: line, then the body byte for byte as the client sent it.
type spoolWriter struct {
	f       *os.File
	w       *bufio.Writer
	n       int64
	hdr     headerWatch
	maxHdr  int64
	written bool
}

func createSpool(path string) (*spoolWriter, error) {
	// O_EXCL: a queue id is never reused, so an existing file is a bug.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, err
	}
	return &spoolWriter{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// writeTrace writes our trace header; not counted against the header cap.
func (s *spoolWriter) writeTrace(line string) error {
	_, err := s.w.WriteString(line)
	return err
}

// copyBody streams r to the file, refusing a header block over maxHdr.
func (s *spoolWriter) copyBody(r io.Reader, maxHdr int64) error {
	s.maxHdr = maxHdr
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if !s.hdr.done {
				s.hdr.feed(buf[:n])
				if s.maxHdr > 0 && s.hdr.size > s.maxHdr {
					return errHeaderBig
				}
			}
			if _, werr := s.w.Write(buf[:n]); werr != nil {
				return werr
			}
			s.n += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// commit flushes and fsyncs the file: after this the body survives a
// crash; the caller then makes its name and record durable.
func (s *spoolWriter) commit() error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	s.written = true
	return s.f.Close()
}

// abort closes and removes a file we will not accept.
func (s *spoolWriter) abort() {
	if !s.written {
		s.f.Close()
	}
	os.Remove(s.f.Name())
}

// headerWatch counts header bytes until the blank line that ends them.
type headerWatch struct {
	size int64
	done bool
	last [3]byte // the bytes before this chunk, to find a split "\r\n\r\n"
}

func (h *headerWatch) feed(p []byte) {
	joined := append(h.last[:], p...)
	if i := bytes.Index(joined, []byte("\n\r\n")); i >= 0 {
		h.size += int64(max(0, i-3))
		h.done = true
		return
	}
	if i := bytes.Index(joined, []byte("\n\n")); i >= 0 {
		h.size += int64(max(0, i-3))
		h.done = true
		return
	}
	h.size += int64(len(p))
	copy(h.last[:], joined[len(joined)-3:])
}

// received builds our Received: field (RFC 5321 §4.4), folded, with
// everything the client chose (its HELO) cleaned of anything that could
// break the header.
func received(helo, ip, hostname, proto, id, rcpt string, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Received: from %s ([%s])\r\n\tby %s (supportgate) with %s id %s", cleanHeaderText(helo, 100), ip, hostname, proto, id)
	if rcpt != "" {
		fmt.Fprintf(&b, "\r\n\tfor <%s>", cleanHeaderText(rcpt, 300))
	}
	fmt.Fprintf(&b, ";\r\n\t%s\r\n", now.Format(time.RFC1123Z))
	return b.String()
}

// cleanHeaderText keeps printable ASCII only, so no CR, LF or control
// character from a client reaches a header we write.
func cleanHeaderText(s string, max int) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(out) < max; i++ {
		c := s[i]
		if c > ' ' && c < 0x7f && c != '(' && c != ')' {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return "unknown"
	}
	return string(out)
}
