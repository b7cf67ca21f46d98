package hours

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Calendar is a production calendar: days off that fall on working
// weekdays (holidays and days moved onto them), shortened pre-holiday
// days and weekend days made working by a transfer.
type Calendar struct {
	Holidays map[string]bool
	Short    map[string]bool
	Workdays map[string]bool
	Sources  []string
}

// File is a calendar file (TOML). Dates are "YYYY-MM-DD".
//
//	extends   = "ru"           # start from the shipped Russian calendar
//	holidays  = ["2026-12-30"] # non-working dates
//	shortened = ["2026-04-30"] # one hour shorter (the last range ends earlier)
//	workdays  = ["2027-01-09"] # a weekend day worked by transfer
type File struct {
	Source    string   `toml:"source"`
	Extends   string   `toml:"extends"`
	Holidays  []string `toml:"holidays"`
	Shortened []string `toml:"shortened"`
	Workdays  []string `toml:"workdays"`
	// Notes say which dates are assumptions (the shipped files use it).
	Notes []string `toml:"notes"`
}

//go:embed calendars/ru-2026.toml calendars/ru-2027.toml
var shipped embed.FS

// Shipped is the name of the built-in calendar.
const Shipped = "ru"

// Russian returns the shipped Russian production calendar (2026, 2027).
func Russian() (*Calendar, error) {
	c := &Calendar{}
	for _, f := range []string{"calendars/ru-2026.toml", "calendars/ru-2027.toml"} {
		b, err := shipped.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := c.merge(b, f); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// LoadCalendar reads a calendar file; "" is the shipped Russian calendar,
// "none" no calendar at all.
func LoadCalendar(path string) (*Calendar, error) {
	switch path {
	case "":
		return Russian()
	case "none":
		return &Calendar{}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := toml.NewDecoder(bytes.NewReader(b)).DisallowUnknownFields().Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	c := &Calendar{}
	switch f.Extends {
	case "":
	case Shipped:
		if c, err = Russian(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s: extends: only %q (the shipped calendar) is known, not %q", path, Shipped, f.Extends)
	}
	return c, c.add(f, path)
}

func (c *Calendar) merge(b []byte, name string) error {
	var f File
	if err := toml.NewDecoder(bytes.NewReader(b)).DisallowUnknownFields().Decode(&f); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	return c.add(f, name)
}

// add lays f's dates over c: a date named a holiday is no longer a
// working day by transfer, and the other way round.
func (c *Calendar) add(f File, name string) error {
	if c.Holidays == nil {
		c.Holidays, c.Short, c.Workdays = map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
	if f.Source != "" {
		c.Sources = append(c.Sources, f.Source)
	}
	for _, l := range []struct {
		dates []string
		set   map[string]bool
		other []map[string]bool
	}{
		{f.Holidays, c.Holidays, []map[string]bool{c.Workdays, c.Short}},
		{f.Workdays, c.Workdays, []map[string]bool{c.Holidays}},
		{f.Shortened, c.Short, []map[string]bool{c.Holidays}},
	} {
		for _, d := range l.dates {
			t, err := time.Parse("2006-01-02", d)
			if err != nil {
				return fmt.Errorf("%s: %q is not a date YYYY-MM-DD", name, d)
			}
			k := dateKey(t.Date())
			l.set[k] = true
			for _, o := range l.other {
				delete(o, k)
			}
		}
	}
	return nil
}

// AddDates adds a profile's own dates (holidays, shortened, workdays).
func (c *Calendar) AddDates(holidays, shortened, workdays []string) error {
	return c.add(File{Holidays: holidays, Shortened: shortened, Workdays: workdays}, "hours")
}

func dateKey(y int, m time.Month, d int) string { return fmt.Sprintf("%04d-%02d-%02d", y, int(m), d) }
