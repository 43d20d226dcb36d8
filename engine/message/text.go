package message

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/width"
)

// textWidth is the width the text part is wrapped at, in columns where a Japanese
// character takes two: 35 full-width characters, as Japanese business mail is
// written.
const textWidth = 70

// segmentBreak stands, while a paragraph is collected, for white space that had a
// line break in it: between two Japanese characters it disappears (as CSS does),
// elsewhere it is a space.
const segmentBreak = '\x00'

// plainText makes the text part of a message from its HTML body: headings,
// paragraphs, lists and quotes as a reader of plain text expects them, links as
// "text (url)", hidden elements and images left out.
func plainText(body *html.Node) string { return layoutText(textOps(body), nil) }

// textOps reads the text part out of an HTML body as a list of paragraphs and the
// changes of state between them, for layoutText to wrap. The render cache keeps
// them, to wrap again once a message's values are in.
func textOps(body *html.Node) []textOp {
	w := &textWriter{}
	w.children(body)
	w.flush()
	return w.ops
}

// A textOp is a paragraph of the text part, or a change of the state paragraphs
// are written in.
type textOp struct {
	kind   textOpKind
	text   string // a paragraph as collected, or the first-line prefix opFirst sets
	pre    bool   // a paragraph of <pre>: kept as it is, not wrapped
	indent string // the prefix of every line of the paragraph

	// For the render cache: whether text holds values or URLs still to fill in,
	// and else the paragraph's lines, wrapped once.
	dynamic bool
	lines   []string
}

type textOpKind uint8

const (
	opParagraph textOpKind = iota
	opFirst                // the prefix of the next paragraph's first line (a list bullet)
	opBlank                // a blank line is due before the next paragraph
)

type textWriter struct {
	ops     []textOp
	inline  strings.Builder // the paragraph being collected
	pre     int             // depth of <pre>
	indent  string          // the prefix of every line of the paragraph
	flushes int
	lists   int
}

// setFirst makes s the prefix of the first line of the next paragraph written.
func (w *textWriter) setFirst(s string) { w.ops = append(w.ops, textOp{kind: opFirst, text: s}) }

func (w *textWriter) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c)
	}
}

func (w *textWriter) node(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		if w.pre > 0 {
			w.inline.WriteString(n.Data)
		} else {
			w.inline.WriteString(collapseHTMLSpace(n.Data))
		}
	case html.ElementNode:
		w.element(n)
	}
}

func (w *textWriter) element(n *html.Node) {
	if hidden(n) {
		return
	}
	switch n.DataAtom {
	case atom.Head, atom.Script, atom.Style, atom.Title, atom.Template, atom.Img, atom.Noscript, atom.Object, atom.Iframe:
	case atom.Br:
		w.inline.WriteByte('\n')
	case atom.A:
		w.link(n)
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		w.block(true)
		w.inline.WriteString("■ ")
		w.children(n)
		w.block(true)
	case atom.P, atom.Table, atom.Figure, atom.Dl:
		w.block(true)
		w.children(n)
		w.block(true)
	case atom.Blockquote:
		w.block(true)
		old := w.indent
		w.indent += "> "
		w.children(n)
		w.flush()
		w.indent = old
		w.block(true)
	case atom.Pre:
		w.block(true)
		w.pre++
		w.children(n)
		w.flush()
		w.pre--
		w.block(true)
	case atom.Hr:
		w.block(true)
		w.inline.WriteString(strings.Repeat("-", 40))
		w.block(true)
	case atom.Ul, atom.Ol:
		w.list(n)
	case atom.Li: // outside a list
		w.block(false)
		w.children(n)
		w.block(false)
	case atom.Tr:
		w.row(n)
	case atom.Div, atom.Td, atom.Th, atom.Section, atom.Article, atom.Header, atom.Footer,
		atom.Main, atom.Nav, atom.Aside, atom.Center, atom.Dt, atom.Dd, atom.Caption, atom.Figcaption, atom.Address:
		w.block(false)
		w.children(n)
		w.block(false)
	default:
		w.children(n)
	}
}

