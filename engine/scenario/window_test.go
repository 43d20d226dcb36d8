package scenario_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/scenario"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func TestSendWindowNext(t *testing.T) {
	t.Parallel()
	tokyo := mustLoad(t, "Asia/Tokyo")
	newYork := mustLoad(t, "America/New_York")
	weekdays := [7]bool{false, true, true, true, true, true, false}
	office := &scenario.SendWindow{Days: weekdays, From: 9 * 60, To: 18 * 60, Location: tokyo, SkipHolidays: "JP"}
	at := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}

	for _, tt := range []struct {
		name   string
		window *scenario.SendWindow
		tz     *time.Location
		t      time.Time
		want   time.Time
	}{
		{"InsideStaysPut", office, nil, at(tokyo, 2026, 1, 6, 10, 30), at(tokyo, 2026, 1, 6, 10, 30)},
		{"FromIsInside", office, nil, at(tokyo, 2026, 1, 6, 9, 0), at(tokyo, 2026, 1, 6, 9, 0)},
		{"ToIsOutside", office, nil, at(tokyo, 2026, 1, 6, 18, 0), at(tokyo, 2026, 1, 7, 9, 0)},
		{"BeforeOpening", office, nil, at(tokyo, 2026, 1, 6, 7, 59), at(tokyo, 2026, 1, 6, 9, 0)},
		{"FridayEveningToMonday", office, nil, at(tokyo, 2026, 1, 16, 19, 0), at(tokyo, 2026, 1, 19, 9, 0)},
		{"ComingOfAgeDaySkipped", office, nil, at(tokyo, 2026, 1, 9, 18, 30), at(tokyo, 2026, 1, 13, 9, 0)},
		{"GoldenWeek", office, nil, at(tokyo, 2026, 5, 1, 18, 0), at(tokyo, 2026, 5, 7, 9, 0)},
		{"SilverWeek", office, nil, at(tokyo, 2026, 9, 18, 20, 0), at(tokyo, 2026, 9, 24, 9, 0)},
		{"NewYear", office, nil, at(tokyo, 2025, 12, 31, 12, 0), at(tokyo, 2025, 12, 31, 12, 0)},
		{"UTCInstantInTokyoWindow", office, nil, time.Date(2026, 1, 6, 0, 30, 0, 0, time.UTC), time.Date(2026, 1, 6, 0, 30, 0, 0, time.UTC)},
		{"UTCInstantBeforeTokyoWindow", office, nil, time.Date(2026, 1, 5, 23, 0, 0, 0, time.UTC), time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC)},
		{"LeadZoneWins", office, newYork, at(tokyo, 2026, 1, 6, 10, 0), at(newYork, 2026, 1, 6, 9, 0)},
		{"NoHolidaysInNewYorkWithoutCalendar", &scenario.SendWindow{Days: weekdays, From: 9 * 60, To: 17 * 60}, newYork, at(newYork, 2026, 1, 12, 8, 0), at(newYork, 2026, 1, 12, 9, 0)},
		// 2026-03-08 02:00 the clocks in New York go to 03:00: the window opens then.
		{"SpringForwardGap", &scenario.SendWindow{Days: [7]bool{true, true, true, true, true, true, true}, From: 2*60 + 30, To: 4 * 60, Location: newYork}, nil,
			at(newYork, 2026, 3, 8, 1, 0), time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},
		{"SpringForwardDayStart", &scenario.SendWindow{Days: weekdays, From: 9 * 60, To: 17 * 60, Location: newYork}, nil,
			at(newYork, 2026, 3, 6, 18, 0), at(newYork, 2026, 3, 9, 9, 0)},
		// 2026-11-01 02:00 EDT the clocks go back to 01:00 EST: 01:30 happens twice.
		{"FallBackSecondPass", &scenario.SendWindow{Days: [7]bool{true, true, true, true, true, true, true}, From: 60, To: 2 * 60, Location: newYork}, nil,
			time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC)},
		{"FallBackBeforeSecondOpening", &scenario.SendWindow{Days: [7]bool{true, true, true, true, true, true, true}, From: 60 + 30, To: 2*60 + 30, Location: newYork}, nil,
			time.Date(2026, 11, 1, 6, 7, 30, 0, time.UTC), time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC)},
		{"WholeDay", &scenario.SendWindow{Days: [7]bool{true, true, true, true, true, true, true}, From: 0, To: 24 * 60}, nil,
			time.Date(2026, 1, 1, 23, 59, 59, 0, time.UTC), time.Date(2026, 1, 1, 23, 59, 59, 0, time.UTC)},
		{"WeekendOnly", &scenario.SendWindow{Days: [7]bool{true, false, false, false, false, false, true}, From: 10 * 60, To: 12 * 60}, nil,
			time.Date(2026, 1, 5, 11, 0, 0, 0, time.UTC), time.Date(2026, 1, 10, 10, 0, 0, 0, time.UTC)},
		{"NoDayAllowedReturnsT", &scenario.SendWindow{From: 0, To: 60}, nil, at(tokyo, 2026, 1, 6, 10, 0), at(tokyo, 2026, 1, 6, 10, 0)},
		{"EmptyHoursReturnsT", &scenario.SendWindow{Days: weekdays, From: 60, To: 60}, nil, at(tokyo, 2026, 1, 6, 10, 0), at(tokyo, 2026, 1, 6, 10, 0)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.window.Next(tt.t, tt.tz)
			require.True(t, tt.want.Equal(got), "want %s, got %s", tt.want, got)
			require.False(t, got.Before(tt.t), "Next never goes back")
			require.Equal(t, tt.t.Location(), got.Location())
		})
	}
}

