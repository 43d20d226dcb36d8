package mail

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseFrequencyCap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want FrequencyCap
		err  string
	}{
		{in: "2/day,5/week", want: FrequencyCap{PerDay: 2, PerWeek: 5}},
		{in: " 5/week , 1/day ", want: FrequencyCap{PerDay: 1, PerWeek: 5}},
		{in: "3/week", want: FrequencyCap{PerWeek: 3}},
		{in: "1/day", want: FrequencyCap{PerDay: 1}},
		{in: "off"},
		{in: "", err: "empty"},
		{in: "0/day", err: `"0/day" is not a count`},
		{in: "2/month", err: "per day or per week"},
		{in: "2", err: `"2" is not a count`},
		{in: "1/day,2/day", err: "given twice"},
		{in: "6/day,5/week", err: "6 a day is more than the 5 a week"},
	} {
		got, err := ParseFrequencyCap(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
		again, err := ParseFrequencyCap(got.String())
		require.NoError(t, err)
		require.Equal(t, got, again, "String reads back")
	}
}

func TestFrequencyCapNext(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 4, 6, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	c := FrequencyCap{PerDay: 2, PerWeek: 5}
	for _, tc := range []struct {
		name string
		sent []time.Time
		want time.Time
	}{
		{"NothingSent", nil, now},
		{"OneToday", []time.Time{ago(time.Hour)}, now},
		{"TwoTodayWaitsForTheOlderToBeADayOld", []time.Time{ago(time.Hour), ago(3 * time.Hour)}, now.Add(21 * time.Hour)},
		{"TwoButOneIsADayOld", []time.Time{ago(time.Hour), ago(24 * time.Hour)}, now},
		{"FiveThisWeekWaitsForTheFifthLatestToBeAWeekOld",
			[]time.Time{ago(30 * time.Hour), ago(2 * 24 * time.Hour), ago(3 * 24 * time.Hour), ago(4 * 24 * time.Hour), ago(6 * 24 * time.Hour)},
			now.Add(24 * time.Hour)},
		{"BothCapsTheLaterWins",
			[]time.Time{ago(time.Hour), ago(2 * time.Hour), ago(2 * 24 * time.Hour), ago(3 * 24 * time.Hour), ago(4 * 24 * time.Hour)},
			now.Add(3 * 24 * time.Hour)},
	} {
		require.Equal(t, tc.want, c.next(tc.sent, now), tc.name)
	}
	require.Equal(t, now, FrequencyCap{}.next([]time.Time{now, now, now}, now), "no cap")
}