// row writes a table row whose cells hold only text on one line, its cells
// separated by " | " (a data table); any other row's cells are blocks (a layout).
func (w *textWriter) row(n *html.Node) {
	w.block(false)
	if !inlineRow(n) {
		w.children(n)
		w.block(false)
		return
	}
	first := true
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode || hidden(c) {
			continue
		}
		if !first {
			w.inline.WriteString(" | ")
		}
		first = false
		w.children(c)
	}
	w.block(false)
}

// blocks are the elements that start a paragraph of the text part.
var blocks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Table: true, atom.Ul: true, atom.Ol: true, atom.Li: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Blockquote: true, atom.Pre: true, atom.Hr: true, atom.Tr: true, atom.Br: true,
	atom.Section: true, atom.Article: true, atom.Header: true, atom.Footer: true, atom.Dl: true,
}

func inlineRow(tr *html.Node) bool {
	inline := true
	for c := tr.FirstChild; c != nil; c = c.NextSibling {
		walk(c, func(n *html.Node) bool {
			if n != c && blocks[n.DataAtom] {
				inline = false
			}
			return inline
		})
	}
	return inline
}

// hidden reports whether a reader never sees n: the preheader, the honeypot.
func hidden(n *html.Node) bool {
	if hasAttr(n, "hidden") || getAttr(n, "aria-hidden") == "true" {
		return true
	}
	style := strings.ToLower(strings.Join(strings.Fields(getAttr(n, "style")), ""))
	return strings.Contains(style, "display:none")
}

func (w *textWriter) list(n *html.Node) {
	nested := w.lists > 0
	w.block(!nested)
	w.lists++
	counter := 1
	if s, err := strconv.Atoi(getAttr(n, "start")); err == nil {
		counter = s
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode || c.DataAtom != atom.Li || hidden(c) {
			w.node(c)
			continue
		}
		bullet := "・"
		if n.DataAtom == atom.Ol {
			bullet = strconv.Itoa(counter) + ". "
			counter++
		}
		w.flush()
		old := w.indent
		w.setFirst(old + bullet)
		w.indent = old + strings.Repeat(" ", stringWidth(bullet))
		w.children(c)
		w.flush()
		w.indent = old
		w.setFirst("")
	}
	w.lists--
	w.block(!nested)
}

// link writes a link's text and then its URL in parentheses, or only the URL when
// that is its text.
func (w *textWriter) link(n *html.Node) {
	href := strings.TrimSpace(getAttr(n, "href"))
	show := ""
	switch urlScheme(href) {
	case "http", "https":
		show = href
	case "mailto", "tel":
		show, _, _ = strings.Cut(href[strings.IndexByte(href, ':')+1:], "?")
	}
	start, flushes := w.inline.Len(), w.flushes
	w.children(n)
	if show == "" {
		return
	}
	if w.flushes != flushes { // a block inside the link: its URL after it
		w.inline.WriteString(" " + show)
		return
	}
	text := strings.TrimSpace(strings.ReplaceAll(w.inline.String()[start:], string(segmentBreak), " "))
	switch {
	case text == "":
		if img := findElement(n, atom.Img); img != nil && strings.TrimSpace(getAttr(img, "alt")) != "" {
			w.inline.WriteString(strings.TrimSpace(getAttr(img, "alt")) + " ")
		}
		w.inline.WriteString("(" + show + ")")
		if text = strings.TrimSpace(w.inline.String()[start:]); text == "("+show+")" {
			// no text at all: the bare URL reads better
			s := w.inline.String()[:start]
			w.inline.Reset()
			w.inline.WriteString(s + show)
		}
	case text == show || text == href:
	default:
		w.inline.WriteString(" (" + show + ")")
	}
}

// block ends the paragraph being collected; blank asks for a blank line after it.
func (w *textWriter) block(blank bool) {
	w.flush()
	if blank {
		w.ops = append(w.ops, textOp{kind: opBlank})
	}
}

// flush ends the paragraph collected so far.
func (w *textWriter) flush() {
	text := w.inline.String()
	w.inline.Reset()
	pre := w.pre > 0
	if pre && strings.TrimSpace(text) == "" || !pre && strings.Trim(text, " \n"+string(segmentBreak)) == "" {
		return // no lines: writes nothing and changes no state
	}
	w.flushes++
	w.ops = append(w.ops, textOp{kind: opParagraph, text: text, pre: pre, indent: w.indent})
}

