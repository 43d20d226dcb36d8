package message

import (
	"bytes"
	"crypto/rand"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/nurture-dev/nurture/engine/lead"
)

// The render cache. Rendering a message in full (Markdown, the layout, parsing the
// HTML, inlining CSS, the text part) costs about half a millisecond, and it is the
// same work for every lead but for the values printed. So a template is also
// executed with each printed value replaced by a numbered placeholder (a slot), and
// the per-message URLs by markers: the result, the message's shape, is the same for
// every lead that takes the same {{if}} branches. A shape is finished once; a
// message of a known shape is its finished HTML and text with the values and URLs
// filled in.
//
// A shape is used only when filling it in gives exactly what a full render gives:
// the first message of each shape is rendered both ways and compared, and shapes
// whose values land where filling in could differ (CSS, scripts, classes, the start
// of a URL, the address of a link that is not tracked...) are rendered in full. A
// message whose values have unusual white space, or are empty, is rendered in full.

// maxShapes bounds the shapes kept per template; messages of further shapes are
// rendered in full.
const maxShapes = 128

// renderCache is one template's shapes.
type renderCache struct {
	shapes sync.Map // key string → *shape
	n      atomic.Int32
}

// shape is a message finished with slots and markers in it.
type shape struct {
	ok    bool // false: messages of this shape are rendered in full
	html  []piece
	ops   []textOp
	links []Link
	cut   []bool // which link names to cut to 60 characters once filled in
}

// piece is a part of a shape's HTML: literal text, then what fills in after it.
type piece struct {
	lit  string
	kind pieceKind
	n    int // the slot, or the link
}

type pieceKind uint8

const (
	pieceEnd     pieceKind = iota // nothing after lit
	pieceValue                    // a slot in text or an attribute: the value, escaped
	pieceURLPart                  // a slot in a URL: the value, percent-encoded
	pieceMarker                   // a marker: its URL
)

// Markers stand for a message's own URLs in a shape. The .invalid domain cannot be an
// authored link's, and the random part no lead value can guess.
var (
	markerPrefix = "https://nurture-marker.invalid/" + rand.Text() + "/"
	unsubMarker  = markerPrefix + "u0z"
	pixelMarker  = markerPrefix + "o0z"
	trapMarker   = markerPrefix + "h0z"
)

func linkMarker(i int) string { return markerPrefix + "c" + strconv.Itoa(i) + "z" }

var markerRE = regexp.MustCompile(regexp.QuoteMeta(markerPrefix) + `([uohc])([0-9]+)z`)

// bodyMarker stands for the body in the layout executed with slots.
const bodyMarker = "\uE002"

// slotList collects the values a template executed with slots printed.
type slotList struct{ vals []string }

func (s *slotList) slot(v string) string {
	s.vals = append(s.vals, v)
	return placeholder(strconv.Itoa(len(s.vals) - 1))
}

// slotView is what a body sees when it is executed with slots: view, and the
// Slot method its printing actions end in.
type slotView struct {
	Lead           *lead.Lead
	UnsubscribeURL string
	Alert          *Alert
	Digest         *Digest
	slots          *slotList
}

// Slot prints v as a slot, but for the unsubscribe marker and HTML the layout is
// given (the body marker), which print as they are.
func (v *slotView) Slot(x any) any { return v.slots.print(x) }

// slotLayoutView is layoutView with the Slot method.
type slotLayoutView struct {
	Lead           *lead.Lead
	UnsubscribeURL string
	Subject        string
	Preheader      string
	Body           htmltemplate.HTML
	slots          *slotList
}

// Slot is slotView's.
func (v *slotLayoutView) Slot(x any) any { return v.slots.print(x) }

func (s *slotList) print(x any) any {
	v := value(x)
	if h, ok := v.(htmltemplate.HTML); ok && h == bodyMarker {
		return h
	}
	if u, ok := v.(SignedURL); ok && u.trusted() {
		// Not a value of the lead's: check sees it as written. (Alerts and digests,
		// the only messages with one, are never rendered from the cache.)
		return string(u)
	}
	str := printable(v)
	if str == unsubMarker {
		return str
	}
	return s.slot(str)
}

