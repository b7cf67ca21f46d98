package hours

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func office(t *testing.T, tz string, week ...string) *Profile {
	t.Helper()
	cal, err := Russian()
	if err != nil {
		t.Fatal(err)
	}
	if len(week) == 0 {
		week = []string{"Mon-Fri 09:00-18:00"}
	}
	p, err := New("office", tz, week, cal)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func at(t *testing.T, p *Profile, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, p.Loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestInHoursAndNextOpen(t *testing.T) {
	msk := office(t, "Europe/Moscow")
	split := office(t, "Europe/Moscow", "Mon-Fri 09:00-13:00, 14:00-18:00", "Sat 10:00-14:00")
	cases := []struct {
		name string
		p    *Profile
		at   string
		in   bool
		next string
	}{
		{"a Tuesday morning", msk, "2026-12-01 10:30", true, "2026-12-01 10:30"},
		{"before opening", msk, "2026-12-01 08:59", false, "2026-12-01 09:00"},
		{"the closing minute is closed", msk, "2026-12-01 18:00", false, "2026-12-02 09:00"},
		{"across midnight", msk, "2026-12-01 23:40", false, "2026-12-02 09:00"},
		{"Friday night to Monday", msk, "2026-12-04 23:40", false, "2026-12-07 09:00"},
		{"Sunday", msk, "2026-12-06 12:00", false, "2026-12-07 09:00"},
		{"New Year's Eve (a day off by decree) to 12 January", msk, "2026-12-30 18:30", false, "2027-01-11 09:00"},
		{"9 January 2026 is off (moved from the 3rd)", msk, "2026-01-09 11:00", false, "2026-01-12 09:00"},
		{"shortened pre-holiday day closes at 17:00", msk, "2026-11-03 17:30", false, "2026-11-05 09:00"},
		{"shortened day still open at 16:59", msk, "2026-11-03 16:59", true, "2026-11-03 16:59"},
		{"holiday moved to Monday 11 May", msk, "2026-05-08 17:10", false, "2026-05-12 09:00"},
		{"lunch break", split, "2026-12-01 13:30", false, "2026-12-01 14:00"},
		{"Saturday hours", split, "2026-12-05 11:00", true, "2026-12-05 11:00"},
		{"a Saturday that is a holiday", split, "2026-05-09 11:00", false, "2026-05-12 09:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := at(t, c.p, c.at)
			if got := c.p.InHours(m); got != c.in {
				t.Errorf("InHours(%s) = %v, want %v", c.at, got, c.in)
			}
			if got, want := c.p.NextOpen(m), at(t, c.p, c.next); !got.Equal(want) {
				t.Errorf("NextOpen(%s) = %s, want %s", c.at, got.In(c.p.Loc).Format("2006-01-02 15:04 Mon"), c.next)
			}
		})
	}
}

// A working Saturday made by a transfer (a decree moves a day off from it
// to a Friday, say): the admin's calendar names it, and it works the
// hours of a weekday.
func TestTransferredWorkingSaturday(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "cal.toml")
	os.WriteFile(f, []byte(`extends = "ru"
workdays = ["2027-11-06"]
holidays = ["2027-11-05"]
`), 0o600)
	cal, err := LoadCalendar(f)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New("x", "Europe/Moscow", []string{"Mon-Fri 09:00-18:00"}, cal)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at   string
		in   bool
		next string
	}{
		{"2027-11-06 10:00", true, "2027-11-06 10:00"},  // the working Saturday
		{"2027-11-05 10:00", false, "2027-11-06 09:00"}, // its Friday is off
		{"2027-11-03 17:30", false, "2027-11-06 09:00"}, // shortened (4 Nov), then the Friday off
		{"2027-11-06 18:00", false, "2027-11-08 09:00"},
	} {
		m := at(t, p, c.at)
		if got := p.InHours(m); got != c.in {
			t.Errorf("InHours(%s) = %v, want %v", c.at, got, c.in)
		}
		if got, want := p.NextOpen(m), at(t, p, c.next); !got.Equal(want) {
			t.Errorf("NextOpen(%s) = %s, want %s", c.at, got.Format("2006-01-02 15:04 Mon"), c.next)
		}
	}
}

