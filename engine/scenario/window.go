package scenario

import (
	"fmt"
	"strings"
	"time"
)

// maxWindowDays bounds how far Next looks ahead. A window always has an allowed day
// within a few weeks, even in Golden Week; the bound only keeps a hand-built window
// with no allowed day from looping.
const maxWindowDays = 400

// Next returns t when t is inside the window, else the earliest instant after t
// inside it, in t's location. tz, when non-nil (the lead's own time zone), replaces
// w.Location; with neither, the window is in UTC. A window with no allowed time
// returns t.
func (w *SendWindow) Next(t time.Time, tz *time.Location) time.Time {
	loc := tz
	if loc == nil {
		loc = w.Location
	}
	if loc == nil {
		loc = time.UTC
	}
	from, to := w.From, w.To
	if from < 0 {
		from = 0
	}
	if to > 24*60 {
		to = 24 * 60
	}
	if from >= to {
		return t
	}
	local := t.In(loc)
	y, m, d := local.Date()
	for i := range maxWindowDays {
		if !w.dayAllowed(y, m, d+i) {
			continue
		}
		// The day's window in wall-clock time.
		start := time.Date(y, m, d+i, 0, from, 0, 0, loc)
		end := time.Date(y, m, d+i, 0, to, 0, 0, loc)
		if wall := start.Hour()*60 + start.Minute(); wall < from && start.Day() == time.Date(y, m, d+i, 12, 0, 0, 0, loc).Day() {
			// The start's wall time does not exist (clocks jump forward over it),
			// and time.Date went back before the jump: the window opens when the
			// clocks land.
			if _, jump := start.ZoneBounds(); !jump.IsZero() && jump.Sub(start) <= time.Duration(from-wall)*time.Minute {
				start = jump
			} else {
				start = start.Add(time.Duration(from-wall) * time.Minute)
			}
		}
		switch {
		case !end.After(t) || !start.Before(end):
			continue
		case !start.After(t):
			if wall := local.Hour()*60 + local.Minute(); i == 0 && wall < from {
				// Clocks went back: t is in the repeated hour, before the window's
				// second opening.
				lt := time.Duration(local.Second())*time.Second + time.Duration(local.Nanosecond())
				return t.Add(time.Duration(from-wall)*time.Minute - lt)
			}
			return t
		default:
			return start.In(t.Location())
		}
	}
	return t
}

// dayAllowed reports whether mail may go out on the date (d may overflow the month,
// as time.Date allows).
func (w *SendWindow) dayAllowed(y int, m time.Month, d int) bool {
	day := time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
	if !w.Days[day.Weekday()] {
		return false
	}
	return !isHoliday(w.SkipHolidays, day.Year(), day.Month(), day.Day())
}

// weekdays are the day names a window may use.
var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday,
	"saturday": time.Saturday,
}

// parseClock reads "HH:MM" as minutes after midnight; "24:00" is allowed when
// endOfDay is.
func parseClock(s string, endOfDay bool) (int, error) {
	s = strings.TrimSpace(s)
	var h, m int
	if len(s) < 4 || len(s) > 5 || s[len(s)-3] != ':' {
		return 0, fmt.Errorf("%q is not a time of day such as 09:00", s)
	}
	for _, c := range s[:len(s)-3] + s[len(s)-2:] {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a time of day such as 09:00", s)
		}
	}
	fmt.Sscanf(s[:len(s)-3], "%d", &h)
	fmt.Sscanf(s[len(s)-2:], "%d", &m)
	switch {
	case endOfDay && h == 24 && m == 0:
		return 24 * 60, nil
	case h > 23 || m > 59:
		return 0, fmt.Errorf("%q is not a time of day: hours go from 00 to 23 and minutes from 00 to 59", s)
	}
	return h*60 + m, nil
}

// parseHours reads "09:00-18:00".
func parseHours(s string) (from, to int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("hours %q are not a range such as \"09:00-18:00\"", s)
	}
	if from, err = parseClock(a, false); err != nil {
		return 0, 0, err
	}
	if to, err = parseClock(b, true); err != nil {
		return 0, 0, err
	}
	if from >= to {
		return 0, 0, fmt.Errorf("hours %q end before they start: a window cannot pass midnight, so write the earlier time first (\"00:00-24:00\" is the whole day)", s)
	}
	return from, to, nil
}