// renderCached renders a message from its shape, and reports false when the
// message must be rendered in full.
func (t *template) renderCached(d Data) (*Rendered, bool, error) {
	if d.Lead == nil || d.Alert != nil || d.Digest != nil || d.Tracking == nil || d.Tracking.Links == nil || d.UnsubscribeURL == "" {
		return nil, false, nil
	}
	v := view{Lead: d.Lead, UnsubscribeURL: d.UnsubscribeURL}
	subject, err := t.execSubject(v)
	if err != nil {
		return nil, false, nil
	}
	preheader, err := t.execText(t.preheader, t.fm.preheader, v)
	if err != nil {
		return nil, false, nil
	}
	slots := &slotList{}
	var body bytes.Buffer
	if t.markdown != nil {
		// A Markdown body prints the unsubscribe URL as a value, as a full render does.
		err = t.slotMarkdown.execute(&body, &slotView{Lead: d.Lead, UnsubscribeURL: d.UnsubscribeURL, slots: slots})
	} else {
		err = t.slotHTML.execute(&body, &slotView{Lead: d.Lead, UnsubscribeURL: unsubMarker, slots: slots})
	}
	if err != nil {
		// Such as {{template}} given other data than $, or {{index}} out of range for
		// this lead: the full render says what it makes of it.
		return nil, false, nil
	}
	bodySlots := len(slots.vals)
	var doc strings.Builder
	err = t.layout.slotTmpl.execute(&doc, &slotLayoutView{Lead: d.Lead, UnsubscribeURL: unsubMarker,
		Subject: subject, Preheader: preheader, Body: bodyMarker, slots: slots})
	if err != nil {
		return nil, false, nil
	}
	// Values filled in are not written by a template run, so not bounded by one: a
	// message whose values come near a run's output limit is rendered in full,
	// which keeps to it.
	printed := 0
	for _, v := range slots.vals {
		printed += len(v)
	}
	if printed > maxRunOutput/4 || slices.ContainsFunc(slots.vals, func(v string) bool { return !plainValue(v) }) {
		return nil, false, nil
	}
	key := fmt.Sprintf("%t%t\x00%s\x00%s", d.Tracking.PixelURL != "", d.Tracking.HoneypotURL != "", body.String(), doc.String())
	if s, ok := t.cache.shapes.Load(key); ok {
		sh := s.(*shape)
		if !sh.ok {
			return nil, false, nil
		}
		r, err := t.fromShape(sh, subject, preheader, slots.vals, d)
		return r, err == nil, err
	}
	if t.cache.n.Load() >= maxShapes {
		return nil, false, nil
	}
	sh := t.newShape(body.String(), doc.String(), bodySlots, len(slots.vals), d)
	var r *Rendered
	if sh.ok {
		// The first message of a shape is rendered both ways: the shape is used only
		// if they agree. The same links are tracked once.
		var asked []Link
		var urls []string
		links := d.Tracking.Links
		tracking := *d.Tracking
		tracking.Links = func(ls []Link) ([]string, error) {
			if urls != nil && slices.Equal(ls, asked) {
				return urls, nil
			}
			u, err := links(ls)
			asked, urls = slices.Clone(ls), u
			return u, err
		}
		d.Tracking = &tracking
		if r, err = t.fromShape(sh, subject, preheader, slots.vals, d); err != nil {
			return nil, false, err
		}
		full, err := t.renderFull(d)
		if err != nil || !sameRendered(r, full) {
			sh, r = &shape{}, full
		}
	}
	if _, loaded := t.cache.shapes.LoadOrStore(key, sh); !loaded {
		t.cache.n.Add(1)
	}
	return r, r != nil, nil
}

func (t *template) fromShape(sh *shape, subject, preheader string, vals []string, d Data) (*Rendered, error) {
	r, err := sh.fill(subject, preheader, vals, d)
	if err != nil {
		return nil, err
	}
	r.From, r.ReplyTo = t.fm.from.value, t.fm.replyTo.value
	return r, nil
}

