package pipeline

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"supportgate/rules"
)

// Contacts is the [contacts] CSV (header row `email,name`): names for the
// greeting. It re-reads the file when its modification time changes, so a
// support manager's edit takes effect with the next message.
type Contacts struct {
	path    string
	mu      sync.Mutex
	mtime   time.Time
	checked time.Time
	names   map[string]string
}

// NewContacts watches path ("" = no contacts).
func NewContacts(path string) *Contacts { return &Contacts{path: path, names: map[string]string{}} }

// Load reads the file now; an error names the key and line.
func (c *Contacts) Load() error {
	if c.path == "" {
		return nil
	}
	st, err := os.Stat(c.path)
	if err != nil {
		return &rules.KeyError{Key: "contacts.file", Msg: err.Error()}
	}
	names, err := readContacts(c.path)
	if err != nil {
		return &rules.KeyError{Key: "contacts.file", Msg: err.Error()}
	}
	c.mu.Lock()
	c.names, c.mtime = names, st.ModTime()
	c.mu.Unlock()
	return nil
}

// Name returns the name for email, or "".
func (c *Contacts) Name(email string) string {
	if c == nil || c.path == "" {
		return ""
	}
	c.mu.Lock()
	stale := time.Since(c.checked) > time.Second
	if stale {
		c.checked = time.Now()
	}
	c.mu.Unlock()
	if stale {
		if st, err := os.Stat(c.path); err == nil && !st.ModTime().Equal(c.mtime) {
			if err := c.Load(); err != nil {
				// A broken edit keeps the names we had.
				c.mu.Lock()
				c.mtime = st.ModTime()
				c.mu.Unlock()
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.names[rules.Canonical(email)]
}

func readContacts(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("no header row: %w", err)
	}
	ei, ni := -1, -1
	for i, h := range head {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "email":
			ei = i
		case "name":
			ni = i
		}
	}
	if ei < 0 || ni < 0 {
		return nil, fmt.Errorf("header row must name the columns email and name, got %q", head)
	}
	names := map[string]string{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if len(rec) <= max(ei, ni) {
			continue
		}
		if e := rules.Canonical(rec[ei]); e != "" {
			names[e] = strings.TrimSpace(rec[ni])
		}
	}
}
