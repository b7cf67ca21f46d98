// Package hours is working time: a weekly schedule in a time zone, with a
// production calendar of holidays, shortened pre-holiday days and
// working days transferred by decree. The acknowledgement uses it to
// promise an answer the team can keep ("we open on Monday at 9:00"),
// and the task's DEADLINE is counted in the same working time.
package hours

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Range is one working interval of a day, in minutes since midnight
// (local time of the profile), From < To.
type Range struct{ From, To int }

// Week holds the ranges of each weekday (time.Sunday = 0).
type Week [7][]Range

// Profile is a named [hours.NAME] profile made ready for use.
type Profile struct {
	Name string
	Loc  *time.Location
	Week Week
	Cal  *Calendar
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseWeek reads lines such as "Mon-Fri 09:00-18:00",
// "Mon-Thu 09:00-13:00, 14:00-18:00" or "Sat 10:00-14:00". A day named
// twice gets both lines' ranges; a day never named is a day off.
func ParseWeek(lines []string) (Week, error) {
	var w Week
	for _, line := range lines {
		days, spans, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			return w, fmt.Errorf("%q: want days and hours, e.g. \"Mon-Fri 09:00-18:00\"", line)
		}
		set, err := parseDays(days)
		if err != nil {
			return w, fmt.Errorf("%q: %v", line, err)
		}
		for _, sp := range strings.Split(spans, ",") {
			r, err := parseRange(strings.TrimSpace(sp))
			if err != nil {
				return w, fmt.Errorf("%q: %v", line, err)
			}
			for _, d := range set {
				w[d] = insertRange(w[d], r)
			}
		}
	}
	for d := range w {
		for i := 1; i < len(w[d]); i++ {
			if w[d][i].From < w[d][i-1].To {
				return w, fmt.Errorf("%s: ranges overlap", time.Weekday(d))
			}
		}
	}
	return w, nil
}

func parseDays(s string) ([]time.Weekday, error) {
	var out []time.Weekday
	for _, part := range strings.Split(strings.ToLower(s), ",") {
		a, b, isRange := strings.Cut(strings.TrimSpace(part), "-")
		da, ok := dayNames[a]
		if !ok {
			return nil, fmt.Errorf("unknown day %q (Mon, Tue, Wed, Thu, Fri, Sat, Sun)", a)
		}
		if !isRange {
			out = append(out, da)
			continue
		}
		db, ok := dayNames[b]
		if !ok {
			return nil, fmt.Errorf("unknown day %q (Mon, Tue, Wed, Thu, Fri, Sat, Sun)", b)
		}
		for d := da; ; d = (d + 1) % 7 {
			out = append(out, d)
			if d == db {
				break
			}
		}
	}
	return out, nil
}

func parseRange(s string) (Range, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Range{}, fmt.Errorf("%q is not HH:MM-HH:MM", s)
	}
	from, err := parseClock(a)
	if err != nil {
		return Range{}, err
	}
	to, err := parseClock(b)
	if err != nil {
		return Range{}, err
	}
	if to <= from {
		// A night shift is two lines ("Mon 22:00-24:00", "Tue 00:00-06:00"):
		// a range belongs to one calendar day, so holidays stay simple.
		return Range{}, fmt.Errorf("%q: the end must be after the start (24:00 is midnight)", s)
	}
	return Range{from, to}, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time HH:MM", s)
	}
	return hh*60 + mm, nil
}

func insertRange(rs []Range, r Range) []Range {
	i := 0
	for i < len(rs) && rs[i].From < r.From {
		i++
	}
	rs = append(rs, Range{})
	copy(rs[i+1:], rs[i:])
	rs[i] = r
	return rs
}

// New builds a profile. cal may be nil (no holidays).
func New(name, tz string, week []string, cal *Calendar) (*Profile, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		return nil, fmt.Errorf("timezone: %q is not an IANA time zone (e.g. \"Europe/Moscow\")", tz)
	}
	w, err := ParseWeek(week)
	if err != nil {
		return nil, fmt.Errorf("week: %v", err)
	}
	open := false
	for _, rs := range w {
		open = open || len(rs) > 0
	}
	if !open {
		return nil, fmt.Errorf("week: no working hours at all")
	}
	if cal == nil {
		cal = &Calendar{}
	}
	return &Profile{Name: name, Loc: loc, Week: w, Cal: cal}, nil
}