func TestAddWorkingTime(t *testing.T) {
	msk := office(t, "Europe/Moscow")
	ber := office(t, "Europe/Berlin")
	berNoCal, _ := New("b", "Europe/Berlin", []string{"Mon-Sun 00:00-24:00"}, nil)
	cases := []struct {
		name string
		p    *Profile
		from string
		d    time.Duration
		want string
	}{
		{"inside one day", msk, "2026-12-01 10:00", 4 * time.Hour, "2026-12-01 14:00"},
		{"Friday 17:00 + 4h is Monday 12:00", msk, "2026-12-04 17:00", 4 * time.Hour, "2026-12-07 12:00"},
		{"at night: counts from the opening", msk, "2026-12-01 23:40", 4 * time.Hour, "2026-12-02 13:00"},
		{"16 working hours span two days", msk, "2026-12-02 12:00", 16 * time.Hour, "2026-12-04 10:00"},
		{"three days over the New Year holidays", msk, "2026-12-30 15:00", 24 * time.Hour, "2027-01-13 12:00"},
		{"the shortened day counts 8 hours", msk, "2026-11-03 16:00", 2 * time.Hour, "2026-11-05 10:00"},
		{"Berlin: over the spring DST night", berNoCal, "2026-03-29 01:00", 3 * time.Hour, "2026-03-29 05:00"},
		{"Berlin: over the autumn DST night", berNoCal, "2026-10-25 01:00", 3 * time.Hour, "2026-10-25 03:00"},
		{"Berlin office week, 9h from Friday", ber, "2026-10-23 17:00", 9 * time.Hour, "2026-10-26 17:00"},
		{"exactly the closing time", msk, "2026-12-01 09:00", 9 * time.Hour, "2026-12-01 18:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.p.Add(at(t, c.p, c.from), c.d)
			if want := at(t, c.p, c.want); !got.Equal(want) {
				t.Errorf("Add(%s, %s) = %s, want %s", c.from, c.d, got.In(c.p.Loc).Format("2006-01-02 15:04 Mon MST"), c.want)
			}
		})
	}
	// Inside a range hours are real hours: in the spring night the
	// clock jumps from 02:00 to 03:00, so 3 hours from 01:00 end at 05:00
	// on the clock and 3 hours later in fact.
	a := at(t, berNoCal, "2026-03-29 01:00")
	if got := berNoCal.Add(a, 3*time.Hour).Sub(a); got != 3*time.Hour {
		t.Errorf("spring DST: %s of real time, want 3h", got)
	}
}

// The 2026 calendar gives the official number of working days (247).
func TestRussia2026WorkingDays(t *testing.T) {
	p := office(t, "Europe/Moscow")
	days, short := 0, 0
	for d := time.Date(2026, 1, 1, 12, 0, 0, 0, p.Loc); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
		rs := p.dayRanges(d.Date())
		if len(rs) > 0 {
			days++
		}
		if p.Cal.Short[dateKey(d.Date())] {
			short++
		}
	}
	if days != 247 || short != 4 {
		t.Errorf("2026: %d working days, %d shortened; the production calendar has 247 and 4", days, short)
	}
}

func TestMoment(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Moscow")
	now := time.Date(2026, 12, 31, 23, 40, 0, 0, loc)
	open := time.Date(2027, 1, 11, 9, 0, 0, 0, loc)
	if got := Moment(open, now, "ru"); got != "в понедельник, 11 января, в 9:00" {
		t.Errorf("ru: %q", got)
	}
	if got := Moment(open, now, "en"); got != "on Monday, 11 January, at 9:00" {
		t.Errorf("en: %q", got)
	}
	if got := Moment(time.Date(2027, 1, 1, 9, 5, 0, 0, loc), now, "ru"); got != "завтра в 9:05" {
		t.Errorf("tomorrow: %q", got)
	}
	if got := Moment(time.Date(2026, 12, 2, 14, 0, 0, 0, loc), time.Date(2026, 12, 2, 10, 0, 0, 0, loc), "ru"); got != "сегодня в 14:00" {
		t.Errorf("today: %q", got)
	}
	if got := Moment(time.Date(2026, 12, 1, 9, 0, 0, 0, loc), now, "ru"); got != "во вторник, 1 декабря, в 9:00" {
		t.Errorf("Tuesday: %q", got)
	}
}

func TestBadProfiles(t *testing.T) {
	for _, c := range []struct {
		tz   string
		week []string
	}{
		{"Mars/Olympus", []string{"Mon-Fri 09:00-18:00"}},
		{"Europe/Moscow", []string{"Mon-Fri 18:00-09:00"}},
		{"Europe/Moscow", []string{"Funday 09:00-18:00"}},
		{"Europe/Moscow", []string{"Mon-Fri 9-18"}},
		{"Europe/Moscow", []string{"Mon 09:00-13:00,12:00-18:00"}},
		{"Europe/Moscow", nil},
	} {
		if _, err := New("x", c.tz, c.week, nil); err == nil {
			t.Errorf("New(%q, %q): no error", c.tz, c.week)
		}
	}
}
