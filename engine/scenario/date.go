package scenario

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// defaultDateZone is the time zone of dates written without an offset in a scenario
// whose send window names none: the marketers who write them are in Japan, and a
// seminar at "2027-02-10 14:00" is at 14:00 in Tokyo.
const defaultDateZone = "Asia/Tokyo"

// tokyo is defaultDateZone, loaded once; a fixed +09:00 zone (Japan has no daylight
// saving) when the system has no zone database.
var tokyo = func() *time.Location {
	if loc, err := time.LoadLocation(defaultDateZone); err == nil {
		return loc
	}
	return time.FixedZone("JST", 9*60*60)
}()

// Layouts of a date and time, with and without seconds, with "T" or a space; each is
// tried with an offset (Z or +09:00) and without one.
var dateTimeLayouts = []string{
	"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05",
}

// errDateSyntax explains how a date is written.
var errDateSyntax = errors.New("a date and time is written such as 2027-02-09T10:00 (or \"2027-02-09 10:00\", or 2027-02-10T14:00+09:00 with its offset)")

// ParseTime reads a date and time as scenario files write them: 2027-02-09T10:00,
// "2027-02-09 10:00", with seconds or not, and with an offset (+09:00, Z) or in loc
// when it has none. A date alone (2027-02-09) is midnight in loc when dateOK, else
// an error.
func ParseTime(s string, loc *time.Location, dateOK bool) (time.Time, error) {
	t, _, err := parseTime(s, loc, dateOK)
	return t, err
}

// parseTime is ParseTime, also reporting whether s was a date alone.
func parseTime(s string, loc *time.Location, dateOK bool) (t time.Time, dateOnly bool, err error) {
	s = strings.TrimSpace(s)
	for _, layout := range dateTimeLayouts {
		if t, err := time.Parse(layout+"Z07:00", s); err == nil {
			return t, false, nil
		}
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, false, nil
		}
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		if !dateOK {
			return time.Time{}, true, fmt.Errorf("%q has no time of day: write one, such as %sT10:00", s, s)
		}
		return t, true, nil
	}
	return time.Time{}, false, fmt.Errorf("%q: %w", s, errDateSyntax)
}

// parseBusinessDays reads "3bd" (business days) as 3; ok is false for anything that
// does not end in "bd".
func parseBusinessDays(s string) (n int, ok bool, err error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "bd") {
		return 0, false, nil
	}
	digits := strings.TrimSuffix(s, "bd")
	n, err = strconv.Atoi(digits)
	switch {
	case err != nil || n < 0 || strings.HasPrefix(digits, "+"):
		return 0, true, errors.New("business days are a whole number followed by bd, such as 3bd; they do not combine with other units")
	case n == 0:
		return 0, true, errors.New("a number of business days cannot be zero")
	case n > 500:
		return 0, true, errors.New("a wait of more than 500 business days (two years) is too long")
	}
	return n, true, nil
}

// AddBusinessDays returns t moved n business days on, at the same time of day, in
// loc: the days mail may go out under the send window (its weekdays, less its
// holidays), or, without a window, Monday to Friday less Japanese national holidays.
// The day t is on does not count, so Friday + 1bd is Monday (or Tuesday after a
// holiday) and Saturday + 1bd is Monday too.
func (s *Scenario) AddBusinessDays(t time.Time, n int, loc *time.Location) time.Time {
	lt := t.In(loc)
	y, m, d := lt.Date()
	for i := 1; i <= n*7+maxWindowDays; i++ {
		if !s.businessDay(y, m, d+i) {
			continue
		}
		if n--; n == 0 {
			return time.Date(y, m, d+i, lt.Hour(), lt.Minute(), lt.Second(), lt.Nanosecond(), loc)
		}
	}
	return t.AddDate(0, 0, n) // a hand-built window with no day allowed
}

// businessDay reports whether the date (d may overflow the month) is a business day.
func (s *Scenario) businessDay(y int, m time.Month, d int) bool {
	if s.Window != nil {
		return s.Window.dayAllowed(y, m, d)
	}
	day := time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
	if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return !isJPHoliday(day.Year(), day.Month(), day.Day())
}

// businessLoc is the time zone business days are counted in: the lead's, the send
// window's, or the scenario's date zone without a window.
func (s *Scenario) businessLoc(in *Input) *time.Location {
	switch {
	case in.Location != nil:
		return in.Location
	case s.Window != nil && s.Window.Location != nil:
		return s.Window.Location
	case s.Location != nil:
		return s.Location
	}
	return tokyo
}

// moment is when a wait for a date ends, or an error when the lead holds no date
// there.
func (s *Scenario) moment(step *Step, l *LeadEnv) (time.Time, error) {
	if !step.At.IsZero() {
		return step.At, nil
	}
	if step.DateRef == EventDateRef {
		return s.EventDate.Add(step.Offset), nil
	}
	name, _ := strings.CutPrefix(step.DateRef, "attributes.")
	var v any
	if l != nil {
		v = l.Attributes[name]
	}
	var t time.Time
	switch x := v.(type) {
	case nil:
		return time.Time{}, fmt.Errorf("the lead has no %s", step.DateRef)
	case time.Time:
		t = x
	case string:
		loc := s.Location
		if loc == nil {
			loc = tokyo
		}
		var err error
		// A date alone is taken as midnight: a lead's date may come from a form
		// that asks for the day only.
		if t, err = ParseTime(x, loc, true); err != nil {
			return time.Time{}, fmt.Errorf("the lead's %s is not a date: %w", step.DateRef, err)
		}
	default:
		return time.Time{}, fmt.Errorf("the lead's %s is not a date but %v", step.DateRef, v)
	}
	return t.Add(step.Offset), nil
}

// boundedSchedule is a cron schedule that fires no later than until.
type boundedSchedule struct {
	cron  interface{ Next(time.Time) time.Time }
	until time.Time
}

// Next is the cron schedule's next firing after t, or the zero time past until.
func (b boundedSchedule) Next(t time.Time) time.Time {
	n := b.cron.Next(t)
	if n.IsZero() || n.After(b.until) {
		return time.Time{}
	}
	return n
}

// onceSchedule fires once, at at.
type onceSchedule struct{ at time.Time }

// Next is at when t is before it, else the zero time.
func (o onceSchedule) Next(t time.Time) time.Time {
	if t.Before(o.at) {
		return o.at
	}
	return time.Time{}
}
