package message

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	texttemplate "text/template"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"

	"github.com/nurture-dev/nurture/engine/lang"
	"github.com/nurture-dev/nurture/engine/lead"
)

// template is one message template: its front matter and its body.
type template struct {
	name, file string
	fm         *frontMatter
	subject    *runner
	preheader  *runner
	markdown   *runner // a Markdown body, or
	html       *runner // an HTML body
	layout     *layout

	// The body again, its printing actions ending in $.Slot, for the render cache.
	slotMarkdown *runner
	slotHTML     *runner
	cache        renderCache
}

// layout is the HTML document a body is rendered into.
type layout struct {
	name, file string
	src        string
	tmpl       *runner
	slotTmpl   *runner // for the render cache
}

// view is what a subject, preheader or body template sees. It has no func fields
// (nor does lead.Lead), so the builtin call cannot reach anything.
type view struct {
	Lead           *lead.Lead
	UnsubscribeURL string
	Alert          *Alert
	Digest         *Digest
}

// layoutView is what a layout sees.
type layoutView struct {
	Lead           *lead.Lead
	UnsubscribeURL string
	Subject        string
	Preheader      string
	Body           htmltemplate.HTML
}

// markdownRenderer renders Markdown bodies: CommonMark with GitHub's tables, strikethrough
// and bare links, soft line breaks between Japanese characters dropped (as a
// Japanese reader expects), and the marketer's raw HTML kept.
var markdownRenderer = goldmark.New(
	goldmark.WithExtensions(
		extension.Table,
		extension.Strikethrough,
		extension.Linkify,
		extension.NewCJK(extension.WithEastAsianLineBreaks(extension.EastAsianLineBreaksCSS3Draft), extension.WithEscapedSpace()),
	),
	goldmark.WithRendererOptions(html.WithUnsafe()),
)

// normalize returns the text of a template file with a UTF-8 byte order mark
// removed and CRLF line ends made LF.
func normalize(file string, src string) (string, error) {
	if !utf8.ValidString(src) {
		return "", &Error{File: file, Msg: "the file is not UTF-8"}
	}
	src = strings.TrimPrefix(src, "\uFEFF")
	return strings.ReplaceAll(src, "\r\n", "\n"), nil
}

// parseLayout parses and checks a layout.
func parseLayout(file, name, src string) (*layout, error) {
	src, err := normalize(file, src)
	if err != nil {
		return nil, err
	}
	tmpl, err := newHTML("layout").Parse(src)
	if err != nil {
		return nil, templateError(file, err, src, pos{1, 1})
	}
	if !usesField(htmlTrees(tmpl), "Body") {
		return nil, &Error{File: file, Line: 1, Msg: "the layout never shows the message: it needs {{.Body}}"}
	}
	if err := bound(htmlTrees(tmpl)); err != nil {
		return nil, templateError(file, err, src, pos{1, 1})
	}
	addToActions(htmlTrees(tmpl), valueFunc)
	slotTmpl := htmltemplate.Must(newHTML("layout").Parse(src))
	_ = bound(htmlTrees(slotTmpl)) // the same template: checked above
	addSlotToActions(htmlTrees(slotTmpl), true)
	l := &layout{name: name, file: file, src: src, tmpl: htmlRunner(tmpl), slotTmpl: htmlRunner(slotTmpl)}
	if err := checkStyles(file, src, 1); err != nil {
		return nil, err
	}
	for _, sample := range sampleLeads() {
		const marker = "nurture-layout-check"
		out, err := l.execute(layoutView{
			Lead:           sample,
			UnsubscribeURL: sampleUnsubscribeURL,
			Subject:        "件名",
			Preheader:      "プリヘッダー",
			Body:           "<p>" + marker + "</p>",
		})
		if err != nil {
			return nil, err
		}
		if !strings.Contains(out, marker) {
			return nil, &Error{File: file, Line: 1, Msg: "the layout does not show {{.Body}} for every lead"}
		}
		if _, err := finish(out, Data{Lead: sample, UnsubscribeURL: sampleUnsubscribeURL, Tracking: sampleTracking()}, false); err != nil {
			return nil, &Error{File: file, Msg: err.Error()}
		}
		var doc strings.Builder
		err = l.slotTmpl.execute(&doc, &slotLayoutView{Lead: sample, UnsubscribeURL: unsubMarker,
			Subject: "件名", Preheader: "プリヘッダー", Body: bodyMarker, slots: &slotList{}})
		if err == nil {
			if err := checkLinkValues(file, doc.String()); err != nil {
				return nil, err
			}
		}
	}
	return l, nil
}

