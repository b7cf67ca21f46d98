package console

import (
	"strconv"
	"strings"
)

// The pages speak English and Russian, chosen from Accept-Language.
// Messages are keyed by their English text's short name; a missing
// Russian text falls back to English (never to the key).

// catalogue: key → {en, ru}.
var catalogue = map[string][2]string{
	"title":          {"supportgate console", "Консоль supportgate"},
	"nav.messages":   {"Messages", "Письма"},
	"nav.queue":      {"Queue", "Очередь"},
	"nav.charts":     {"Charts", "Графики"},
	"nav.config":     {"Config", "Настройки"},
	"logout":         {"Log out", "Выйти"},
	"login":          {"Log in", "Войти"},
	"login.name":     {"Name", "Имя"},
	"login.password": {"Password", "Пароль"},
	"login.wrong":    {"Wrong name or password.", "Неверное имя или пароль."},
	"login.wait":     {"Too many failed tries. Wait %s and try again.", "Слишком много неудачных попыток. Подождите %s и попробуйте снова."},
	"col.time":       {"Time", "Время"},
	"col.channel":    {"Channel", "Канал"},
	"col.from":       {"From", "От"},
	"col.to":         {"To", "Кому"},
	"col.subject":    {"Subject", "Тема"},
	"col.decision":   {"Decision", "Решение"},
	"col.reason":     {"Reason", "Причина"},
	"col.thread":     {"Thread", "Переписка"},
	"col.task":       {"Task", "Задача"},
	"col.jobs":       {"Jobs", "Задания"},
	"col.kind":       {"Kind", "Вид"},
	"col.state":      {"State", "Состояние"},
	"col.attempts":   {"Attempts", "Попытки"},
	"col.created":    {"Created", "Создано"},
	"col.next":       {"Next try", "Следующая попытка"},
	"col.finished":   {"Finished", "Завершено"},
	"col.error":      {"Last error", "Последняя ошибка"},
	"col.depth":      {"Queued", "В очереди"},
	"col.running":    {"Running", "Выполняются"},
	"col.retrying":   {"Retrying", "Повторяются"},
	"col.held":       {"Held", "Задержаны"},
	"col.oldest":     {"Oldest", "Самое старое"},
	"col.failed24":   {"Failed (24 h)", "Ошибки (24 ч)"},
	"col.message":    {"Message", "Письмо"},
	"col.by":         {"By", "Кто"},
	"f.address":      {"Address", "Адрес"},
	"f.reason":       {"Reason", "Причина"},
	"f.state":        {"State", "Состояние"},
	"f.since":        {"From date", "С даты"},
	"f.until":        {"To date", "По дату"},
	"f.subject":      {"Subject contains", "Тема содержит"},
	"f.any":          {"any", "любая"},
	"f.apply":        {"Filter", "Показать"},
	"f.reset":        {"Reset", "Сбросить"},
	"newest":         {"Newest", "Новые"},
	"older":          {"Older", "Старше"},
	"none":           {"Nothing here.", "Ничего нет."},
	"scan.limit":     {"Only part of the history was searched; go on with “Older”.", "Просмотрена только часть истории; продолжите кнопкой «Старше»."},
	"msg.headers":    {"Headers", "Заголовки"},
	"msg.explain":    {"Explain (the running config)", "Разбор (действующие настройки)"},
	"msg.jobs":       {"Jobs", "Задания"},
	"msg.reply":      {"The auto-reply as sent", "Отправленный автоответ"},
	"msg.noreply":    {"No auto-reply was sent.", "Автоответ не отправлялся."},
	"msg.eml":        {"Download the original (.eml)", "Скачать оригинал (.eml)"},
	"msg.reply.eml":  {"Download the reply (.eml)", "Скачать автоответ (.eml)"},
	"msg.gone":       {"The original is no longer kept (it goes once its jobs are done).", "Оригинал больше не хранится (он удаляется, когда задания выполнены)."},
	"msg.notfound":   {"No such message (or its record has expired).", "Такого письма нет (или запись устарела)."},
	"thread.title":   {"Thread", "Переписка"},
	"thread.req":     {"Requester", "Заявитель"},
	"thread.parts":   {"Participants", "Участники"},
	"thread.in":      {"Customer's messages", "Письма клиента"},
	"thread.ids":     {"Messages in and out", "Входящие и исходящие"},
	"thread.mailbox": {"Mailbox", "Ящик"},
	"kind.in":        {"customer's mail", "письмо клиента"},
	"kind.auto":      {"auto-reply", "автоответ"},
	"kind.notify":    {"specialist's comment mailed", "комментарий специалиста отправлен"},
	"kind.journal":   {"team's own mail", "письмо команды"},
	"q.kinds":        {"Queue by kind", "Очередь по видам"},
	"q.trouble":      {"Failed, retrying and held jobs", "Неудачные, повторяемые и задержанные задания"},
	"q.retry":        {"Retry now", "Повторить сейчас"},
	"q.drop":         {"Drop", "Удалить"},
	"q.drop.ask":     {"Drop this job for good? It will not run again; this is logged with your name.", "Удалить задание навсегда? Оно больше не выполнится; это записывается в журнал с вашим именем."},
	"q.drop.yes":     {"Yes, drop it", "Да, удалить"},
	"q.cancel":       {"Cancel", "Отмена"},
	"q.retried":      {"Job %s is due now.", "Задание %s поставлено на выполнение."},
	"q.dropped":      {"Job %s dropped.", "Задание %s удалено."},
	"banner":         {"%s has been failing since %s (%s)", "%s не отвечает с %s (%s)"},
	"peer.upstream":  {"The upstream mailbox server", "Почтовый сервер (upstream)"},
	"peer.smarthost": {"The smarthost", "Исходящий сервер (smarthost)"},
	"peer.portal":    {"The Bitrix24 portal", "Портал Битрикс24"},
	"c.perhour":      {"Messages per hour, last 7 days, by decision", "Письма в час за 7 дней, по решению"},
	"c.latency":      {"Auto-reply latency per hour (seconds, p50 and p99)", "Задержка автоответа по часам (секунды, p50 и p99)"},
	"cfg.effective":  {"The config in force (secrets hidden)", "Действующие настройки (секреты скрыты)"},
	"cfg.reload":     {"Last reload", "Последняя перезагрузка"},
	"cfg.noreload":   {"No reload since the start.", "С запуска не перезагружались."},
	"cfg.check":      {"Check", "Проверить"},
	"cfg.ok":         {"The config file is valid.", "Файл настроек в порядке."},
	"cfg.problems":   {"The config file has problems:", "В файле настроек ошибки:"},
	"ok":             {"ok", "успешно"},
	"refused":        {"refused", "отклонена"},
	"local":          {"local (no login: loopback without a users file)", "локально (без входа: loopback без файла пользователей)"},
	"state.queued":   {"queued", "в очереди"},
	"state.running":  {"running", "выполняется"},
	"state.retrying": {"retrying", "повтор"},
	"state.held":     {"held", "задержано"},
	"state.done":     {"done", "готово"},
	"state.failed":   {"failed", "ошибка"},
	"state.dropped":  {"dropped", "удалено"},
	"state.pending":  {"in the queue", "в очереди"},
	"job.forward":    {"forwarded", "переслано"},
	"job.replied":    {"replied", "автоответ"},
	"job.task":       {"task", "задача"},
	"job.comment":    {"comment", "комментарий"},
	"dec.reply":      {"reply", "ответ"},
	"dec.no-reply":   {"no reply", "без ответа"},
	"dec.duplicate":  {"duplicate", "повтор"},
	"dec.journal":    {"journal", "журнал"},
	"dec.error":      {"not processed", "не обработано"},
	"dec.pending":    {"not yet decided", "ещё не решено"},
}

