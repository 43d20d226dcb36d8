package scenario_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/scenario"
)

// jpHolidays are the Cabinet Office's lists of national holidays (内閣府「国民の祝日」),
// including substitute holidays and citizens' holidays.
var jpHolidays = map[int][]string{
	2019: {"01-01", "01-14", "02-11", "03-21", "04-29", "04-30", "05-01", "05-02", "05-03", "05-04", "05-05", "05-06",
		"07-15", "08-11", "08-12", "09-16", "09-23", "10-14", "10-22", "11-03", "11-04", "11-23"},
	2020: {"01-01", "01-13", "02-11", "02-23", "02-24", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06",
		"07-23", "07-24", "08-10", "09-21", "09-22", "11-03", "11-23"},
	2021: {"01-01", "01-11", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05",
		"07-22", "07-23", "08-08", "08-09", "09-20", "09-23", "11-03", "11-23"},
	2024: {"01-01", "01-08", "02-11", "02-12", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06",
		"07-15", "08-11", "08-12", "09-16", "09-22", "09-23", "10-14", "11-03", "11-04", "11-23"},
	2025: {"01-01", "01-13", "02-11", "02-23", "02-24", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06",
		"07-21", "08-11", "09-15", "09-23", "10-13", "11-03", "11-23", "11-24"},
	2026: {"01-01", "01-12", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06",
		"07-20", "08-11", "09-21", "09-22", "09-23", "10-12", "11-03", "11-23"},
	2015: {"01-01", "01-12", "02-11", "03-21", "04-29", "05-03", "05-04", "05-05", "05-06",
		"07-20", "09-21", "09-22", "09-23", "10-12", "11-03", "11-23", "12-23"},
	2009: {"01-01", "01-12", "02-11", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06",
		"07-20", "09-21", "09-22", "09-23", "10-12", "11-03", "11-23", "12-23"},
}

func TestJPHolidays(t *testing.T) {
	t.Parallel()
	for year, days := range jpHolidays {
		want := map[string]bool{}
		for _, d := range days {
			want[d] = true
		}
		var got []string
		for day := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() == year; day = day.AddDate(0, 0, 1) {
			if scenario.IsJPHoliday(day.Year(), day.Month(), day.Day()) {
				got = append(got, day.Format("01-02"))
			}
		}
		require.Equal(t, days, got, "%d", year)
	}
}

func TestJPHolidayEquinoxes(t *testing.T) {
	t.Parallel()
	// 国立天文台 announcements and the usual tables.
	for _, tt := range []struct {
		year           int
		vernal, autumn int
	}{
		{1980, 20, 23}, {1996, 20, 23}, {2012, 20, 22}, {2023, 21, 23}, {2027, 21, 23},
		{2028, 20, 22}, {2030, 20, 23}, {2044, 20, 22}, {2099, 20, 23},
	} {
		require.True(t, scenario.IsJPHoliday(tt.year, time.March, tt.vernal), "%d-03-%d", tt.year, tt.vernal)
		require.True(t, scenario.IsJPHoliday(tt.year, time.September, tt.autumn), "%d-09-%d", tt.year, tt.autumn)
	}
	require.False(t, scenario.IsJPHoliday(2026, time.February, 30))
	require.False(t, scenario.IsJPHoliday(1900, time.January, 1))
}
