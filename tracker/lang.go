package tracker

import (
	"time"

	"supportgate/letters"
	"supportgate/rules"
	"supportgate/store"
)

// words are the lines we write into a task or a comment, and the notes
// we add to a mailed answer, in each mailbox language ([autoreply]
// language or [mailbox.autoreply] language): the team reads one
// language in the task, the customer one in the letter.
var words = map[string]map[string]string{
	"ru": {
		"from":         "[B]От:[/B] ",
		"warning":      "[B]Внимание:[/B] ",
		"channel_web":  "[B]Канал:[/B] веб-форма\n",
		"consent":      "[B]Согласие на обработку персональных данных:[/B] ",
		"no_folder":    "Вложения не загружены в Диск",
		"no_folder_id": "bitrix.folder_id не задан",
		"no_drive":     "нет папки на Диске: ",
		"refused":      "Файл «%s» не загружен в Диск: портал отказал (%s). Он есть в письме в почтовом ящике.",
		"renewed":      "[I]Клиент написал снова — задача возобновлена.[/I]\n",
		"no_folder_2":  ". Они есть в письме в почтовом ящике.",
		"skipped":      "Не загружены в Диск (лимит bitrix.max_files / max_files_bytes), есть в письме .eml и в почтовом ящике: ",
		"and_more":     ", и ещё %d",
		"file_big":     "Файл «%s» не вложен: слишком большой.",
		"file_failed":  "Файл «%s» не удалось вложить.",
	},
	"en": {
		"from":         "[B]From:[/B] ",
		"warning":      "[B]Warning:[/B] ",
		"channel_web":  "[B]Channel:[/B] web form\n",
		"consent":      "[B]Consent to personal data processing:[/B] ",
		"no_folder":    "Attachments not uploaded to Drive",
		"no_folder_id": "bitrix.folder_id is not set",
		"no_drive":     "no Drive folder: ",
		"refused":      "The file “%s” was not uploaded to Drive: the portal refused it (%s). It is in the message in the mailbox.",
		"renewed":      "[I]The customer wrote again: the task was renewed.[/I]\n",
		"no_folder_2":  ". They are in the message in the mailbox.",
		"skipped":      "Not uploaded to Drive (bitrix.max_files / max_files_bytes), they are in the .eml and in the mailbox: ",
		"and_more":     ", and %d more",
		"file_big":     "The file “%s” is not attached: too big.",
		"file_failed":  "The file “%s” could not be attached.",
	},
}

// word is the line key in lang (Russian when the language is unknown).
func word(lang, key string) string {
	if l, ok := words[lang]; ok {
		return l[key]
	}
	return words["ru"][key]
}

// threadLang is the language of the thread's mailbox.
func threadLang(cfg *rules.Config, th *store.Thread) string {
	return cfg.SettingsFor(th.Mailbox).Language
}

// mailboxResponsible is who gets the thread's task: its mailbox's
// responsible_id, else [bitrix] responsible_id.
func mailboxResponsible(cfg *rules.Config, th *store.Thread) int64 {
	return cfg.SettingsFor(th.Mailbox).ResponsibleID
}

// mailboxTask is the thread's mailbox's [mailbox.task] fields (merged
// over [bitrix.task] by taskExtra), with the DEADLINE of the mailbox's
// promise in working time when task_deadline is on: the portal's own
// overdue marks then match what the acknowledgement promised.
func mailboxTask(cfg *rules.Config, th *store.Thread) map[string]any {
	s := cfg.SettingsFor(th.Mailbox)
	var own map[string]any
	if s.Index >= 0 {
		own = cfg.Mailbox[s.Index].Task
	}
	set, err := letters.Of(cfg)
	if err != nil {
		return own
	}
	created := th.Created
	if created.IsZero() {
		created = time.Now()
	}
	if dl := set.For(th.Mailbox).Deadline(created); !dl.IsZero() {
		own = rules.MergeTask(own, map[string]any{"DEADLINE": dl.Format(time.RFC3339)})
	}
	return own
}

// notifyLetter is the specialist's-answer letter of the thread's mailbox.
func notifyLetter(cfg *rules.Config, mailbox string) (*letters.Mailbox, error) {
	set, err := letters.Of(cfg)
	if err != nil {
		return nil, err
	}
	return set.For(mailbox), nil
}
