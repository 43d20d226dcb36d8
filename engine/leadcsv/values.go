package leadcsv

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"

	"github.com/nurture-dev/nurture/engine/lead"
)

// Limits, the same as package lead applies, so that a row this package accepts is not
// refused later without a line number.
const (
	maxEmailBytes = 254
	maxTextRunes  = 1000
	maxEmployees  = 10_000_000
)

// Consent values, as package lead spells them.
const (
	consentGranted = "granted"
	consentDenied  = "denied"
)

// stripControl removes control characters, which spreadsheets and copy-paste leave
// behind (NUL, vertical tab, stray carriage returns) and which nothing downstream
// wants. Tab and newline stay: a quoted cell may legitimately hold several lines.
func stripControl(s string) string {
	if strings.IndexFunc(s, isStrippedControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isStrippedControl(r) {
			return -1
		}
		return r
	}, s)
}

func isStrippedControl(r rune) bool {
	return unicode.IsControl(r) && r != '\t' && r != '\n'
}

// cleanText tidies a text cell: control characters removed, spaces (including the
// ideographic space U+3000) trimmed. It returns a reason when the cell cannot be used.
func cleanText(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errNotUTF8
	}
	s = strings.TrimFunc(stripControl(s), unicode.IsSpace)
	if utf8.RuneCountInString(s) > maxTextRunes {
		return "", fmt.Errorf("is longer than %d characters", maxTextRunes)
	}
	return s, nil
}

var errNotUTF8 = errors.New("is not valid UTF-8; if the file is Shift_JIS, import it with the encoding set to shift_jis")

// checkEmail trims s and reports why it is not a bare email address, or nil.
func checkEmail(s string) (string, error) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	switch {
	case s == "":
		return s, errors.New("is required")
	case !utf8.ValidString(s):
		return s, errNotUTF8
	case len(s) > maxEmailBytes:
		return s, fmt.Errorf("is longer than %d bytes", maxEmailBytes)
	}
	if !isBareAddress(s) {
		// Addresses typed with a Japanese input method often come out full-width
		// (ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ). Fixing them silently would import an address
		// nobody entered; pointing at the likely intent lets the sender fix the sheet.
		if f := width.Fold.String(s); f != s && isBareAddress(f) {
			return s, fmt.Errorf("is not an email address: it has full-width characters (did you mean %s?)", quote(f))
		}
		return s, errors.New("is not an email address")
	}
	return s, nil
}

// isBareAddress reports whether s is an address nurture sends to, by the rule that
// the API applies too (lead.CheckEmail): an address alone, with no display name,
// comment, routing form or address literal.
func isBareAddress(s string) bool {
	return strings.Count(s, "@") == 1 && lead.CheckEmail(s) == nil
}

var (
	errNotEmployees  = errors.New("is not a number of employees")
	errManyEmployees = fmt.Errorf("is more than %d employees", maxEmployees)
)

// employeeNumber is one count as it appears in a size column: "1,000", "1.2万".
var employeeNumber = regexp.MustCompile(`^([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]{1,6}))?$`)

// parseEmployees reads a company size the way Japanese lead lists write it: "1,000名",
// "約500人", "500以上", or a size band such as "100〜499名", of which the lower bound
// is kept (the band says at least that many; scoring rules compare against minimums).
// An empty cell is nil.
func parseEmployees(s string) (*int, error) {
	t := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, fold(s))
	if t == "" {
		return nil, nil
	}
	lo, hi, isRange := cutRange(t)
	if isRange && hi != "" {
		// The upper bound is thrown away but must still be a number, so that
		// "100-abc" is not taken for 100.
		if _, err := parseCount(hi); err != nil {
			return nil, err
		}
	}
	n, err := parseCount(lo)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// cutRange splits a size band at its separator. "-" cannot start a band, so "-5"
// gives an empty lower bound and is refused rather than read as negative.
func cutRange(t string) (lo, hi string, ok bool) {
	i := strings.IndexFunc(t, func(r rune) bool {
		switch r {
		case '-', '~', '〜', '–', '—', '−':
			return true
		}
		return false
	})
	if i < 0 {
		return t, "", false
	}
	_, size := utf8.DecodeRuneInString(t[i:])
	return t[:i], t[i+size:], true
}

