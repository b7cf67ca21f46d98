package bitrix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ID is a Bitrix24 identifier. The portal is inconsistent about their JSON
// type (§8): task ids are strings ("3711"), comment and Drive ids are
// numbers, and PHP sometimes sends null, "" or false for "none". ID accepts
// all of these; "none" decodes as 0.
type ID int64

// UnmarshalJSON implements json.Unmarshaler.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch string(b) {
	case "null", "false", `""`:
		*id = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Some ids come as floats ("3711.0" never seen, but json numbers
		// may carry an exponent); accept integral values only.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) {
			return fmt.Errorf("bitrix: bad id %.40q", string(b))
		}
		n = int64(f)
	}
	*id = ID(n)
	return nil
}

// MarshalJSON writes the id as a JSON number.
func (id ID) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatInt(int64(id), 10)), nil
}

// String returns the decimal form.
func (id ID) String() string { return strconv.FormatInt(int64(id), 10) }

// flexString decodes a JSON string, number, bool or null into a string.
// Used for fields like SIZE ("1679") or names that PHP may send as null.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" || string(b) == "false" {
		*f = ""
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if b[0] == '{' || b[0] == '[' {
		// An empty PHP array where a string was expected: treat as empty.
		*f = ""
		return nil
	}
	*f = flexString(b)
	return nil
}

// int64 parses the value as a decimal integer, 0 if it is not one.
func (f flexString) int64() int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(string(f)), 10, 64)
	return n
}
