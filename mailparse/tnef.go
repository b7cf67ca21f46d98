package mailparse

import (
	"encoding/binary"
	"strings"
	"unicode/utf16"
)

// TNEF (winmail.dat, MS-OXTNEF) is Outlook's wrapper for attachments and
// rich text. No Go library is available, and we only need the files it
// carries, so this reads just the attachment records and skips the rest.
// Everything is bounds-checked: a damaged blob ends parsing with what was
// found so far; ok is false only if nothing usable was found, and then
// the caller keeps winmail.dat itself.

const tnefSignature = 0x223E9F78

// Attribute IDs (low 16 bits of the attribute tag).
const (
	attBody           = 0x800C
	attAttachData     = 0x800F
	attAttachTitle    = 0x8010
	attAttachRendData = 0x9002
	attAttachment     = 0x9005
)

// MAPI property IDs and types used for attachments.
const (
	prAttachDataBin      = 0x3701
	prAttachLongFilename = 0x3707
	prAttachMimeTag      = 0x370E
	prAttachContentID    = 0x3712
	prDisplayName        = 0x3001

	ptString8 = 0x001E
	ptUnicode = 0x001F
	ptBinary  = 0x0102
	ptObject  = 0x000D
	ptMulti   = 0x1000
)

// tnefReader is a cursor that turns every out-of-range read into a
// sticky failure instead of a panic.
type tnefReader struct {
	b   []byte
	off int
	bad bool
}

func (r *tnefReader) bytes(n int) []byte {
	if r.bad || n < 0 || n > len(r.b)-r.off {
		r.bad = true
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *tnefReader) u16() uint16 {
	if p := r.bytes(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (r *tnefReader) u32() uint32 {
	if p := r.bytes(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *tnefReader) u8() byte {
	if p := r.bytes(1); p != nil {
		return p[0]
	}
	return 0
}

func parseTNEF(data []byte, maxAtts int) (atts []Attachment, body string, ok bool) {
	r := &tnefReader{b: data}
	if r.u32() != tnefSignature {
		return nil, "", false
	}
	r.u16() // legacy key
	var cur *Attachment
	flush := func() {
		if cur != nil && (len(cur.Data) > 0 || cur.Filename != "") && len(atts) < maxAtts {
			if cur.ContentType == "" {
				cur.ContentType = "application/octet-stream"
			}
			atts = append(atts, *cur)
		}
		cur = nil
	}
	for !r.bad && r.off < len(data) {
		level := r.u8()
		tag := r.u32()
		n := r.u32()
		if r.bad || int64(n) > int64(len(data)-r.off) {
			break
		}
		val := r.bytes(int(n))
		r.u16() // checksum: not verified, a wrong one costs nothing here
		id := tag & 0xFFFF
		switch {
		case level == 1 && id == attBody:
			body = fix8bit(strings.TrimRight(string(val), "\x00"))
		case id == attAttachRendData:
			flush()
			cur = &Attachment{}
		case cur == nil:
			// message-level attribute: nothing we need
		case id == attAttachTitle:
			if cur.Filename == "" {
				cur.Filename = fix8bit(strings.TrimRight(string(val), "\x00"))
			}
		case id == attAttachData:
			cur.Data = append([]byte(nil), val...)
		case id == attAttachment:
			applyMAPIProps(cur, val)
		}
	}
	flush()
	return atts, body, len(atts) > 0 || body != ""
}

// applyMAPIProps reads an attachment's MAPI property list for the long
// file name (attAttachTitle is often an 8.3 name), MIME type and
// Content-ID. Unknown property types stop the walk; what was read stays.
func applyMAPIProps(a *Attachment, b []byte) {
	r := &tnefReader{b: b}
	count := r.u32()
	for i := uint32(0); i < count && !r.bad && i < 1000; i++ {
		typ := r.u16()
		id := r.u16()
		if id >= 0x8000 { // named property: GUID, kind, id or name
			r.bytes(16)
			if r.u32() == 0 {
				r.u32()
			} else {
				r.bytes(pad4(int(r.u32())))
			}
		}
		vals, ok := readPropValues(r, typ)
		if !ok || len(vals) == 0 {
			if !ok {
				return
			}
			continue
		}
		v := vals[0]
		switch id {
		case prAttachLongFilename:
			a.Filename = propString(typ, v)
		case prDisplayName:
			if a.Filename == "" {
				a.Filename = propString(typ, v)
			}
		case prAttachMimeTag:
			a.ContentType = strings.ToLower(propString(typ, v))
		case prAttachContentID:
			a.ContentID = strings.Trim(propString(typ, v), "<>")
		case prAttachDataBin:
			if len(a.Data) == 0 && typ&^ptMulti == ptBinary {
				a.Data = append([]byte(nil), v...)
			}
		}
	}
}

// readPropValues returns the raw values of one property (MS-OXTNEF
// 2.1.3.4): fixed-size types inline, padded to 4; variable-size types and
// multi-valued ones as a count followed by length-prefixed values.
func readPropValues(r *tnefReader, typ uint16) ([][]byte, bool) {
	base := typ &^ ptMulti
	size := 0
	switch base {
	case 0x0002, 0x0003, 0x0004, 0x000A, 0x000B:
		size = 4
	case 0x0005, 0x0006, 0x0007, 0x0014, 0x0040:
		size = 8
	case 0x0048:
		size = 16
	case ptString8, ptUnicode, ptBinary, ptObject:
		size = -1
	default:
		return nil, false
	}
	n := uint32(1)
	if typ&ptMulti != 0 || size < 0 {
		n = r.u32()
	}
	var vals [][]byte
	for i := uint32(0); i < n && !r.bad; i++ {
		if size > 0 {
			vals = append(vals, r.bytes(size))
			continue
		}
		l := int(r.u32())
		v := r.bytes(l)
		r.bytes(pad4(l) - l)
		vals = append(vals, v)
	}
	return vals, !r.bad
}

func pad4(n int) int {
	if n < 0 {
		return -1
	}
	return (n + 3) &^ 3
}

func propString(typ uint16, v []byte) string {
	if typ&^ptMulti == ptUnicode {
		u := make([]uint16, 0, len(v)/2)
		for i := 0; i+1 < len(v); i += 2 {
			u = append(u, binary.LittleEndian.Uint16(v[i:]))
		}
		return strings.TrimRight(string(utf16.Decode(u)), "\x00")
	}
	return fix8bit(strings.TrimRight(string(v), "\x00"))
}
