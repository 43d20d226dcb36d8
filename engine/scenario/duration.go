package scenario

import (
	"errors"
	"strings"
	"time"

	"golang.org/x/text/width"
)

// maxDuration is the longest duration a scenario may give anywhere: nothing a
// marketer means waits longer, and a larger number is a typo.
const maxDuration = 2 * 365 * 24 * time.Hour

// durationUnits are the units a duration may use, Go's with days and weeks added.
var durationUnits = map[byte]time.Duration{
	's': time.Second,
	'm': time.Minute,
	'h': time.Hour,
	'd': 24 * time.Hour,
	'w': 7 * 24 * time.Hour,
}

// errDurationSyntax explains the format to a marketer.
var errDurationSyntax = errors.New("a duration is whole numbers with units s, m, h, d (days) or w (weeks), such as 90m, 2d or 2d1h")

// ParseDuration reads a duration as scenario files write them (see parseDuration),
// for the other files marketers write, such as the scoring model.
func ParseDuration(s string) (time.Duration, error) { return parseDuration(s) }

// parseDuration reads a duration such as "90s", "15m", "2h", "2d", "2d1h" or "1w". A
// day is 24 hours. Negative durations and durations over two years are errors; zero
// ("0s") is returned as is, for the caller to judge.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-") {
		return 0, errors.New("a duration cannot be negative")
	}
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return 0, errDurationSyntax
	}
	var total time.Duration
	seen := map[byte]bool{}
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, errDurationSyntax
		}
		if i > 9 {
			return 0, errors.New("a duration cannot be longer than two years (730d)")
		}
		var n int64
		for _, c := range s[:i] {
			n = n*10 + int64(c-'0')
		}
		u, ok := durationUnits[s[i]]
		if !ok || seen[s[i]] {
			return 0, errDurationSyntax
		}
		seen[s[i]] = true
		if time.Duration(n) > maxDuration/u {
			return 0, errors.New("a duration cannot be longer than two years (730d)")
		}
		total += time.Duration(n) * u
		if total > maxDuration {
			return 0, errors.New("a duration cannot be longer than two years (730d)")
		}
		s = s[i+1:]
	}
	return total, nil
}

// japaneseUnits are the units a Japanese author may write, longest first, with
// the unit a duration uses for each.
var japaneseUnits = []struct{ ja, unit string }{
	{"週間", "w"}, {"時間", "h"}, {"日間", "d"}, {"分間", "m"}, {"秒間", "s"},
	{"週", "w"}, {"日", "d"}, {"分", "m"}, {"秒", "s"},
}

// japaneseDuration is s written as a duration when it is one in Japanese ("3日",
// "1時間30分", "２週間", "３ｄ"), or "" when it is not.
func japaneseDuration(s string) string {
	var b strings.Builder
	rest := strings.TrimSpace(width.Fold.String(s)) // full-width digits and letters to ASCII
	changed := rest != strings.TrimSpace(s)
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return ""
		}
		b.WriteString(rest[:i])
		rest = rest[i:]
		found := false
		for _, u := range japaneseUnits {
			if strings.HasPrefix(rest, u.ja) {
				b.WriteString(u.unit)
				rest, found, changed = rest[len(u.ja):], true, true
				break
			}
		}
		if !found {
			if rest == "" || durationUnits[rest[0]] == 0 {
				return ""
			}
			b.WriteByte(rest[0])
			rest = rest[1:]
		}
	}
	if !changed {
		return ""
	}
	if _, err := parseDuration(b.String()); err != nil {
		return ""
	}
	return b.String()
}