// dayRanges is the working time of the calendar day d (local midnight):
// none on a holiday; the weekly hours, or on a working day transferred
// from a weekend the hours of the week's first working weekday; one hour
// less at the end of a shortened pre-holiday day (Labour Code art. 95).
func (p *Profile) dayRanges(y int, m time.Month, d int) []Range {
	key := dateKey(y, m, d)
	if p.Cal.Holidays[key] {
		return nil
	}
	wd := time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday()
	rs := p.Week[wd]
	if p.Cal.Workdays[key] && len(rs) == 0 {
		rs = p.firstWorkday()
	}
	if p.Cal.Short[key] && len(rs) > 0 {
		rs = append([]Range(nil), rs...)
		last := &rs[len(rs)-1]
		last.To -= 60
		if last.To <= last.From {
			rs = rs[:len(rs)-1]
		}
	}
	return rs
}

func (p *Profile) firstWorkday() []Range {
	for d := time.Monday; d <= time.Saturday; d++ {
		if len(p.Week[d]) > 0 {
			return p.Week[d]
		}
	}
	return p.Week[time.Sunday]
}

// at is the instant of minute min of the local day (DST-safe: built
// from the wall clock, not by adding durations to midnight).
func (p *Profile) at(y int, m time.Month, d, min int) time.Time {
	return time.Date(y, m, d, min/60, min%60, 0, 0, p.Loc)
}

// maxScan bounds the search for the next working minute: a profile
// whose calendar closes every day would otherwise loop forever.
const maxScan = 3 * 366

// InHours reports whether t is working time.
func (p *Profile) InHours(t time.Time) bool {
	l := t.In(p.Loc)
	min := l.Hour()*60 + l.Minute()
	for _, r := range p.dayRanges(l.Year(), l.Month(), l.Day()) {
		if min >= r.From && min < r.To {
			return true
		}
	}
	return false
}

// NextOpen is t when t is working time, else the start of the next
// working range. The zero time when there is none within three years.
func (p *Profile) NextOpen(t time.Time) time.Time {
	if p.InHours(t) {
		return t
	}
	l := t.In(p.Loc)
	y, m, d := l.Date()
	min := l.Hour()*60 + l.Minute()
	for i := 0; i < maxScan; i++ {
		for _, r := range p.dayRanges(y, m, d) {
			if i > 0 || r.From > min || (r.From == min && l.Second() == 0) {
				return p.at(y, m, d, r.From)
			}
		}
		next := time.Date(y, m, d+1, 12, 0, 0, 0, time.UTC)
		y, m, d = next.Date()
	}
	return time.Time{}
}

// Add is the moment when dur of working time has passed from t: "4h"
// asked at 17:00 on a Friday is 12:00 on Monday with a 09:00-18:00 week.
func (p *Profile) Add(t time.Time, dur time.Duration) time.Time {
	left := dur
	l := t.In(p.Loc)
	y, m, d := l.Date()
	// Work in whole minutes of wall-clock ranges, so a DST change inside
	// a night never moves the result.
	cur := l.Hour()*60 + l.Minute()
	sec := time.Duration(l.Second())*time.Second + time.Duration(l.Nanosecond())
	for i := 0; i < maxScan; i++ {
		for _, r := range p.dayRanges(y, m, d) {
			if cur >= r.To {
				continue
			}
			start := max(cur, r.From)
			avail := time.Duration(r.To-start)*time.Minute - sec
			if start > cur {
				avail = time.Duration(r.To-start) * time.Minute
			}
			if left <= avail {
				base := p.at(y, m, d, start)
				if start == cur {
					base = base.Add(sec)
				}
				return base.Add(left)
			}
			left -= avail
			cur, sec = r.To, 0
		}
		next := time.Date(y, m, d+1, 12, 0, 0, 0, time.UTC)
		y, m, d = next.Date()
		cur, sec = 0, 0
	}
	return time.Time{}
}