// paragraphLines are the lines of a paragraph, wrapped to fit after indent.
func paragraphLines(text string, pre bool, indent string) []string {
	if pre {
		if strings.TrimSpace(text) == "" {
			return nil
		}
		return strings.Split(strings.TrimSuffix(strings.TrimPrefix(text, "\n"), "\n"), "\n")
	}
	var lines []string
	max := max(textWidth-stringWidth(indent), 20)
	for _, l := range strings.Split(normalizeSpace(text), "\n") {
		if l = strings.Trim(l, " "); l != "" {
			lines = append(lines, wrap(l, max)...)
		}
	}
	return lines
}

// layoutText writes the text part: each paragraph wrapped and prefixed, blank lines
// where they are due. fill, when not nil, fills in the paragraphs marked dynamic;
// the others use their lines wrapped beforehand.
func layoutText(ops []textOp, fill func(string) string) string {
	var out strings.Builder
	first, blank := "", false
	for i := range ops {
		op := &ops[i]
		switch op.kind {
		case opFirst:
			first = op.text
			continue
		case opBlank:
			blank = true
			continue
		}
		lines := op.lines
		switch {
		case fill != nil && op.dynamic:
			lines = paragraphLines(fill(op.text), op.pre, op.indent)
		case fill == nil:
			lines = paragraphLines(op.text, op.pre, op.indent)
		}
		if len(lines) == 0 {
			continue
		}
		if blank && out.Len() > 0 {
			out.WriteByte('\n')
		}
		blank = false
		for i, l := range lines {
			prefix := op.indent
			if i == 0 && first != "" {
				prefix, first = first, ""
			}
			out.WriteString(strings.TrimRight(prefix+l, " "))
			out.WriteByte('\n')
		}
	}
	return strings.TrimRight(out.String(), "\n") + "\n"
}

// collapseHTMLSpace makes each run of HTML white space one space, or one
// segmentBreak when it had a line break in it. A full-width space (U+3000) is text.
func collapseHTMLSpace(s string) string {
	var b strings.Builder
	inSpace, hadBreak := false, false
	for _, r := range s {
		switch r {
		case ' ', '\t', '\f', '\r', '\n':
			inSpace = true
			hadBreak = hadBreak || r == '\n'
			continue
		}
		if inSpace {
			b.WriteRune(spaceOrBreak(hadBreak))
			inSpace, hadBreak = false, false
		}
		b.WriteRune(r)
	}
	if inSpace {
		b.WriteRune(spaceOrBreak(hadBreak))
	}
	return b.String()
}

func spaceOrBreak(hadBreak bool) rune {
	if hadBreak {
		return segmentBreak
	}
	return ' '
}

// normalizeSpace makes each run of spaces and segment breaks one space, or nothing
// when it is only segment breaks between two wide characters, and takes spaces away
// from around hard line breaks.
func normalizeSpace(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r != ' ' && r != segmentBreak {
			b.WriteRune(r)
			continue
		}
		j, onlyBreaks := i, true
		for ; j < len(rs) && (rs[j] == ' ' || rs[j] == segmentBreak); j++ {
			onlyBreaks = onlyBreaks && rs[j] == segmentBreak
		}
		switch {
		case i == 0 || j == len(rs) || rs[i-1] == '\n' || rs[j] == '\n':
		case onlyBreaks && runeWidth(rs[i-1]) == 2 && runeWidth(rs[j]) == 2:
		default:
			b.WriteByte(' ')
		}
		i = j - 1
	}
	return b.String()
}

// Japanese line-breaking rules (kinsoku): a line does not start with a closing
// bracket, a small kana or punctuation, nor end with an opening bracket.
const (
	noLineStart = "、。，．,.・：；:;？！?!ー―‐〜～…‥)）]］}｝〕〉》」』】〙〗〟ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ々〻ゝゞヽヾ%％"
	noLineEnd   = "(（[［{｛〔〈《「『【〘〖〝"
)

// noStart and noEnd are the kinsoku sets, for quick lookups.
var noStart, noEnd = runeSet(noLineStart), runeSet(noLineEnd)

