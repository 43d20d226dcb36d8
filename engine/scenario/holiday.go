package scenario

import (
	"sync"
	"time"
)

// holidayCalendars are the calendars skip_holidays may name.
var holidayCalendars = map[string]func(y int, m time.Month, d int) bool{
	"JP": isJPHoliday,
}

// isHoliday reports whether the date is a holiday in the calendar; an unknown or
// empty calendar has none.
func isHoliday(calendar string, y int, m time.Month, d int) bool {
	f := holidayCalendars[calendar]
	return f != nil && f(y, m, d)
}

// yearDays is a set of the days of one year.
type yearDays [13][32]bool

var jpYears sync.Map // int → *yearDays

// isJPHoliday reports whether the date is a Japanese national holiday (国民の祝日), a
// substitute holiday (振替休日) or a citizens' holiday (国民の休日), computed from the
// Act on National Holidays as amended up to the 2019 and 2020–2021 special laws. The
// equinox days come from the usual formula, which matches the National Astronomical
// Observatory's announcements for 1980–2099; outside those years it is approximate.
func isJPHoliday(y int, m time.Month, d int) bool {
	if m < time.January || m > time.December || d < 1 || d > 31 {
		return false
	}
	v, ok := jpYears.Load(y)
	if !ok {
		v, _ = jpYears.LoadOrStore(y, jpHolidays(y))
	}
	return v.(*yearDays)[m][d]
}

// jpHolidays computes a year's Japanese holidays.
func jpHolidays(y int) *yearDays {
	var base yearDays // the 国民の祝日 themselves
	set := func(m time.Month, d int) { base[m][d] = true }
	when := func(ok bool, m time.Month, d int) {
		if ok {
			set(m, d)
		}
	}
	if y < 1949 {
		return &base
	}

	set(time.January, 1) // 元日
	if y >= 2000 {       // 成人の日
		set(time.January, nthMonday(y, time.January, 2))
	} else {
		set(time.January, 15)
	}
	when(y >= 1967, time.February, 11) // 建国記念の日
	when(y >= 2020, time.February, 23) // 天皇誕生日
	set(time.March, vernalEquinox(y))  // 春分の日
	set(time.April, 29)                // 天皇誕生日 → みどりの日 → 昭和の日
	set(time.May, 3)                   // 憲法記念日
	when(y >= 2007, time.May, 4)       // みどりの日
	set(time.May, 5)                   // こどもの日
	switch {                           // 海の日
	case y == 2020:
		set(time.July, 23)
	case y == 2021:
		set(time.July, 22)
	case y >= 2003:
		set(time.July, nthMonday(y, time.July, 3))
	case y >= 1996:
		set(time.July, 20)
	}
	switch { // 山の日
	case y == 2020:
		set(time.August, 10)
	case y == 2021:
		set(time.August, 8)
	case y >= 2016:
		set(time.August, 11)
	}
	switch { // 敬老の日
	case y >= 2003:
		set(time.September, nthMonday(y, time.September, 3))
	case y >= 1966:
		set(time.September, 15)
	}
	set(time.September, autumnalEquinox(y)) // 秋分の日
	switch {                                // 体育の日, スポーツの日 from 2020
	case y == 2020:
		set(time.July, 24)
	case y == 2021:
		set(time.July, 23)
	case y >= 2000:
		set(time.October, nthMonday(y, time.October, 2))
	case y >= 1966:
		set(time.October, 10)
	}
	set(time.November, 3)                           // 文化の日
	set(time.November, 23)                          // 勤労感謝の日
	when(y <= 2018 && y >= 1989, time.December, 23) // 天皇誕生日 (平成)
	// Days of the imperial family made holidays by their own laws.
	when(y == 1959, time.April, 10)
	when(y == 1989, time.February, 24)
	when(y == 1990, time.November, 12)
	when(y == 1993, time.June, 9)
	when(y == 2019, time.May, 1)
	when(y == 2019, time.October, 22)

	all := base
	for day := time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC); day.Year() == y; day = day.AddDate(0, 0, 1) {
		m, d := day.Month(), day.Day()
		if !base[m][d] {
			// 国民の休日: a day between two holidays (from 1985-12-27; before 2007
			// not when it is a Sunday, which changes nothing here).
			prev, next := day.AddDate(0, 0, -1), day.AddDate(0, 0, 1)
			if y >= 1986 && prev.Year() == y && next.Year() == y &&
				base[prev.Month()][prev.Day()] && base[next.Month()][next.Day()] {
				all[m][d] = true
			}
			continue
		}
		// 振替休日: a holiday on a Sunday moves to the next day that is not one
		// (from 1973-04-12; before 2007 only to the Monday).
		if day.Weekday() != time.Sunday || day.Before(time.Date(1973, time.April, 12, 0, 0, 0, 0, time.UTC)) {
			continue
		}
		sub := day.AddDate(0, 0, 1)
		if y >= 2007 {
			for sub.Year() == y && base[sub.Month()][sub.Day()] {
				sub = sub.AddDate(0, 0, 1)
			}
		}
		if sub.Year() == y && !base[sub.Month()][sub.Day()] {
			all[sub.Month()][sub.Day()] = true
		}
	}
	return &all
}

// nthMonday is the day of the month of its nth Monday (Happy Monday holidays).
func nthMonday(y int, m time.Month, n int) int {
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Weekday()
	return 1 + (int(time.Monday)-int(first)+7)%7 + 7*(n-1)
}

// vernalEquinox is the March day of 春分の日.
func vernalEquinox(y int) int {
	return equinox(y, 20.8357, 20.8431, 21.8510)
}

// autumnalEquinox is the September day of 秋分の日.
func autumnalEquinox(y int) int {
	return equinox(y, 23.2588, 23.2488, 24.2488)
}

// equinox applies the usual approximation with the constant for the year's century.
func equinox(y int, c1900, c1980, c2100 float64) int {
	c, leap := c1980, (y-1980)/4
	switch {
	case y < 1980:
		c, leap = c1900, (y-1983)/4
	case y >= 2100:
		c = c2100
	}
	return int(c + 0.242194*float64(y-1980) - float64(leap))
}
