package rules

import (
	"strings"
	"unicode/utf8"
)

// validateIssue11 checks the [bitrix] keys of issue 11 (Drive folder,
// closed tasks, CRM contacts).
func (c *Config) validateIssue11(add func(key, format string, a ...any)) {
	b := c.Bitrix
	name := strings.TrimSpace(b.FolderName)
	switch {
	case b.FolderID <= 0 && name == "":
		add("bitrix.folder_name", "must not be empty when bitrix.folder_id is not set: files go to this folder of the webhook user's Drive")
	case strings.ContainsAny(name, `/\:*?"<>|`):
		add("bitrix.folder_name", "must be one folder name, without / \\ : * ? \" < > |")
	case utf8.RuneCountInString(name) > 100:
		add("bitrix.folder_name", "too long (at most 100 characters)")
	}
	if b.ReopenWithin < 0 {
		add("bitrix.reopen_within", "must not be negative (0: never renew, always a new task)")
	}
	for i, w := range b.ThanksWords {
		if strings.TrimSpace(w) == "" {
			add("bitrix.thanks_words", "word %d is empty", i+1)
		}
	}
}
