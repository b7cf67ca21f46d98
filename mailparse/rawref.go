package mailparse

import (
	"bufio"
	"encoding/base64"
	"errors"
	"io"
	"strings"
)

// rawAttachment records, under Limits.RawAttachments, an ordinary
// attachment by reference (no decoding, no copy) and reports whether it
// did. Anything leaf would treat otherwise (body text, TNEF, an
// embedded message that needs its subject for a name, quoted-printable)
// is left to leaf.
func (w *walker) rawAttachment(h Header, mt string, body []byte, filename, disp string, inAlternative, top bool) bool {
	if !w.lim.RawAttachments || len(body) == 0 {
		return false
	}
	isText := mt == "text/plain" || mt == "text/html"
	if isText && (top || disp != "attachment" && filename == "") ||
		inAlternative && strings.HasPrefix(mt, "text/") && filename == "" ||
		mt == "application/ms-tnef" || strings.EqualFold(filename, "winmail.dat") ||
		filename == "" && (mt == "message/rfc822" || mt == "message/global") {
		return false
	}
	enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	switch enc {
	case "base64":
	case "", "7bit", "8bit", "binary":
		enc = ""
	default:
		return false // quoted-printable (and junk): decoded in memory as before
	}
	off, ok := offsetIn(w.base, body)
	if !ok {
		return false
	}
	cid := strings.Trim(strings.TrimSpace(h.Get("Content-ID")), "<>")
	a := Attachment{
		Filename:    CleanFileName(filename),
		ContentType: mt,
		ContentID:   cid,
		Inline:      disp == "inline" || (disp == "" && cid != ""),
		Raw:         &RawRef{Offset: off, Length: int64(len(body)), Encoding: enc},
	}
	w.msg.Attachments = append(w.msg.Attachments, a)
	return true
}

// offsetIn is where sub starts inside base, when sub is a slice of it
// (the walker only ever slices the message it read).
func offsetIn(base, sub []byte) (int64, bool) {
	if len(sub) == 0 || cap(sub) > cap(base) {
		return 0, false
	}
	off := cap(base) - cap(sub)
	if off+len(sub) > len(base) || &base[off] != &sub[0] {
		return 0, false
	}
	return int64(off), true
}

// Reader streams the attachment's decoded content from src (the raw
// message the offsets refer to); for an attachment with Data, from Data.
// Base64 is decoded as leniently as Parse does: bytes outside the
// alphabet are skipped, a trailing partial quantum is decoded as far as
// it goes.
func (a *Attachment) Reader(src io.ReaderAt) io.Reader {
	if a.Raw == nil {
		return strings.NewReader(string(a.Data))
	}
	sec := io.NewSectionReader(src, a.Raw.Offset, a.Raw.Length)
	if a.Raw.Encoding != "base64" {
		return sec
	}
	return &lenientB64{dec: base64.NewDecoder(base64.RawStdEncoding, &alphabetOnly{r: bufio.NewReaderSize(sec, 32<<10)})}
}

// Size is the decoded size: exact for Data and unencoded parts; for
// base64 it counts the alphabet characters (one streaming pass).
func (a *Attachment) Size(src io.ReaderAt) (int64, error) {
	if a.Raw == nil {
		return int64(len(a.Data)), nil
	}
	if a.Raw.Encoding != "base64" {
		return a.Raw.Length, nil
	}
	r := &alphabetOnly{r: bufio.NewReaderSize(io.NewSectionReader(src, a.Raw.Offset, a.Raw.Length), 32<<10)}
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return 0, err
	}
	return n * 6 / 8, nil
}

// alphabetOnly passes base64 alphabet characters (the URL-safe ones
// mapped to the standard), dropping line breaks, padding and junk.
type alphabetOnly struct{ r *bufio.Reader }

func (f *alphabetOnly) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c, err := f.r.ReadByte()
		if err != nil {
			if n > 0 && errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		switch v := b64val[c]; {
		case v == 0xff:
			continue
		case c == '-':
			c = '+'
		case c == '_':
			c = '/'
		}
		p[n] = c
		n++
	}
	return n, nil
}

// lenientB64 ends quietly where the standard decoder would complain of a
// lone trailing character (6 bits: no byte in it).
type lenientB64 struct{ dec io.Reader }

func (l *lenientB64) Read(p []byte) (int, error) {
	n, err := l.dec.Read(p)
	var ce base64.CorruptInputError
	if errors.As(err, &ce) {
		return n, io.EOF
	}
	return n, err
}