// TestSendWindowNextIsInside walks a year in steps of 37 minutes: Next always lands
// inside the window, never before t, and on t whenever t is inside.
func TestSendWindowNextIsInside(t *testing.T) {
	t.Parallel()
	tokyo := mustLoad(t, "Asia/Tokyo")
	w := &scenario.SendWindow{Days: [7]bool{false, true, true, true, true, true, false}, From: 9*60 + 30, To: 17 * 60, Location: tokyo, SkipHolidays: "JP"}
	inside := func(x time.Time) bool {
		x = x.In(tokyo)
		m := x.Hour()*60 + x.Minute()
		return w.Days[x.Weekday()] && !scenario.IsJPHoliday(x.Year(), x.Month(), x.Day()) && m >= w.From && m < w.To
	}
	for x := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); x.Year() == 2026; x = x.Add(37 * time.Minute) {
		got := w.Next(x, nil)
		require.True(t, inside(got), "%s → %s", x, got)
		require.False(t, got.Before(x))
		if inside(x) {
			require.Equal(t, x, got)
		} else {
			require.False(t, inside(got.Add(-time.Minute)) && got.Add(-time.Minute).After(x), "%s → %s is not the earliest", x, got)
		}
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"90s", 90 * time.Second, ""},
		{"15m", 15 * time.Minute, ""},
		{"2h", 2 * time.Hour, ""},
		{"2d", 48 * time.Hour, ""},
		{"2d1h", 49 * time.Hour, ""},
		{"1w", 7 * 24 * time.Hour, ""},
		{"1w2d3h4m5s", (9*24+3)*time.Hour + 4*time.Minute + 5*time.Second, ""},
		{"0s", 0, ""},
		{"730d", 730 * 24 * time.Hour, ""},
		{"731d", 0, "two years"},
		{"99999999999w", 0, "two years"},
		{"-1d", 0, "negative"},
		{"1.5d", 0, "whole numbers"},
		{"2", 0, "whole numbers"},
		{"d", 0, "whole numbers"},
		{"1d1d", 0, "whole numbers"},
		{"1y", 0, "whole numbers"},
		{"", 0, "whole numbers"},
	} {
		got, err := scenario.ParseDuration(tt.in)
		if tt.err != "" {
			require.ErrorContains(t, err, tt.err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
}

// TestSendWindowNextAcrossDST walks a New York year, with windows around the
// clock changes: Next lands inside the window by the wall clock and never goes back.
func TestSendWindowNextAcrossDST(t *testing.T) {
	t.Parallel()
	newYork := mustLoad(t, "America/New_York")
	all := [7]bool{true, true, true, true, true, true, true}
	for _, hours := range [][2]int{{2*60 + 15, 2*60 + 45}, {60 + 30, 2*60 + 30}, {0, 3 * 60}, {9 * 60, 17 * 60}} {
		w := &scenario.SendWindow{Days: all, From: hours[0], To: hours[1], Location: newYork}
		for x := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); x.Year() == 2026; x = x.Add(23 * time.Minute) {
			got := w.Next(x, nil)
			l := got.In(newYork)
			m := l.Hour()*60 + l.Minute()
			require.True(t, m >= w.From && m < w.To, "%v: %s → %s", hours, x, l)
			require.False(t, got.Before(x))
			require.Less(t, got.Sub(x), 49*time.Hour)
		}
	}
}
