package message

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/nurture-dev/nurture/engine/lang"
)

// Most mail clients ignore <style>, so the rules of a message's <style> elements are
// copied into the style attributes of the elements they match, and the <style>
// elements are removed. Rules that cannot be inlined — @media queries and selectors
// with pseudo-classes such as a:hover — are kept in one <style> in <head> for the
// clients that read it.
//
// The inliner knows the selectors layouts need: type (p), universal (*), class
// (.note), id (#top), their compounds (p.note), and descendant (td p) and child
// (tr > td) combinators, each in comma lists. Other selectors are an error found when
// the template is loaded.

// stylesheet is the parsed content of a document's <style> elements.
type stylesheet struct {
	rules []cssRule
	kept  []string // rules left in <style>, as written
}

type cssRule struct {
	sel   selector
	spec  [3]int // ids, classes, types
	order int
	decls []declaration
}

type declaration struct {
	prop, value string
	important   bool
}

// selector is a chain of compound selectors, outermost first.
type selector []compound

type compound struct {
	tag     string // "" matches any element
	id      string
	classes []string
	child   bool // the combinator to the previous compound is ">" rather than " "
}

// cssError is a problem in CSS text, at a line of that text (from 1).
type cssError struct {
	line int
	msg  lang.Message
}

// cssErrorf is the problem at line of CSS text, with the message of format and args
// (a constant format with a translation in messages_ja.go).
func cssErrorf(line int, format string, args ...any) *cssError {
	return &cssError{line, lang.New(format, args...)}
}

func (e *cssError) Error() string { return e.In(lang.English) }

// In is the problem in l.
func (e *cssError) In(l lang.Lang) string { return lang.New("CSS line %d: %s", e.line, e.msg).In(l) }

// parseCSS adds the rules of src to s.
func (s *stylesheet) parse(src string) error {
	src = stripComments(src)
	lineAt := func(i int) int { return 1 + strings.Count(src[:i], "\n") }
	i := 0
	for {
		for i < len(src) && isSpace(src[i]) {
			i++
		}
		if i >= len(src) {
			return nil
		}
		start := i
		if src[i] == '@' {
			j := indexOutsideStrings(src, i, "{;")
			if j < 0 {
				return cssErrorf(lineAt(start), "the at-rule has no end")
			}
			name := strings.ToLower(strings.Fields(src[start+1 : j])[0])
			if src[j] == ';' {
				switch name {
				case "charset":
				case "import":
					return cssErrorf(lineAt(start), "@import is not supported: mail clients do not load style sheets, put the rules in the <style>")
				default:
					s.kept = append(s.kept, strings.TrimSpace(src[start:j+1]))
				}
				i = j + 1
				continue
			}
			k := matchingBrace(src, j)
			if k < 0 {
				return cssErrorf(lineAt(start), "a { is not closed")
			}
			s.kept = append(s.kept, strings.TrimSpace(src[start:k+1]))
			i = k + 1
			continue
		}
		j := indexOutsideStrings(src, i, "{}")
		if j < 0 || src[j] == '}' {
			return cssErrorf(lineAt(start), "expected a selector and a { declarations } block")
		}
		k := indexOutsideStrings(src, j+1, "{}")
		if k < 0 || src[k] == '{' {
			return cssErrorf(lineAt(j), "a { is not closed by }")
		}
		decls, err := parseDeclarations(src[j+1 : k])
		if err != nil {
			return cssErrorf(lineAt(j), "%v", err)
		}
		for sel := range strings.SplitSeq(src[i:j], ",") {
			sel = strings.TrimSpace(sel)
			if sel == "" {
				return cssErrorf(lineAt(start), "empty selector")
			}
			if strings.Contains(sel, ":") { // :hover, ::before... apply in the client or not at all
				s.kept = append(s.kept, sel+"{"+strings.TrimSpace(src[j+1:k])+"}")
				continue
			}
			parsed, spec, err := parseSelector(sel)
			if err != nil {
				return cssErrorf(lineAt(start), "%v", err)
			}
			s.rules = append(s.rules, cssRule{sel: parsed, spec: spec, order: len(s.rules), decls: decls})
		}
		i = k + 1
	}
}

var commentRE = regexp.MustCompile(`(?s)/\*.*?\*/`)