// reasonWords are the README's reason codes in a few words each.
var reasonWords = map[string][2]string{
	"reply":                    {"auto-reply sent", "автоответ отправлен"},
	"loop":                     {"our own mail came back (loop)", "наше письмо вернулось (петля)"},
	"null-sender":              {"bounce (empty sender)", "возврат (пустой отправитель)"},
	"report":                   {"delivery or read report", "отчёт о доставке или прочтении"},
	"auto-submitted":           {"sent automatically (Auto-Submitted)", "отправлено автоматически (Auto-Submitted)"},
	"precedence":               {"bulk or list mail (Precedence)", "массовая рассылка (Precedence)"},
	"list":                     {"mailing list", "рассылка"},
	"robot-sender":             {"system sender (MAILER-DAEMON, postmaster…)", "системный отправитель (MAILER-DAEMON, postmaster…)"},
	"vendor-autoreply":         {"another program's auto-reply", "автоответ другой программы"},
	"forwarded-by-rule":        {"forwarded by an inbox rule", "переслано правилом ящика"},
	"spam":                     {"flagged as spam", "помечено как спам"},
	"own-address":              {"from one of our addresses", "с нашего адреса"},
	"not-addressed":            {"not addressed to us (Bcc, list)", "адресовано не нам (Bcc, рассылка)"},
	"x-auto-response-suppress": {"asks for no auto-replies", "просит не отвечать автоматически"},
	"noreply-sender":           {"noreply sender", "адрес noreply"},
	"excluded-domain":          {"excluded domain", "исключённый домен"},
	"excluded-address":         {"excluded address", "исключённый адрес"},
	"team-sender":              {"from our team", "от нашей команды"},
	"known-thread":             {"continues a known thread", "продолжение переписки"},
	"answers-specialist":       {"answers a specialist", "ответ специалисту"},
	"auto-subject":             {"automatic subject (Out of Office…)", "автоматическая тема (Автоответ…)"},
	"auth-fail":                {"sender authentication failed", "отправитель не прошёл проверку"},
	"auth-temperror":           {"authentication: temporary DNS error", "проверка: временная ошибка DNS"},
	"auth-none":                {"sender not authenticated", "отправитель не подтверждён"},
	"rate-limit":               {"too many replies to this sender", "слишком много ответов отправителю"},
	"client-rate-limit":        {"too many replies to this client IP", "слишком много ответов этому IP"},
	"duplicate":                {"arrived before (duplicate)", "уже приходило (повтор)"},
}

// lang picks "ru" or "en" from an Accept-Language value: the language
// with the highest q among the two; English when neither is asked for.
func lang(accept string) string {
	best, bestQ := "en", -1.0
	for _, part := range strings.Split(accept, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if (base == "ru" || base == "en") && q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}

func tr(l, key string) string {
	m, ok := catalogue[key]
	if !ok {
		return key
	}
	if l == "ru" && m[1] != "" {
		return m[1]
	}
	return m[0]
}

func reasonText(l, code string) string {
	m, ok := reasonWords[code]
	if !ok {
		return code
	}
	if l == "ru" {
		return m[1]
	}
	return m[0]
}