// newShape finishes a message executed with slots. The shape is not ok when a value
// lands where filling it in might not give what a full render gives.
func (t *template) newShape(body, doc string, bodySlots, nslots int, d Data) *shape {
	if t.markdown != nil {
		var out bytes.Buffer
		if err := markdownRenderer.Convert([]byte(body), &out); err != nil {
			return &shape{}
		}
		body = out.String()
	}
	if strings.Count(doc, bodyMarker) != 1 || strings.Contains(body, bodyMarker) {
		return &shape{}
	}
	doc = strings.Replace(doc, bodyMarker, body, 1)
	tracking := &Tracking{Links: EachLink(func(l Link) string { return linkMarker(l.Index) })}
	if d.Tracking.PixelURL != "" {
		tracking.PixelURL = pixelMarker
	}
	if d.Tracking.HoneypotURL != "" {
		tracking.HoneypotURL = trapMarker
	}
	f, err := finish(doc, Data{Lead: d.Lead, UnsubscribeURL: unsubMarker, Tracking: tracking}, true)
	if err != nil {
		return &shape{}
	}
	// Percent-encoded slots are filled in as a full render of Markdown fills them
	// (escapeURLComponent); html/template encodes URLs its own way.
	urlPartOK := func(n int) bool { return t.markdown != nil && n < bodySlots }
	if !slotsWellPlaced(f.root, urlPartOK) {
		return &shape{}
	}
	sh := &shape{ok: true, html: pieces(f.html), ops: f.ops, links: f.links, cut: f.cutNames}
	seen := make([]bool, nslots)
	for _, p := range sh.html {
		if p.kind == pieceValue || p.kind == pieceURLPart {
			seen[p.n] = true
		}
		if p.kind == pieceURLPart && !urlPartOK(p.n) {
			return &shape{}
		}
	}
	for _, l := range sh.links {
		for _, p := range append(pieces(l.URL), pieces(l.Name)...) {
			if p.kind == pieceValue || p.kind == pieceURLPart {
				seen[p.n] = true
			}
		}
	}
	if slices.Contains(seen, false) {
		return &shape{} // a value printed where it was escaped another way (CSS, script)
	}
	for i := range sh.ops {
		op := &sh.ops[i]
		if op.kind != opParagraph {
			continue
		}
		if op.dynamic = len(pieces(op.text)) > 1; !op.dynamic {
			op.lines = paragraphLines(op.text, op.pre, op.indent)
		}
	}
	return sh
}

// valueAttrs are the attributes a value may be filled into: text for people, which
// html/template escapes as it escapes text. (It escapes data-* attributes by the name
// after "data-": data-style as CSS, data-onclick as script.)
var valueAttrs = map[string]bool{"alt": true, "title": true, "aria-label": true}

// rawText are the elements whose text html.Render writes unescaped.
var rawText = map[atom.Atom]bool{atom.Iframe: true, atom.Noembed: true, atom.Noframes: true, atom.Noscript: true,
	atom.Plaintext: true, atom.Script: true, atom.Style: true, atom.Xmp: true}

// slotsWellPlaced reports whether every slot of a finished document is where it can
// be filled in: in text, in an attribute for people, or percent-encoded in a URL
// after its scheme, and never in the address of a link that is not tracked (the
// text part compares that address with the link's text).
func slotsWellPlaced(root *html.Node, urlPartOK func(int) bool) bool {
	ok := true
	var visit func(n *html.Node, raw bool)
	visit = func(n *html.Node, raw bool) {
		switch n.Type {
		case html.TextNode:
			for _, p := range pieces(n.Data) {
				if p.kind == pieceURLPart && !urlPartOK(p.n) || raw && p.kind != pieceEnd {
					ok = false
				}
			}
		case html.CommentNode, html.DoctypeNode:
			if len(pieces(n.Data)) > 1 {
				ok = false
			}
		case html.ElementNode:
			raw = raw || rawText[n.DataAtom]
			if (n.DataAtom == atom.A || n.DataAtom == atom.Area) && hasAttr(n, "href") && !isLinkMarker(getAttr(n, "href")) &&
				len(pieces(textContent(n))) > 1 {
				// The text part compares a link's text with its address, which a value
				// in the text of an untracked link could equal.
				ok = false
			}
			for _, a := range n.Attr {
				for _, p := range pieces(a.Val) {
					switch p.kind {
					case pieceValue:
						ok = ok && valueAttrs[a.Key]
					case pieceURLPart:
						ok = ok && urlAttrs[a.Key] && urlPartOK(p.n) && (n.DataAtom != atom.A && n.DataAtom != atom.Area || a.Key != "href")
					}
				}
				if strings.Contains(a.Key, "\uE000") {
					ok = false
				}
			}
		}
		for c := n.FirstChild; c != nil && ok; c = c.NextSibling {
			visit(c, raw)
		}
	}
	visit(root, false)
	return ok
}

// isLinkMarker reports whether u is the marker of a tracked link.
func isLinkMarker(u string) bool {
	m := markerRE.FindStringSubmatch(u)
	return m != nil && m[0] == u && m[1] == "c"
}