// stripComments blanks out comments, keeping their line breaks so lines still count.
func stripComments(src string) string {
	return commentRE.ReplaceAllStringFunc(src, func(c string) string {
		return strings.Repeat("\n", strings.Count(c, "\n")) + " "
	})
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// indexOutsideStrings returns the index of the first of chars in src from i that is
// not inside a quoted string, or -1.
func indexOutsideStrings(src string, i int, chars string) int {
	var quote byte
	for ; i < len(src); i++ {
		c := src[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case strings.IndexByte(chars, c) >= 0:
			return i
		}
	}
	return -1
}

// matchingBrace returns the index of the } that closes the { at open, or -1.
func matchingBrace(src string, open int) int {
	depth := 0
	for i := open; i >= 0 && i < len(src); i++ {
		i = indexOutsideStrings(src, i, "{}")
		if i < 0 {
			return -1
		}
		if src[i] == '{' {
			depth++
		} else if depth--; depth == 0 {
			return i
		}
	}
	return -1
}

// parseDeclarations parses "color: red; margin: 0 !important".
func parseDeclarations(src string) ([]declaration, error) {
	var decls []declaration
	for len(src) > 0 {
		end := indexOutsideParens(src, ';')
		part := src
		if end >= 0 {
			part, src = src[:end], src[end+1:]
		} else {
			src = ""
		}
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		prop, val, ok := strings.Cut(part, ":")
		prop, val = strings.ToLower(strings.TrimSpace(prop)), strings.TrimSpace(val)
		if !ok || prop == "" || val == "" {
			return nil, lang.Errorf("%q is not a declaration such as \"color: #333\"", part)
		}
		d := declaration{prop: prop, value: val}
		if i := strings.LastIndex(strings.ToLower(val), "!important"); i >= 0 && strings.TrimSpace(val[i+len("!important"):]) == "" {
			d.value, d.important = strings.TrimSpace(val[:i]), true
		}
		decls = append(decls, d)
	}
	return decls, nil
}

// indexOutsideParens returns the index of the first c in src outside quotes and
// parentheses (url(data:...;base64,...) has semicolons), or -1.
func indexOutsideParens(src string, c byte) int {
	depth := 0
	var quote byte
	for i := 0; i < len(src); i++ {
		switch ch := src[i]; {
		case quote != 0:
			if ch == '\\' {
				i++
			} else if ch == quote {
				quote = 0
			}
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == '(':
			depth++
		case ch == ')':
			depth--
		case ch == c && depth <= 0:
			return i
		}
	}
	return -1
}

var identRE = regexp.MustCompile(`^-?[_a-zA-Z\x{80}-\x{10FFFF}][-_a-zA-Z0-9\x{80}-\x{10FFFF}]*`)

// parseSelector parses a selector without pseudo-classes and returns its
// specificity.
func parseSelector(s string) (selector, [3]int, error) {
	var sel selector
	var spec [3]int
	unsupported := lang.Errorf("selector %q is not supported by the inliner: use type (p), class (.note), id (#top), compounds (p.note), descendant (td p) and child (tr > td) selectors", s)
	fields := strings.Fields(strings.ReplaceAll(s, ">", " > "))
	child := false
	for _, f := range fields {
		if f == ">" {
			if child || len(sel) == 0 {
				return nil, spec, unsupported
			}
			child = true
			continue
		}
		c := compound{child: child}
		child = false
		rest := f
		if strings.HasPrefix(rest, "*") {
			rest = rest[1:]
		} else if tag := identRE.FindString(rest); tag != "" {
			c.tag = strings.ToLower(tag)
			rest = rest[len(tag):]
			spec[2]++
		}
		for rest != "" {
			kind := rest[0]
			name := identRE.FindString(rest[1:])
			if (kind != '.' && kind != '#') || name == "" {
				return nil, spec, unsupported
			}
			if kind == '.' {
				c.classes = append(c.classes, name)
				spec[1]++
			} else {
				if c.id != "" {
					return nil, spec, unsupported
				}
				c.id = name
				spec[0]++
			}
			rest = rest[1+len(name):]
		}
		sel = append(sel, c)
	}
	if len(sel) == 0 || child {
		return nil, spec, unsupported
	}
	return sel, spec, nil
}

func (c *compound) matches(n *html.Node) bool {
	if c.tag != "" && n.Data != c.tag {
		return false
	}
	if c.id != "" && getAttr(n, "id") != c.id {
		return false
	}
	if len(c.classes) > 0 {
		have := strings.Fields(getAttr(n, "class"))
		for _, want := range c.classes {
			if !slices.Contains(have, want) {
				return false
			}
		}
	}
	return true
}

func (s selector) matches(n *html.Node) bool { return s.matchesAt(len(s)-1, n) }

func (s selector) matchesAt(i int, n *html.Node) bool {
	if !s[i].matches(n) {
		return false
	}
	if i == 0 {
		return true
	}
	p := parentElement(n)
	if s[i].child {
		return p != nil && s.matchesAt(i-1, p)
	}
	for ; p != nil; p = parentElement(p) {
		if s.matchesAt(i-1, p) {
			return true
		}
	}
	return false
}

func parentElement(n *html.Node) *html.Node {
	if p := n.Parent; p != nil && p.Type == html.ElementNode {
		return p
	}
	return nil
}

// inlineCSS inlines the <style> elements under root and removes them, keeping what
// cannot be inlined in one <style> in head.
func inlineCSS(root, head *html.Node) error {
	var styles []*html.Node
	var texts []string
	walk(root, func(n *html.Node) bool {
		if n.DataAtom != atom.Style {
			return true
		}
		styles = append(styles, n)
		texts = append(texts, textContent(n))
		return false
	})
	for _, n := range styles {
		n.Parent.RemoveChild(n)
	}
	sheet, err := parseStyles(texts)
	if err != nil {
		return err
	}
	if len(sheet.rules) > 0 {
		walk(root, func(n *html.Node) bool {
			if n.DataAtom == atom.Head {
				return false
			}
			sheet.apply(n)
			return true
		})
	}
	if len(sheet.kept) > 0 {
		style := element(atom.Style)
		style.AppendChild(&html.Node{Type: html.TextNode, Data: "\n" + strings.Join(sheet.kept, "\n") + "\n"})
		head.AppendChild(style)
	}
	return nil
}

// parsedSheets keeps parsed style sheets by their text: every message of a template
// carries the same <style>, and parsing it is a good part of rendering one. At most
// maxParsedSheets are kept, so a template that personalises its CSS cannot grow it
// without bound. A parsed sheet is only read after parsing.
var (
	parsedSheets    sync.Map // string → *stylesheet
	parsedSheetsLen atomic.Int64
)

const maxParsedSheets = 256

// parseStyles parses the texts of a document's <style> elements as one style sheet.
func parseStyles(texts []string) (*stylesheet, error) {
	key := strings.Join(texts, "\x00")
	if v, ok := parsedSheets.Load(key); ok {
		return v.(*stylesheet), nil
	}
	sheet := &stylesheet{}
	for _, t := range texts {
		if err := sheet.parse(t); err != nil {
			return nil, lang.Errorf("<style>: %w", err)
		}
	}
	if parsedSheetsLen.Load() < maxParsedSheets {
		if _, loaded := parsedSheets.LoadOrStore(key, sheet); !loaded {
			parsedSheetsLen.Add(1)
		}
	}
	return sheet, nil
}

// apply sets the style attribute of n to the declarations that apply to it, in
// cascade order: the style sheet's by specificity and order, then the element's own
// style attribute, then !important ones.
func (s *stylesheet) apply(n *html.Node) {
	var matched []*cssRule
	for i := range s.rules {
		if s.rules[i].sel.matches(n) {
			matched = append(matched, &s.rules[i])
		}
	}
	if len(matched) == 0 {
		return
	}
	slices.SortStableFunc(matched, func(a, b *cssRule) int {
		for i := range a.spec {
			if c := cmp.Compare(a.spec[i], b.spec[i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.order, b.order)
	})
	own, err := parseDeclarations(getAttr(n, "style"))
	if err != nil {
		own = nil // the author's own broken style attribute: drop it rather than fail
	}
	var out []declaration
	set := func(d declaration) {
		out = slices.DeleteFunc(out, func(o declaration) bool { return o.prop == d.prop })
		out = append(out, d) // last, so a later shorthand still overrides earlier longhands
	}
	for _, important := range []bool{false, true} {
		for _, r := range matched {
			for _, d := range r.decls {
				if d.important == important {
					set(d)
				}
			}
		}
		for _, d := range own {
			if d.important == important {
				set(d)
			}
		}
	}
	parts := make([]string, len(out))
	for i, d := range out {
		parts[i] = d.prop + ":" + d.value
	}
	setAttr(n, "style", strings.Join(parts, ";"))
}

// styleRE finds the <style> elements of a template's source.
var styleRE = regexp.MustCompile(`(?is)<style\b[^>]*>(.*?)</style\s*>`)

// checkStyles parses the CSS of the <style> elements in the source of a file whose
// text src starts at line start, so a problem is reported where it is written.
func checkStyles(file, src string, start int) error {
	for _, m := range styleRE.FindAllStringSubmatchIndex(src, -1) {
		var sheet stylesheet
		css := src[m[2]:m[3]]
		if strings.Contains(css, "{{") {
			continue // made by the template: checked when the samples are rendered
		}
		if err := sheet.parse(css); err != nil {
			e := err.(*cssError)
			line := start + strings.Count(src[:m[2]], "\n") + e.line - 1
			return &Error{File: file, Line: line, Msg: e.msg.String(), text: e.msg}
		}
	}
	return nil
}
