package tracker

import (
	"supportgate/rules"
	"supportgate/store"
)

// taskExtra is the task's extra fields: [bitrix.task], and for a thread
// that began as a web appeal [webform.task] merged over it (the
// channel and the sender's type, as tags or UF_* fields). rules.MergeTask
// takes any number of layers, so a mailbox's own fields can go between.
func taskExtra(cfg *rules.Config, th *store.Thread) map[string]any {
	if th.Channel == "web" {
		return rules.MergeTask(cfg.Bitrix.Task, mailboxTask(cfg, th), cfg.Webform.Task)
	}
	return rules.MergeTask(cfg.Bitrix.Task, mailboxTask(cfg, th))
}

// consentLine is the personal-data consent record of a web appeal for
// the task text ("" for mail).
func consentLine(cfg *rules.Config, th *store.Thread) string {
	if th.Consent == "" {
		return ""
	}
	lang := cfg.SettingsFor(th.Mailbox).Language
	return word(lang, "channel_web") + word(lang, "consent") + escapeBBCode(th.Consent) + "\n"
}