func (l *layout) execute(v layoutView) (string, error) {
	var b strings.Builder
	if err := l.tmpl.execute(&b, v); err != nil {
		return "", templateError(l.file, err, l.src, pos{1, 1})
	}
	return b.String(), nil
}

// parseTemplate parses and checks a template, rendering it for sample leads.
func parseTemplate(file, name, src string, layouts map[string]*layout, badLayouts map[string]string) (*template, error) {
	src, err := normalize(file, src)
	if err != nil {
		return nil, err
	}
	fm, err := parseFrontMatter(file, src)
	if err != nil {
		return nil, err
	}
	t := &template{name: name, file: file, fm: fm}
	var errs []error

	l, ok := layouts[fm.layout.value]
	if !ok {
		at := fm.layout.at
		if !fm.layout.set {
			at = pos{1, 0}
		}
		e := errorf(file, at.line, at.column, "layout %q not found: there is no _layouts/%s.html", fm.layout.value, fm.layout.value)
		if bad, isBad := badLayouts[fm.layout.value]; isBad {
			e = errorf(file, at.line, at.column, "layout %q has problems (see %s)", fm.layout.value, bad)
		}
		errs = append(errs, e)
	}
	t.layout = l

	if t.subject, err = parseText(file, "subject", fm.subject); err != nil {
		errs = append(errs, err)
	}
	if t.preheader, err = parseText(file, "preheader", fm.preheader); err != nil {
		errs = append(errs, err)
	}
	body := pos{fm.bodyLine, 1}
	switch path.Ext(file) {
	case ".md":
		var md *texttemplate.Template
		if md, err = newText("body").Parse(fm.body); err == nil {
			err = bound(textTrees(md))
		}
		if err == nil {
			addToActions(textTrees(md), markdownFunc)
			slot := texttemplate.Must(newText("body").Parse(fm.body))
			_ = bound(textTrees(slot)) // the same template: checked above
			addSlotToActions(textTrees(slot), false)
			t.markdown, t.slotMarkdown = textRunner(md), textRunner(slot)
		}
	default:
		var h *htmltemplate.Template
		if h, err = newHTML("body").Parse(fm.body); err == nil {
			err = bound(htmlTrees(h))
		}
		if err == nil {
			addToActions(htmlTrees(h), valueFunc)
			slot := htmltemplate.Must(newHTML("body").Parse(fm.body))
			_ = bound(htmlTrees(slot)) // the same template: checked above
			addSlotToActions(htmlTrees(slot), true)
			t.html, t.slotHTML = htmlRunner(h), htmlRunner(slot)
		}
	}
	if err != nil {
		errs = append(errs, templateError(file, err, fm.body, body))
	} else if err := checkStyles(file, fm.body, fm.bodyLine); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	// Render for a lead with every field filled and for one with none, so that an
	// unknown field or a function given the wrong type is found now, not when a
	// scenario sends.
	for i, sample := range sampleLeads() {
		r, err := t.renderFull(Data{Lead: sample, UnsubscribeURL: sampleUnsubscribeURL, Tracking: sampleTracking()})
		if err != nil {
			return nil, err
		}
		if i == 1 && r.Subject == "" {
			return nil, &Error{File: file, Line: fm.subject.at.line, Column: fm.subject.at.column, Msg: "the subject is empty for a lead with no fields: add a fallback with default"}
		}
		if err := t.checkLinks(sample, nil); err != nil {
			return nil, err
		}
		if strings.HasPrefix(name, "alerts/") {
			// An alert is sent with .Alert set: check that path too.
			if _, err := t.renderFull(Data{Lead: sample, Alert: sampleAlert()}); err != nil {
				return nil, err
			}
			if err := t.checkLinks(sample, sampleAlert()); err != nil {
				return nil, err
			}
		}
	}
	if strings.HasPrefix(name, "alerts/") {
		// A digest is sent with .Digest set and no lead.
		if _, err := t.renderFull(Data{Digest: sampleDigest()}); err != nil {
			return nil, err
		}
		if err := t.checkLinks(nil, sampleDigest()); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// checkLinks executes the body with slots for l (and data, an *Alert or a *Digest,
// nil for the lead's own mail) and refuses it when a value sets the scheme or host of a link
// (checkLinkValues). Only a SignedURL may: it prints as itself, not as a slot. A
// body that cannot be executed with slots (a {{template}} given other data than $)
// is not checked.
func (t *template) checkLinks(l *lead.Lead, data any) error {
	var body bytes.Buffer
	if l == nil {
		l = &lead.Lead{}
	}
	v := &slotView{Lead: l, UnsubscribeURL: unsubMarker, slots: &slotList{}}
	switch d := data.(type) {
	case *Alert:
		v.Alert = d
	case *Digest:
		v.Digest = d
	}
	if t.markdown != nil {
		var md bytes.Buffer
		if err := t.slotMarkdown.execute(&md, v); err != nil {
			return nil
		}
		if err := markdownRenderer.Convert(md.Bytes(), &body); err != nil {
			return nil
		}
	} else if err := t.slotHTML.execute(&body, v); err != nil {
		return nil
	}
	return checkLinkValues(t.file, body.String())
}

// parseText parses a front-matter value as a text/template.
func parseText(file, name string, f field) (*runner, error) {
	t, err := newText(name).Parse(f.value)
	if err == nil {
		err = bound(textTrees(t))
	}
	if err != nil {
		return nil, templateError(file, err, f.value, f.at)
	}
	addToActions(textTrees(t), valueFunc)
	return textRunner(t), nil
}

func (t *template) execText(tmpl *runner, f field, v view) (string, error) {
	var b strings.Builder
	if err := tmpl.execute(&b, v); err != nil {
		return "", templateError(t.file, err, f.value, f.at)
	}
	return oneLine(b.String()), nil
}

// MaxSubject is the most characters a subject has: a longer one is cut to
// MaxSubject-1 characters and "…". Inboxes show far fewer, and a header line of
// more than 998 bytes is refused by mail servers.
const MaxSubject = 150

// execSubject renders the subject, cut to MaxSubject characters.
func (t *template) execSubject(v view) (string, error) {
	s, err := t.execText(t.subject, t.fm.subject, v)
	if err != nil || utf8.RuneCountInString(s) <= MaxSubject {
		return s, err
	}
	return strings.TrimRight(string([]rune(s)[:MaxSubject-1]), " ") + "…", nil
}

// render renders the template for d, from the render cache when it can.
func (t *template) render(d Data) (*Rendered, error) {
	if r, ok, err := t.renderCached(d); ok || err != nil {
		return r, err
	}
	return t.renderFull(d)
}

// renderFull renders the template for d.
func (t *template) renderFull(d Data) (*Rendered, error) {
	l := d.Lead
	if l == nil {
		l = &lead.Lead{}
	}
	v := view{Lead: l, UnsubscribeURL: d.UnsubscribeURL, Alert: d.Alert, Digest: d.Digest}
	subject, err := t.execSubject(v)
	if err != nil {
		return nil, err
	}
	preheader, err := t.execText(t.preheader, t.fm.preheader, v)
	if err != nil {
		return nil, err
	}
	var body strings.Builder
	bodyAt := pos{t.fm.bodyLine, 1}
	if t.markdown != nil {
		var md bytes.Buffer
		if err := t.markdown.execute(&md, v); err != nil {
			return nil, templateError(t.file, err, t.fm.body, bodyAt)
		}
		var out bytes.Buffer
		if err := markdownRenderer.Convert(md.Bytes(), &out); err != nil {
			return nil, fmt.Errorf("markdown: %w", err)
		}
		body.WriteString(fillPlaceholders(out.String()))
	} else if err := t.html.execute(&body, v); err != nil {
		return nil, templateError(t.file, err, t.fm.body, bodyAt)
	}

	doc, err := t.layout.execute(layoutView{
		Lead:           l,
		UnsubscribeURL: d.UnsubscribeURL,
		Subject:        subject,
		Preheader:      preheader,
		Body:           htmltemplate.HTML(body.String()),
	})
	if err != nil {
		return nil, err
	}
	out, err := finish(doc, d, false)
	if err != nil {
		return nil, err
	}
	return &Rendered{
		Subject:   subject,
		Preheader: preheader,
		From:      t.fm.from.value,
		ReplyTo:   t.fm.replyTo.value,
		HTML:      out.html,
		Text:      out.text,
		Links:     out.links,
	}, nil
}

// templateErrorRE matches the position text/template and html/template put at the
// start of their errors: "template: body:3:14: executing ..." or
// "html/template:body:3: ...".
var templateErrorRE = regexp.MustCompile(`(?s)^(?:html/)?template: ?[^:\s]*(?::(\d+))?(?::(\d+))?: (.*)$`)

var executingRE = regexp.MustCompile(`^executing "[^"]*" at `)

// limitCallRE is how an error of a function that charges a run starts.
var limitCallRE = regexp.MustCompile(`^at <_[a-z]+[^>]*>: error calling _[a-z]+: `)

// quotedRE finds the token a parse error is about: unexpected "]" in operand,
// function "env" not defined.
var quotedRE = regexp.MustCompile(`(?:unexpected|function) "([^"]+)"`)

// templateError turns an error of a template whose text src starts in the file at
// start into an *Error with the position in the file. The column is counted in
// characters; it is known only where the template package gives one.
func templateError(file string, err error, src string, start pos) *Error {
	var cause error
	if errors.Is(err, ErrLimit) {
		cause = ErrLimit
	}
	m := templateErrorRE.FindStringSubmatch(err.Error())
	if m == nil {
		return &Error{File: file, Line: start.line, Msg: err.Error(), err: cause}
	}
	line := 1 // the error does not say: the start of the template
	if m[1] != "" {
		line, _ = strconv.Atoi(m[1])
	}
	msg := executingRE.ReplaceAllString(m[3], "at ")
	if errors.Is(err, ErrLimit) {
		// "at <_range 3>: error calling _range: ..." names functions authors never wrote.
		msg = limitCallRE.ReplaceAllString(msg, "")
	}
	switch {
	case msg == "unexpected EOF":
		msg = "the template ends too early: an {{if}}, {{range}}, {{with}} or {{define}} has no {{end}}"
	case strings.Contains(msg, "non-text context"):
		msg, _, _ = strings.Cut(msg, ": {") // drop html/template's internal state
	}
	e := &Error{File: file, Line: start.line + line - 1, Msg: msg, err: cause}
	if f := fieldSlip(msg); f.Format != "" {
		e.Msg, e.text = f.String(), f
	} else if l := limitMessage(err); l.Format != "" && l.String() == msg {
		e.text = l
	}
	lines := strings.Split(src, "\n")
	if m[1] == "" || start.column == 0 || line < 1 || line > len(lines) {
		return e
	}
	text := lines[line-1]
	col := -1
	if m[2] != "" {
		col, _ = strconv.Atoi(m[2]) // a 0-based byte offset in the line
	} else if q := quotedRE.FindStringSubmatch(e.Msg); q != nil {
		// A parse error has no column: find the token it quotes, inside an action.
		from := max(strings.Index(text, "{{"), 0)
		if i := strings.Index(text[from:], q[1]); i >= 0 {
			col = from + i
		}
	}
	if col < 0 || col > len(text) {
		return e
	}
	e.Column = utf8.RuneCountInString(text[:col]) + 1
	if line == 1 {
		e.Column += start.column - 1
	}
	return e
}

// limitMessage is the message of the limit a run went over, kept by the error the
// template package made of it, or the zero Message.
func limitMessage(err error) lang.Message {
	var le *lang.Error
	if errors.As(err, &le) && errors.Is(le, ErrLimit) {
		return le.Message
	}
	return lang.Message{}
}

// fieldErrorRE matches Go's error for a field a value does not have: "at
// <.Lead.Nmae>: can't evaluate field Nmae in type *lead.Lead".
var fieldErrorRE = regexp.MustCompile(`^at <([^>]*)>: can't evaluate field (\w+) in type (\S+)$`)

// fieldTypes are the values a template's fields are read from, by the name Go's
// errors give their types (without a leading *).
var fieldTypes = map[string]reflect.Type{
	"lead.Lead":          reflect.TypeFor[lead.Lead](),
	"message.view":       reflect.TypeFor[view](),
	"message.layoutView": reflect.TypeFor[layoutView](),
}

// fieldSlip adds to Go's error for a misspelt field the field it was likely meant
// to be; in Japanese it is said in the template's words, without Go's type names.
// It is the zero Message when msg is not Go's error for an unknown field.
func fieldSlip(msg string) lang.Message {
	m := fieldErrorRE.FindStringSubmatch(msg)
	if m == nil {
		return lang.Message{}
	}
	path, field := m[1], m[2]
	if !strings.HasSuffix(path, "."+field) {
		path = "." + field
	}
	if t, ok := fieldTypes[strings.TrimPrefix(m[3], "*")]; ok {
		if near := nearestField(field, t); near != "" {
			return lang.New("at <%s>: can't evaluate field %s in type %s (did you mean %s?)", m[1], field, m[3], strings.TrimSuffix(path, field)+near)
		}
	}
	return lang.New("at <%s>: can't evaluate field %s in type %s: the fields a template can show are listed in templates/README.md", m[1], field, m[3])
}

// nearestField is the exported field of t whose name is nearest to name, when it
// is near enough to be a typo, or "".
func nearestField(name string, t reflect.Type) string {
	best, bestD := "", 3
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		if d := lang.EditDistance(strings.ToLower(name), strings.ToLower(f.Name)); d < bestD {
			best, bestD = f.Name, d
		}
	}
	return best
}
