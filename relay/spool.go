package relay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"supportgate/store"
)

// spoolWriter receives one incoming message: our Received: line, then the
// body byte for byte as the client sent it. It keeps the message in memory
// up to store.InlineMax (then it goes into the database with its record)
// and streams anything bigger to a spool file, so memory stays bounded
// whatever the size.
type spoolWriter struct {
	path   string
	closed bool // a file was written and closed
	buf    *bytes.Buffer
	f      *os.File
	w      *bufio.Writer
	n      int64
	hdr    headerWatch
	// grow, if set, is told the size so far before each chunk is
	// written; an error (the queue's byte cap) stops the message.
	grow func(total int64) error
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func newSpool(path string) *spoolWriter {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	return &spoolWriter{path: path, buf: b}
}

// inline reports whether the message stayed in memory.
func (s *spoolWriter) inline() bool { return s.f == nil && !s.closed }

// bytes is the in-memory message (inline only).
func (s *spoolWriter) bytes() []byte { return s.buf.Bytes() }

func (s *spoolWriter) write(p []byte) error {
	if s.f == nil && s.buf.Len()+len(p) <= store.InlineMax {
		s.buf.Write(p)
		return nil
	}
	if s.f == nil {
		// O_EXCL: a queue id is never reused, so an existing file is a bug.
		f, err := os.OpenFile(s.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
		if err != nil {
			return err
		}
		s.f, s.w = f, bufio.NewWriterSize(f, 64<<10)
		if _, err := s.w.Write(s.buf.Bytes()); err != nil {
			return err
		}
	}
	_, err := s.w.Write(p)
	return err
}

// writeTrace writes our trace header; not counted against the header cap.
func (s *spoolWriter) writeTrace(line string) error { return s.write([]byte(line)) }

// copyBody streams r in, refusing a header block over maxHdr.
func (s *spoolWriter) copyBody(r io.Reader, maxHdr int64) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if !s.hdr.done {
				s.hdr.feed(buf[:n])
				if maxHdr > 0 && s.hdr.size > maxHdr {
					return errHeaderBig
				}
			}
			if s.grow != nil {
				if gerr := s.grow(s.n + int64(n)); gerr != nil {
					return gerr
				}
			}
			if werr := s.write(buf[:n]); werr != nil {
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

// commit makes a file-backed body durable (flush, fsync); the caller then
// makes its name and record durable. An inline body becomes durable with
// the record itself.
func (s *spoolWriter) commit() error {
	if s.f == nil {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	err := s.f.Close()
	s.f = nil
	s.closed = true
	return err
}

// release returns the buffer; abort also removes a file we will not accept.
func (s *spoolWriter) release() {
	if s.buf != nil && s.buf.Cap() <= 2*store.InlineMax {
		bufPool.Put(s.buf)
	}
	s.buf = nil
}

func (s *spoolWriter) abort() {
	if s.f != nil {
		s.f.Close()
	}
	if s.f != nil || s.closed {
		os.Remove(s.path)
	}
	s.release()
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
