package rules

import (
	"os"
	"strings"
)

// Canonical is the form in which we compare addresses: the whole address
// lower-cased. Strictly the local part is case-sensitive (RFC 5321 §2.4),
// but no mailbox server a support team runs treats Support@ and support@ as
// two people, and refusing one of them would lose a customer's mail.
func Canonical(addr string) string {
	return strings.ToLower(strings.TrimSpace(strings.Trim(addr, "<>")))
}

// baseAddress drops a "+tag" subaddress (RFC 5233): support+billing@ is
// support@.
func baseAddress(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	local, domain := addr[:at], addr[at:]
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	return local + domain
}

// FindMailbox returns the [[mailbox]] an envelope recipient names, matching
// case-insensitively and ignoring a +tag, or nil when it is not ours.
func (c *Config) FindMailbox(rcpt string) *Mailbox {
	r := Canonical(rcpt)
	b := baseAddress(r)
	for i := range c.Mailbox {
		a := Canonical(c.Mailbox[i].Address)
		if a == r || a == b {
			return &c.Mailbox[i]
		}
	}
	return nil
}

// IsJournal reports whether rcpt is the journal address.
func (c *Config) IsJournal(rcpt string) bool {
	return c.Rules.JournalAddress != "" && Canonical(rcpt) == Canonical(c.Rules.JournalAddress)
}

// Forwards returns where a mailbox's mail goes upstream.
func (m *Mailbox) Forwards() []string {
	if len(m.ForwardTo) > 0 {
		return m.ForwardTo
	}
	return []string{m.Address}
}

// Secret reads a secret given inline or in a file (the file wins and its
// surrounding white space is dropped).
func Secret(inline, file string) (string, error) {
	if file == "" {
		return inline, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
