package hours

import (
	"fmt"
	"time"
)

var (
	ruWeekdayAcc = [7]string{"в воскресенье", "в понедельник", "во вторник", "в среду", "в четверг", "в пятницу", "в субботу"}
	ruMonthGen   = [13]string{"", "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}
)

// Moment says when t is, seen from now, in the words of lang ("ru" by
// default, "en"), in t's own zone: "сегодня в 14:00", "завтра в 9:00",
// "в понедельник, 4 января, в 9:00"; "today at 14:00", "on Monday,
// 4 January, at 9:00".
func Moment(t, now time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	now = now.In(t.Location())
	clock := fmt.Sprintf("%d:%02d", t.Hour(), t.Minute())
	y, m, d := t.Date()
	ny, nm, nd := now.Date()
	tomorrow := time.Date(ny, nm, nd+1, 12, 0, 0, 0, time.UTC)
	ty, tm, td := tomorrow.Date()
	if lang == "en" {
		switch {
		case y == ny && m == nm && d == nd:
			return "today at " + clock
		case y == ty && m == tm && d == td:
			return "tomorrow at " + clock
		}
		return fmt.Sprintf("on %s, %d %s, at %s", t.Weekday(), d, m, clock)
	}
	switch {
	case y == ny && m == nm && d == nd:
		return "сегодня в " + clock
	case y == ty && m == tm && d == td:
		return "завтра в " + clock
	}
	return fmt.Sprintf("%s, %d %s, в %s", ruWeekdayAcc[t.Weekday()], d, ruMonthGen[m], clock)
}
