package scenario

import (
	"strings"
	"unicode/utf8"
)

// fullWidthSpace finds the first full-width space (U+3000, typed with the Japanese
// input method on) where YAML needs an ordinary one: in a line's indentation or
// after its "-", just before a key's colon, or just after it. The YAML reader would
// take it for text and report the file's structure wrong in several places, so the
// file is refused with this one error. Full-width spaces inside text, quoted
// strings and comments are left alone.
func fullWidthSpace(src []byte) (Pos, bool) {
	for i, line := range strings.Split(string(src), "\n") {
		col := 1
		rest := line
		// The indentation and a list item's "- ".
		for rest != "" {
			r, size := utf8.DecodeRuneInString(rest)
			switch {
			case r == '\u3000':
				return Pos{i + 1, col}, true
			case r == ' ' || r == '\t':
			case r == '-' && (len(rest) == 1 || rest[1] == ' ' || strings.HasPrefix(rest[1:], "\u3000")):
			default:
				size = 0
			}
			if size == 0 {
				break
			}
			rest, col = rest[size:], col+1
		}
		if strings.HasPrefix(rest, "#") || strings.HasPrefix(rest, `"`) || strings.HasPrefix(rest, "'") {
			continue
		}
		// A key's colon: "send　:" or "send:　".
		key, _, found := strings.Cut(rest, ":")
		if !found || strings.ContainsAny(key, `"'#{}[],`) {
			continue
		}
		if strings.HasSuffix(key, "\u3000") {
			trimmed := strings.TrimRight(key, "\u3000")
			return Pos{i + 1, col + utf8.RuneCountInString(trimmed)}, true
		}
		if strings.HasPrefix(rest[len(key)+1:], "\u3000") {
			return Pos{i + 1, col + utf8.RuneCountInString(key) + 1}, true
		}
	}
	return Pos{}, false
}

// misaligned explains an indentation slip the YAML reader reports on line (1-based)
// as "value is not allowed in this context": it returns the nearest line above
// whose key or "-" the line was meant to line up with, that key as written ("id:",
// "- id:"), and its column. ok is false when no such line is found.
func misaligned(src []byte, line int) (atLine int, key string, col int, ok bool) {
	lines := strings.Split(string(src), "\n")
	if line < 2 || line > len(lines) {
		return 0, "", 0, false
	}
	dash, c := lineStart(lines[line-1])
	if c == 0 {
		return 0, "", 0, false
	}
	best := 0
	for i := line - 2; i >= 0; i-- {
		d, pc := lineStart(lines[i])
		if pc == 0 {
			continue
		}
		// A list item lines up with another list item's "-"; a key with the key
		// of the item (or mapping) above it.
		k, kc := "", pc
		if dash {
			if !d {
				if pc < c {
					break // the list's parent: no item above to line up with
				}
				continue
			}
			k = "-"
			if name := keyOf(lines[i]); name != "" {
				k = "- " + name + ":"
			}
		} else {
			if d {
				kc = pc + 2
			}
			if k = keyOf(lines[i]); k != "" {
				k += ":"
			}
		}
		if kc == c || k == "" {
			if kc == c {
				return 0, "", 0, false // lines up already: some other slip
			}
			continue
		}
		if best == 0 || abs(kc-c) < abs(col-c) {
			best, key, col = i+1, k, kc
		}
		if abs(kc-c) <= 2 {
			break
		}
	}
	if best == 0 {
		return 0, "", 0, false
	}
	return best, key, col, true
}

// lineStart reports whether a line is a list item ("- ") and the 1-based column of
// its first character, or 0 for a blank or comment line.
func lineStart(line string) (bool, int) {
	t := strings.TrimLeft(line, " ")
	if t == "" || strings.HasPrefix(t, "#") {
		return false, 0
	}
	return t == "-" || strings.HasPrefix(t, "- "), len(line) - len(t) + 1
}

// keyOf is the key a line starts with (after a "- "), or "".
func keyOf(line string) string {
	t := strings.TrimLeft(line, " ")
	t = strings.TrimLeft(strings.TrimPrefix(t, "-"), " ")
	k, _, found := strings.Cut(t, ":")
	if !found || k == "" || strings.ContainsAny(k, " \"'{}[],#") {
		return ""
	}
	return k
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