// parseCount reads one count with its Japanese trimmings: "約", "名"/"人", "以上"/"+",
// and "万"/"千" multipliers, which allow one decimal part ("1.2万" is 12,000).
func parseCount(t string) (int, error) {
	t = strings.TrimPrefix(t, "約")
	for {
		u := t
		for _, suffix := range []string{"以上", "程度", "+", "名", "人"} {
			u = strings.TrimSuffix(u, suffix)
		}
		if u == t {
			break
		}
		t = u
	}
	mult := int64(1)
	if u, ok := strings.CutSuffix(t, "万"); ok {
		t, mult = u, 10_000
	} else if u, ok := strings.CutSuffix(t, "千"); ok {
		t, mult = u, 1_000
	}
	m := employeeNumber.FindStringSubmatch(t)
	if m == nil {
		return 0, errNotEmployees
	}
	whole, err := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
	if err != nil || whole > maxEmployees {
		// ParseInt only fails here on overflow: the pattern admits digits alone.
		return 0, errManyEmployees
	}
	n := whole * mult
	if frac := m[2]; frac != "" {
		f, _ := strconv.ParseInt(frac, 10, 64)
		scale := int64(1)
		for range len(frac) {
			scale *= 10
		}
		// A count of people is whole: "1.5" or "1.23456万" is not a size anybody means.
		if f*mult%scale != 0 {
			return 0, errNotEmployees
		}
		n += f * mult / scale
	}
	if n > maxEmployees {
		return 0, errManyEmployees
	}
	return int(n), nil
}

// consentWords are the ways sheets say yes or no to email, keyed after normaliseConsent.
var consentWords = func() map[string]string {
	m := make(map[string]string)
	for _, w := range []string{"yes", "y", "true", "1", "on", "granted", "opt-in", "subscribed",
		"はい", "許可", "許可する", "同意", "同意する", "配信可", "配信する", "希望", "希望する", "○", "〇", "◯", "✓", "✔"} {
		m[normaliseConsent(w)] = consentGranted
	}
	for _, w := range []string{"no", "n", "false", "0", "off", "denied", "opt-out", "unsubscribed",
		"いいえ", "拒否", "許可しない", "同意しない", "不可", "配信不可", "配信しない", "配信停止", "希望しない", "×", "✕", "✗"} {
		m[normaliseConsent(w)] = consentDenied
	}
	return m
}()

func normaliseConsent(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '-' || r == '_' {
			return -1
		}
		return r
	}, strings.ToLower(fold(s)))
}

// parseConsent reads a consent cell as "granted" or "denied"; an empty cell is nil.
func parseConsent(s string) (*string, error) {
	k := normaliseConsent(s)
	if k == "" {
		return nil, nil
	}
	c, ok := consentWords[k]
	if !ok {
		return nil, errors.New("is not a consent value (use yes/no, はい/いいえ, 許可/拒否 or ○/×)")
	}
	return &c, nil
}

// splitName splits a full name into first and last name. With a space in it, a name
// written in CJK characters is family name first ("山田 太郎"), anything else is taken
// as Western order ("Taro Yamada"); a romanised Japanese name in family-first order is
// read the wrong way round, which nothing in the text can tell. Without a space the
// whole name is the last name: "山田太郎" cannot be split reliably (family names run
// from one to four characters), and Japanese mail addresses people by family name, so
// that is the field that has to hold something.
func splitName(s string) (first, last string) {
	parts := strings.FieldsFunc(s, unicode.IsSpace)
	switch {
	case len(parts) == 0:
		return "", ""
	case len(parts) == 1:
		return "", parts[0]
	case strings.IndexFunc(s, isCJK) >= 0:
		return strings.Join(parts[1:], " "), parts[0]
	default:
		return parts[0], strings.Join(parts[1:], " ")
	}
}

func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// splitTags splits a tags cell on the separators people use in both scripts, dropping
// empty entries and repeats. It returns nil when no tag is left.
func splitTags(s string) []string {
	var tags []string
	for _, t := range strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case ',', ';', '、', '，', '；':
			return true
		}
		return false
	}) {
		t = strings.TrimFunc(t, unicode.IsSpace)
		if t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags
}