// plainValue reports whether a value fills in as a full render would print it: not
// empty (an empty paragraph or link text changes the text part), no white space but
// single spaces inside, nothing a placeholder is made of.
func plainValue(v string) bool {
	if v == "" || v[0] == ' ' || v[len(v)-1] == ' ' || strings.Contains(v, "  ") || !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if r != ' ' && unicode.IsSpace(r) || r < ' ' || r >= '\uE000' && r <= '\uE1FF' {
			return false
		}
	}
	return true
}

// pieces splits s at its slots and markers. The last piece has kind pieceEnd.
func pieces(s string) []piece {
	var out []piece
	for s != "" {
		at, end, p := nextFill(s)
		if at < 0 {
			break
		}
		p.lit = s[:at]
		out = append(out, p)
		s = s[end:]
	}
	return append(out, piece{lit: s})
}

// nextFill finds the first slot or marker in s.
func nextFill(s string) (at, end int, p piece) {
	at = -1
	if m := rawPlaceholder.FindStringIndex(s); m != nil {
		if n, err := strconv.Atoi(decodePlaceholder(strings.TrimSuffix(strings.TrimPrefix(s[m[0]:m[1]], "\uE000"), "\uE001"))); err == nil {
			at, end, p = m[0], m[1], piece{kind: pieceValue, n: n}
		}
	}
	if m := escapedPlaceholder.FindStringSubmatchIndex(s); m != nil && (at < 0 || m[0] < at) {
		inner, err := url.PathUnescape(s[m[2]:m[3]])
		if n, cerr := strconv.Atoi(decodePlaceholder(inner)); err == nil && cerr == nil {
			at, end, p = m[0], m[1], piece{kind: pieceURLPart, n: n}
		}
	}
	if m := markerRE.FindStringSubmatchIndex(s); m != nil && (at < 0 || m[0] < at) {
		n, _ := strconv.Atoi(s[m[4]:m[5]])
		kind := map[string]int{"u": -1, "o": -2, "h": -3}[s[m[2]:m[3]]]
		if kind == 0 {
			kind = n
		}
		at, end, p = m[0], m[1], piece{kind: pieceMarker, n: kind}
	}
	return at, end, p
}

// fill makes the message of a shape from its values and URLs.
func (sh *shape) fill(subject, preheader string, vals []string, d Data) (*Rendered, error) {
	var links []Link
	if len(sh.links) > 0 {
		links = make([]Link, len(sh.links))
	}
	for i, l := range sh.links {
		l.URL = fillIn(l.URL, vals, nil, d, false)
		l.Name = fillIn(l.Name, vals, nil, d, false)
		if sh.cut[i] {
			l.Name = truncate(l.Name, 60)
		}
		links[i] = l
	}
	urls, err := d.Tracking.track(links)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, p := range sh.html {
		b.WriteString(p.lit)
		writeFill(&b, p, vals, urls, d, true)
	}
	text := layoutText(sh.ops, func(s string) string { return fillIn(s, vals, urls, d, false) })
	return &Rendered{Subject: subject, Preheader: preheader, HTML: b.String(), Text: text, Links: links}, nil
}

// fillIn fills the slots and markers of s.
func fillIn(s string, vals, urls []string, d Data, escape bool) string {
	ps := pieces(s)
	if len(ps) == 1 {
		return s
	}
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.lit)
		writeFill(&b, p, vals, urls, d, escape)
	}
	return b.String()
}

func writeFill(b *strings.Builder, p piece, vals, urls []string, d Data, escape bool) {
	var s string
	switch p.kind {
	case pieceEnd:
		return
	case pieceValue:
		s = vals[p.n]
	case pieceURLPart:
		b.WriteString(escapeURLComponent(vals[p.n]))
		return
	case pieceMarker:
		switch p.n {
		case -1:
			s = d.UnsubscribeURL
		case -2:
			s = d.Tracking.PixelURL
		case -3:
			s = d.Tracking.HoneypotURL
		default:
			s = urls[p.n]
		}
	}
	if escape {
		s = renderEscaper.Replace(s)
	}
	b.WriteString(s)
}

// renderEscaper escapes text and attribute values as html.Render does.
var renderEscaper = strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "\r", "&#13;")

func sameRendered(a, b *Rendered) bool {
	return a.Subject == b.Subject && a.Preheader == b.Preheader && a.HTML == b.HTML && a.Text == b.Text &&
		slices.Equal(a.Links, b.Links)
}
