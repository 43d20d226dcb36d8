package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSalesDigestSchedule(t *testing.T) {
	t.Parallel()
	jst := time.FixedZone("JST", 9*3600)

	t.Run("TheDefaultIsEightOnWeekdaysInJapan", func(t *testing.T) {
		t.Parallel()
		s, err := parseSalesDigest(DefaultSalesDigest)
		require.NoError(t, err)
		for _, tt := range []struct{ from, want time.Time }{
			// Friday after 8:00 → Monday 8:00.
			{time.Date(2026, 4, 3, 9, 0, 0, 0, jst), time.Date(2026, 4, 6, 8, 0, 0, 0, jst)},
			// Monday 7:59 Japan time is Sunday 22:59 UTC: still Monday 8:00 in Japan.
			{time.Date(2026, 4, 5, 22, 59, 0, 0, time.UTC), time.Date(2026, 4, 6, 8, 0, 0, 0, jst)},
			// Tuesday 8:00 exactly → Wednesday.
			{time.Date(2026, 4, 7, 8, 0, 0, 0, jst), time.Date(2026, 4, 8, 8, 0, 0, 0, jst)},
		} {
			require.True(t, tt.want.Equal(s.Next(tt.from)), "after %s: %s, want %s", tt.from, s.Next(tt.from), tt.want)
		}
	})

	t.Run("OffIsNone", func(t *testing.T) {
		t.Parallel()
		for _, spec := range []string{"off", "OFF", " off "} {
			s, err := parseSalesDigest(spec)
			require.NoError(t, err)
			require.Nil(t, s)
		}
	})

	t.Run("OthersAreCronInJapanTime", func(t *testing.T) {
		t.Parallel()
		s, err := parseSalesDigest("30 17 * * *")
		require.NoError(t, err)
		require.True(t, time.Date(2026, 4, 3, 17, 30, 0, 0, jst).Equal(s.Next(time.Date(2026, 4, 3, 9, 0, 0, 0, jst))))
		_, err = parseSalesDigest("@daily")
		require.NoError(t, err)
	})

	t.Run("BadSchedulesAreRefused", func(t *testing.T) {
		t.Parallel()
		for _, spec := range []string{"", "daily", "0 8 * *", "61 8 * * *", "CRON_TZ=UTC 0 8 * * *", "TZ=UTC 0 8 * * *"} {
			_, err := parseSalesDigest(spec)
			require.Error(t, err, spec)
		}
	})
}
