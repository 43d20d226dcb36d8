package scenario

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/nurture-dev/nurture/engine/lang"
)

// Error is one problem in a marketer's file, at a 1-based line and column (Column is
// 0 when only the line is known). Msg is the message in English; In gives it in
// another language.
type Error struct {
	File         string
	Line, Column int
	Msg          string
	text         lang.Message // Msg as a format and its arguments, when made by Errorf
}

// Errorf is the problem at pos in file, with the message of format and args (a
// constant format with a translation in the catalog, see messages_ja.go).
func Errorf(file string, pos Pos, format string, args ...any) *Error {
	m := lang.New(format, args...)
	return &Error{File: file, Line: pos.Line, Column: pos.Column, Msg: m.String(), text: m}
}

// Error returns "file:line:column: msg".
func (e *Error) Error() string { return e.at() + e.Msg }

// In returns "file:line:column: msg" with the message in l.
func (e *Error) In(l lang.Lang) string { return e.at() + e.MsgIn(l) }

// MsgIn is the message in l, without the position.
func (e *Error) MsgIn(l lang.Lang) string {
	if e.text.Format != "" && e.text.String() == e.Msg {
		return e.text.In(l)
	}
	return lang.Text(l, e.Msg)
}

// at is "file:line:column: ".
func (e *Error) at() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(":" + strconv.Itoa(e.Column))
		}
	}
	b.WriteString(": ")
	return b.String()
}

// Errors is every problem found, in file, line and column order.
type Errors []*Error

// Error returns the problems one per line.
func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// In returns the problems one per line, in l.
func (es Errors) In(l lang.Lang) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.In(l)
	}
	return strings.Join(s, "\n")
}

// Unwrap lets errors.As find an *Error (the first) in an Errors.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sort puts the problems in file, line and column order and drops repeats.
func (es Errors) sort() Errors {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return slices.CompactFunc(es, func(a, b *Error) bool {
		return a.File == b.File && a.Line == b.Line && a.Column == b.Column && a.Msg == b.Msg
	})
}
