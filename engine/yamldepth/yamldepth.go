// Package yamldepth measures how deeply a YAML file nests its lists and mappings,
// without parsing it. The YAML parser nurture uses takes time and memory quadratic in
// the nesting depth (80 KB of "[[[…" takes gigabytes), so files that marketers edit
// are looked at with Check first, which is linear and allocates nothing, and refused
// past a bound that no real file comes near.
//
// Check errs on the side of counting more: a scalar written over several lines, say,
// may count a level, but a file it accepts never nests deeper than the bound.
package yamldepth

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// Error is a place where a file nests deeper than the bound; Line and Column are
// 1-based, the column in characters.
type Error struct {
	Line, Column int
	Max          int
}

// Error says that the file nests too deep, without its position, which callers
// report in their own way.
func (e *Error) Error() string {
	return fmt.Sprintf("lists and mappings are nested more than %d levels deep here", e.Max)
}

// level is an open block collection: a sequence entry ("- ") or a mapping key, at
// its column.
type level struct {
	column int
	seq    bool
}

// Check returns an *Error at the first list or mapping that opens deeper than max
// levels in src, or nil.
func Check(src []byte, max int) error {
	s := scanner{max: max, scalarIndent: -2}
	for len(src) > 0 {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i], src[i+1:]
		} else {
			src = nil
		}
		s.line++
		if err := s.scanLine(line); err != nil {
			return err
		}
	}
	return nil
}

type scanner struct {
	max   int
	line  int
	block []level // open block collections, outermost first
	// flow is the open [ and {, and ':' for a key and value written in a list
	// ([a: b]), which makes a mapping inside it.
	flow  []byte
	quote byte // the quote of a quoted scalar going on from an earlier line, or 0
	// scalarIndent is the column a block scalar's (| or >) lines are indented past;
	// -2 when not in one.
	scalarIndent int
}

func (s *scanner) deeper(line []byte, at int) error {
	if len(s.block)+len(s.flow) > s.max {
		return &Error{Line: s.line, Column: utf8.RuneCount(line[:at]) + 1, Max: s.max}
	}
	return nil
}

// isBlank reports whether c separates tokens. Control characters do not belong in
// YAML, but the parser passes over some of them: they count as blanks here.
func isBlank(c byte) bool { return c == ' ' || (c < ' ' && c != '\n') }

// endsToken reports whether line[i] is the end of the line or a blank, as after
// the indicators "- ", "? " and ": ".
func endsToken(line []byte, i int) bool { return i >= len(line) || isBlank(line[i]) }

func (s *scanner) scanLine(line []byte) error {
	indent := 0
	for indent < len(line) && isBlank(line[indent]) {
		indent++
	}
	rest := line[indent:]
	blank := len(bytes.TrimSpace(rest)) == 0
	if s.scalarIndent > -2 {
		if blank || indent > s.scalarIndent {
			return nil // the block scalar's text
		}
		s.scalarIndent = -2
	}
	i := 0
	nodeStart := true
	if s.quote == 0 && len(s.flow) == 0 {
		if blank || rest[0] == '#' {
			return nil
		}
		if indent == 0 && (bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("..."))) && endsToken(line, 3) {
			s.block = s.block[:0] // a new document
			i = 3
		} else {
			// Close the collections this line is not inside. A "- " at the column of
			// a mapping key is a list that is that key's value, one level down.
			seq := rest[0] == '-' && endsToken(rest, 1)
			for n := len(s.block); n > 0; n = len(s.block) {
				top := s.block[n-1]
				if top.column < indent || (top.column == indent && seq && !top.seq) {
					break
				}
				s.block = s.block[:n-1]
			}
			i = indent
		}
	} else {
		nodeStart = s.quote == 0
	}
	keyStart := -1 // where the scalar that may be a mapping key started
	if s.quote != 0 {
		keyStart = 0
	}
	for i < len(line) {
		c := line[i]
		if s.quote != 0 {
			switch {
			case c == '\\' && s.quote == '"':
				i += 2
				continue
			case c == '\'' && s.quote == '\'' && i+1 < len(line) && line[i+1] == '\'':
				i += 2
				continue
			case c == s.quote:
				s.quote = 0
			}
			i++
			continue
		}
		switch {
		case isBlank(c):
			i++
			continue
		case c == '#' && (i == 0 || isBlank(line[i-1])):
			return nil // a comment
		case nodeStart && (c == '"' || c == '\''):
			s.quote = c
			keyStart = i
			nodeStart = false
		case nodeStart && (c == '&' || c == '!'):
			// An anchor or a tag: the node follows it.
			for i < len(line) && !isBlank(line[i]) {
				i++
			}
			continue
		case c == '[' || c == '{':
			if nodeStart || len(s.flow) > 0 {
				s.flow = append(s.flow, c)
				if err := s.deeper(line, i); err != nil {
					return err
				}
				nodeStart = true
				keyStart = -1
			}
		case len(s.flow) > 0 && (c == ']' || c == '}'):
			s.endPair()
			s.flow = s.flow[:max(len(s.flow)-1, 0)]
			nodeStart = false
		case len(s.flow) > 0 && c == ',':
			s.endPair()
			nodeStart = true
			keyStart = -1
		case len(s.flow) > 0 && c == ':':
			if s.flow[len(s.flow)-1] == '[' {
				s.flow = append(s.flow, ':')
				if err := s.deeper(line, i); err != nil {
					return err
				}
			}
			nodeStart = true
			keyStart = -1
		case len(s.flow) == 0 && nodeStart && (c == '-' || c == '?') && endsToken(line, i+1):
			s.block = append(s.block, level{column: i, seq: c == '-'})
			if err := s.deeper(line, i); err != nil {
				return err
			}
		case len(s.flow) == 0 && nodeStart && (c == '|' || c == '>'):
			s.scalarIndent = -1
			if n := len(s.block); n > 0 {
				s.scalarIndent = s.block[n-1].column
			}
			return nil
		case len(s.flow) == 0 && c == ':' && endsToken(line, i+1):
			at := keyStart
			if at < 0 {
				at = i
			}
			s.block = append(s.block, level{column: at})
			if err := s.deeper(line, at); err != nil {
				return err
			}
			nodeStart = true
			keyStart = -1
		default:
			if nodeStart {
				keyStart = i
			}
			nodeStart = false
		}
		i++
	}
	return nil
}

// endPair closes the mapping of a key and value written in a list, if one is open.
func (s *scanner) endPair() {
	if n := len(s.flow); n > 0 && s.flow[n-1] == ':' {
		s.flow = s.flow[:n-1]
	}
}