func runeSet(s string) map[rune]bool {
	m := make(map[rune]bool, len(s))
	for _, r := range s {
		m[r] = true
	}
	return m
}

// chunk is a piece of a line that wrap does not break: a Latin word or URL, one
// Japanese character, or several glued together by the kinsoku rules. It is
// s[start:end] of the line being wrapped.
type chunk struct {
	start, end int
	width      int
	space      bool // a space comes before it
	wide       bool
}

// wrap breaks a line of text into lines of at most max columns where it can: at
// spaces and between Japanese characters, never inside a character (combining marks
// and emoji sequences stay together), a Latin word or a URL. A chunk wider than max
// gets a line of its own.
func wrap(s string, max int) []string {
	chunks := make([]chunk, 0, len(s)/2)
	space, joinNext := false, false
	for i, r := range s {
		if r == ' ' {
			space = true
			continue
		}
		end := i + utf8.RuneLen(r)
		if r == utf8.RuneError {
			_, size := utf8.DecodeRuneInString(s[i:])
			end = i + size
		}
		w := runeWidth(r)
		last := len(chunks) - 1
		switch {
		case last >= 0 && !space && (w == 0 || joinNext):
			chunks[last].end = end
			chunks[last].width += w
		case last >= 0 && !space && w == 1 && !chunks[last].wide:
			chunks[last].end = end
			chunks[last].width += w
		default:
			chunks = append(chunks, chunk{start: i, end: end, width: w, space: space, wide: w == 2})
		}
		joinNext = r == '\u200D' // zero width joiner: the next emoji is part of this one
		space = false
	}
	// Glue what kinsoku forbids to separate. Glued chunks touch (no space between),
	// so the glued text is still one piece of s.
	glued := chunks[:0]
	for _, c := range chunks {
		if n := len(glued); n > 0 && !c.space && (startsWithAny(s[c.start:c.end], noStart) || endsWithAny(s[glued[n-1].start:glued[n-1].end], noEnd)) {
			glued[n-1].end = c.end
			glued[n-1].width += c.width
			glued[n-1].wide = c.wide
			continue
		}
		glued = append(glued, c)
	}

	var lines []string
	var line strings.Builder
	line.Grow(4 * max)
	lineWidth := 0
	for _, c := range glued {
		sp := 0
		if c.space && lineWidth > 0 {
			sp = 1
		}
		if lineWidth > 0 && lineWidth+sp+c.width > max {
			lines = append(lines, line.String())
			line = strings.Builder{}
			line.Grow(4 * max)
			lineWidth, sp = 0, 0
		}
		if sp == 1 {
			line.WriteByte(' ')
		}
		line.WriteString(s[c.start:c.end])
		lineWidth += sp + c.width
	}
	if line.Len() > 0 {
		lines = append(lines, line.String())
	}
	return lines
}

func startsWithAny(s string, set map[rune]bool) bool {
	r, size := utf8.DecodeRuneInString(s)
	return size > 0 && set[r]
}

func endsWithAny(s string, set map[rune]bool) bool {
	r, size := utf8.DecodeLastRuneInString(s)
	return size > 0 && set[r]
}

// runeWidth is the number of columns r takes in a Japanese mail reader: 2 for
// Japanese characters and other wide ones, 0 for marks that join the character
// before them, else 1.
func runeWidth(r rune) int {
	switch {
	case r >= 0x20 && r < 0x7F: // ASCII, most of every URL
		return 1
	case r >= 0x3041 && r <= 0x3096, r >= 0x309B && r <= 0x30FF, r >= 0x4E00 && r <= 0x9FFF: // kana and kanji, not the combining sound marks
		return 2
	case r == segmentBreak || r == '\u200D' || r >= 0xFE00 && r <= 0xFE0F || r >= 0xE0100 && r <= 0xE01EF:
		return 0
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) || r >= 0x1F3FB && r <= 0x1F3FF: // marks, skin tones
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	case width.EastAsianAmbiguous:
		if r >= 0x2000 { // ※, ○, ―, …: wide in Japanese fonts
			return 2
		}
	}
	return 1
}

func stringWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}
