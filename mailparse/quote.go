package mailparse

import (
	"regexp"
	"strings"
)

// TrimQuoted removes quoted history from a reply so only the new text
// goes into the task comment: every line starting with '>' and
// everything from the first reply header on ("On … wrote:",
// "-----Original Message-----", Outlook's From:/Sent: block, "… пишет:",
// "написал(а):", "-------- Исходное сообщение --------", Yandex/Mail.ru
// "date, Name <addr>:" lines). Forward markers are not cut: in a
// forward the forwarded text is the content.
//
// If trimming would leave nothing, the original text is returned: an
// empty comment is worse than a redundant one.
func TrimQuoted(text string) string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if cut := findReplyHeader(lines); cut >= 0 {
		lines = lines[:cut]
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimLeft(l, " \t"), ">") {
			continue
		}
		out = append(out, l)
	}
	// Drop an attribution line left right above a removed quote block
	// and trailing blank lines.
	res := strings.TrimRight(strings.Join(out, "\n"), " \t\n")
	if strings.TrimSpace(res) == "" {
		return text
	}
	return res
}

var (
	// separator lines: -----Original Message-----, -------- Исходное сообщение --------
	reOriginal = regexp.MustCompile(`(?i)^\s*-{2,}\s*(original message|исходное сообщение|ursprüngliche nachricht|message d'origine|mensaje original|oorspronkelijk bericht|oryginalna wiadomość|вихідне повідомлення|原始邮件)\s*-{2,}\s*$`)
	// the line that ends an attribution: "wrote:", "пишет:", "написал(а):"
	reWrote = regexp.MustCompile(`(?i)(\bwrote|\bschrieb|a écrit|escribió|scrisse|пишет|написал|написала|написал\(а\)|написав|напиcал|skrev|kirjoitti|napisał\(a\)|napisał|napisala|heeft geschreven|escreveu)\s*:\s*$`)
	// Outlook/Exchange header block opener, plain or bold in HTML-to-text
	reFromLine = regexp.MustCompile(`^\s*\*?(From|От|Von|De|Da|Van|Från|Od|Fra|Lähettäjä|Від|发件人)\s*\*?\s*[:：]`)
	reSentLine = regexp.MustCompile(`^\s*\*?(Sent|Date|Отправлено|Дата|Gesendet|Envoyé|Enviado|Inviato|Verzonden|Skickat|Wysłano|Sendt|Lähetetty|Надіслано|发送时间|To|Кому|An|À|Subject|Тема)\s*\*?\s*[:：]`)
	// "15.03.2024, 10:00, "Иван" <ivan@x.ru>:" (Yandex), "Среда, 15 марта 2024, 10:00 +03:00 от Иван <ivan@x.ru>:" (Mail.ru)
	reDatedAttribution = regexp.MustCompile(`\d.*<[^<>\s]+@[^<>\s]+>\s*:\s*$`)
	reUnderscores      = regexp.MustCompile(`^\s*_{10,}\s*$`)
	reForward          = regexp.MustCompile(`(?i)^\s*-{2,}\s*(forwarded message|пересылаемое сообщение|переслано|weitergeleitete nachricht|message transféré)|^\s*(begin forwarded message|начало переадресованного сообщения)\s*:`)
)

// findReplyHeader returns the index of the first line that starts quoted
// history, or -1. Cheap byte checks guard every regexp: this runs on
// every inbound body, and most lines cannot be headers.
func findReplyHeader(lines []string) int {
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || len(t) > maxHeaderLine {
			continue
		}
		endsColon := strings.HasSuffix(t, ":") || strings.HasSuffix(t, "：")
		if strings.Contains(t, "--") {
			if reOriginal.MatchString(t) {
				return i
			}
			if reForward.MatchString(t) {
				// Everything below is forwarded content, headers included.
				return -1
			}
		}
		if endsColon && reForward.MatchString(t) {
			return -1
		}
		// Attribution lines: often wrapped by the client, so look at the
		// line joined with up to two following ones.
		if startsAttribution(t) {
			joined := t
			for k := 1; k <= 2 && i+k < len(lines) && !strings.HasSuffix(joined, ":"); k++ {
				joined += " " + strings.TrimSpace(lines[i+k])
			}
			if strings.HasSuffix(joined, ":") && len(joined) <= maxHeaderLine && reWrote.MatchString(joined) {
				return i
			}
		}
		// A bare "… пишет:" needs a date, an address or a quote below
		// it, so "Вот что он написал:" in the new text is kept.
		if endsColon && reWrote.MatchString(t) &&
			(strings.ContainsAny(t, "@0123456789") || nextIsQuote(lines, i)) {
			return i
		}
		if endsColon && strings.Contains(t, "@") && reDatedAttribution.MatchString(t) && nextIsQuote(lines, i) {
			return i
		}
		if strings.ContainsAny(t[:min(len(t), 40)], ":：") && reFromLine.MatchString(l) && outlookBlock(lines, i) {
			if i > 0 && reUnderscores.MatchString(lines[i-1]) {
				return i - 1
			}
			return i
		}
	}
	return -1
}

// maxHeaderLine is the longest line taken for a reply header; longer
// lines are text (and would make the regexps expensive).
const maxHeaderLine = 1000

func startsAttribution(t string) bool {
	for _, p := range []string{"On ", "Am ", "Le ", "El ", "Il ", "Op ", "Den ", "W dniu "} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// outlookBlock reports whether a From: line is followed, within four
// lines, by Sent:/Date:/To:/Subject: — the header block Outlook puts
// above the quoted original. A lone "From:" inside text is not enough.
func outlookBlock(lines []string, i int) bool {
	for k := 1; k <= 4 && i+k < len(lines); k++ {
		if len(lines[i+k]) <= maxHeaderLine && reSentLine.MatchString(lines[i+k]) {
			return true
		}
	}
	return false
}

// nextIsQuote reports whether the next non-blank line is quoted; a
// dated "<addr>:" line is only an attribution if a quote follows.
func nextIsQuote(lines []string, i int) bool {
	for k := i + 1; k < len(lines); k++ {
		t := strings.TrimSpace(lines[k])
		if t == "" {
			if k-i > 10 {
				return false
			}
			continue
		}
		return strings.HasPrefix(t, ">")
	}
	return false
}
