// Package lang puts the messages marketers read (check, simulate and template
// errors) into their language. A message is kept as its English format and its
// arguments (Message); each package that writes messages registers a catalog from
// each English format to its Japanese one, and the message is put into a language
// only when it is printed. English is the default.
package lang

import (
	"fmt"
	"strings"
	"sync"
)

// Lang is a language messages can be printed in.
type Lang string

// The languages messages are written in.
const (
	English  Lang = "en"
	Japanese Lang = "ja"
)

// Parse reads a language as NURTURE_LANG gives it: "ja" or "en" (a locale such as
// "ja_JP.UTF-8" is taken too). An empty string is English.
func Parse(s string) (Lang, error) {
	switch l := strings.ToLower(strings.TrimSpace(s)); {
	case l == "", strings.HasPrefix(l, "en"), l == "c", l == "posix":
		return English, nil
	case strings.HasPrefix(l, "ja"):
		return Japanese, nil
	}
	return English, fmt.Errorf("%q is not a language nurture speaks: use ja or en", s)
}

// FromLocale is the language of the POSIX locale: the first of LC_ALL, LC_MESSAGES
// and LANG that is set decides, Japanese when it starts with "ja", else English.
func FromLocale(getenv func(string) string) Lang {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if s := getenv(v); s != "" {
			if strings.HasPrefix(strings.ToLower(s), "ja") {
				return Japanese
			}
			return English
		}
	}
	return English
}

// Message is a message as its English format and arguments. String gives it in
// English, as fmt.Sprintf would; In gives it in a language.
type Message struct {
	Format string
	Args   []any
}

// New is the message of format and args, in the manner of fmt.Sprintf. format must
// be a constant for the catalog test to find it.
func New(format string, args ...any) Message { return Message{Format: format, Args: args} }

// String is the message in English.
func (m Message) String() string {
	if len(m.Args) == 0 {
		return m.Format
	}
	return fmt.Sprintf(noWrap(m.Format), m.Args...)
}

// In is the message in l. An argument printed with %s or %v is put into l too when
// it is a message (Localizer) or when its text is a catalog entry (such as "a list");
// other arguments, such as names a marketer wrote, are printed as they are. A format
// missing from the catalog is printed in English.
func (m Message) In(l Lang) string {
	if l != Japanese {
		return m.String()
	}
	ja, ok := lookup(m.Format)
	if !ok {
		return m.String()
	}
	verbs := verbsOf(m.Format)
	args := make([]any, len(m.Args))
	for i, a := range m.Args {
		args[i] = a
		if i < len(verbs) && (verbs[i] == 's' || verbs[i] == 'v' || verbs[i] == 'w') {
			args[i] = translateArg(l, a)
		}
	}
	if len(args) == 0 {
		return ja
	}
	return fmt.Sprintf(noWrap(ja), args...)
}

// noWrap is format with %w, which only fmt.Errorf knows, written %v.
func noWrap(format string) string { return strings.ReplaceAll(format, "%w", "%v") }

// Localizer is anything that can be printed in a language: a Message, an Error, or
// the errors of the engine's packages that carry one.
type Localizer interface {
	In(l Lang) string
}

// Text is v in l: a Localizer in its own words, an error or text that is a catalog
// entry translated, anything else as fmt prints it.
func Text(l Lang, v any) string {
	if lz, ok := v.(Localizer); ok {
		return lz.In(l)
	}
	s := fmt.Sprint(v)
	if l == Japanese {
		if ja, ok := lookup(s); ok && len(verbsOf(s)) == 0 {
			return ja
		}
	}
	return s
}

func translateArg(l Lang, a any) any {
	switch v := a.(type) {
	case Localizer:
		return v.In(l)
	case string, error:
		return Text(l, v)
	}
	return a
}

// verbsOf is the verb letter of each argument of format, in order.
func verbsOf(format string) []byte {
	var out []byte
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0123456789.[]*", format[i]) >= 0 {
			i++
		}
		if i < len(format) && format[i] != '%' {
			out = append(out, format[i])
		}
	}
	return out
}

// Error is an error whose text is a Message, wrapping the error given to %w, if any.
type Error struct {
	Message
	wrapped error
}

// Errorf is the error of format and args, in the manner of fmt.Errorf: a %w argument
// is wrapped.
func Errorf(format string, args ...any) error {
	e := &Error{Message: New(format, args...)}
	for _, a := range args {
		if err, ok := a.(error); ok && strings.Contains(format, "%w") {
			e.wrapped = err
			break
		}
	}
	return e
}

// Error is the message in English.
func (e *Error) Error() string { return e.String() }

// Unwrap is the error given to %w.
func (e *Error) Unwrap() error { return e.wrapped }

var (
	mu      sync.RWMutex
	catalog = map[string]string{}
)

// Register adds Japanese translations, by English format, to the catalog. Each
// package registers its own at start-up (var _ = lang.Register(…)). A format given
// two different translations is a programming error and panics.
func Register(ja map[string]string) struct{} {
	mu.Lock()
	defer mu.Unlock()
	for en, j := range ja {
		if old, ok := catalog[en]; ok && old != j {
			panic(fmt.Sprintf("lang: %q has two translations: %q and %q", en, old, j))
		}
		// A translation may leave an argument out (a Go type name, say), but only
		// with numbered arguments, for which fmt does not report the extra ones.
		if n, nj := len(verbsOf(en)), countArgs(j); nj > n || (nj < n && !strings.Contains(j, "%[")) {
			panic(fmt.Sprintf("lang: %q and its translation %q take different arguments", en, j))
		}
		catalog[en] = j
	}
	return struct{}{}
}

// countArgs is how many arguments a format uses, counting explicit indexes
// ("%[2]s") by the highest one.
func countArgs(format string) int {
	n, next := 0, 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		if i < len(format) && format[i] == '%' {
			continue
		}
		for i < len(format) && strings.IndexByte("+-# 0123456789.", format[i]) >= 0 {
			i++
		}
		if i < len(format) && format[i] == '[' {
			j := strings.IndexByte(format[i:], ']')
			if j < 0 {
				return -1
			}
			var idx int
			if _, err := fmt.Sscanf(format[i+1:i+j], "%d", &idx); err != nil {
				return -1
			}
			next = idx
			i += j + 1
		} else {
			next++
		}
		n = max(n, next)
	}
	return n
}

func lookup(en string) (string, bool) {
	mu.RLock()
	defer mu.RUnlock()
	ja, ok := catalog[en]
	return ja, ok
}

// Has reports whether the catalog has a Japanese translation of the English format
// en, for tests that hold every message a package writes to having one.
func Has(en string) bool {
	_, ok := lookup(en)
	return ok
}

// Join is errors in l, one a line.
func Join(l Lang, errs ...error) string {
	lines := make([]string, 0, len(errs))
	for _, err := range errs {
		if err != nil {
			lines = append(lines, Text(l, err))
		}
	}
	return strings.Join(lines, "\n")
}
