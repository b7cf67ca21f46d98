package senderauth

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"net/mail"
	"strings"
)

// maxHeaderBytes bounds how much header we hold in memory, like maddy's
// max_header_size. Bigger headers make DKIM and DMARC permerror.
const maxHeaderBytes = 1 << 20

var errHeaderTooBig = errors.New("header larger than 1 MiB")

// field is one header field as it sits in the message: raw holds the
// exact bytes, folds and line ends included, so a field can be dropped
// without touching its neighbours.
type field struct {
	raw  []byte
	name string // as written, without trailing blanks
}

// value is the field body after the colon with folding undone.
func (f field) value() string {
	i := bytes.IndexByte(f.raw, ':')
	if i < 0 {
		return ""
	}
	v := strings.NewReplacer("\r\n", "", "\n", "", "\r", "").Replace(string(f.raw[i+1:]))
	return strings.TrimSpace(v)
}

// splitHeader cuts the header block at the start of data into fields.
// rest is everything from the blank line that ends the header (included)
// onwards. Lines may end in CRLF or a bare LF (go-smtp passes bare LF on).
// A line with no colon, or a continuation with nothing to continue, is
// kept as a field with an empty name so that joining all raw parts and
// rest gives back data byte for byte.
func splitHeader(data []byte) (fields []field, rest []byte) {
	for len(data) > 0 {
		line := nextLine(data)
		if isBlank(line) {
			return fields, data
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			last := &fields[len(fields)-1]
			last.raw = last.raw[:len(last.raw)+len(line)]
		} else {
			// Slicing with a full cap lets a continuation grow raw in
			// place, since the next line follows in the same array.
			f := field{raw: data[:len(line):len(data)]}
			if i := bytes.IndexByte(line, ':'); i > 0 && line[0] != ' ' && line[0] != '\t' {
				f.name = strings.TrimRight(string(line[:i]), " \t")
			}
			fields = append(fields, f)
		}
		data = data[len(line):]
	}
	return fields, data
}

// nextLine returns data up to and including the first LF (or all of it).
func nextLine(data []byte) []byte {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[:i+1]
	}
	return data
}

func isBlank(line []byte) bool {
	return string(line) == "\r\n" || string(line) == "\n"
}

// readHeader reads the header block, blank line included, from br.
func readHeader(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		line, err := br.ReadSlice('\n')
		if len(buf)+len(line) > maxHeaderBytes {
			return buf, errHeaderTooBig
		}
		buf = append(buf, line...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			// A message that is all header is fine.
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if isBlank(line) {
			return buf, nil
		}
	}
}

// fromDomain returns the RFC5322.From domain that DMARC evaluates. It
// insists on exactly one From field, and on one domain among its
// addresses (RFC 7489 §6.6.1), because a forger could otherwise pick
// whichever From a mail client displays.
func fromDomain(fields []field) (string, error) {
	var values []string
	for _, f := range fields {
		if strings.EqualFold(f.name, "From") {
			values = append(values, f.value())
		}
	}
	switch len(values) {
	case 0:
		return "", errors.New("no From field")
	case 1:
	default:
		return "", errors.New("more than one From field")
	}
	addrs := parseAddrs(values[0])
	if len(addrs) == 0 {
		return "", errors.New("From has no usable address")
	}
	domain := ""
	for _, a := range addrs {
		d := addrDomain(a)
		if d == "" {
			return "", errors.New("From address without a domain")
		}
		if domain != "" && d != domain {
			return "", errors.New("From addresses in different domains")
		}
		domain = d
	}
	return domain, nil
}

// addrParser decodes nothing: it only needs addresses, and display names in
// charsets net/mail does not know (windows-1251, koi8-r) must not stop it.
var addrParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
}}

// parseAddrs parses a From value, falling back to the last <...> for
// values net/mail finds too broken.
func parseAddrs(v string) []string {
	if list, err := addrParser.ParseList(v); err == nil {
		out := make([]string, 0, len(list))
		for _, a := range list {
			out = append(out, a.Address)
		}
		return out
	}
	if i := strings.LastIndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return []string{strings.TrimSpace(v[i+1 : i+j])}
		}
	}
	if v = strings.TrimSpace(v); v != "" && !strings.ContainsAny(v, " \t,;<>\"") {
		return []string{v}
	}
	return nil
}

// addrDomain returns the lower-cased domain of an address, or "" when it
// has none or it is an address literal.
func addrDomain(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return cleanDomain(addr[i+1:])
}

func cleanDomain(d string) string {
	d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
	if d == "" || strings.ContainsAny(d, "[]@ \t\"") {
		return ""
	}
	return d
}
