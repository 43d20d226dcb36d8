// Package message turns templates into mail: it loads the marketers' template files
// under templates/, checks every one of them at load (front matter, template syntax,
// unknown fields, layouts, CSS), and renders a message for a lead: the subject, an
// HTML part with its CSS inlined and its links rewritten for tracking, a plain-text
// part made from the HTML, and the list of links a click can point back to.
//
// Templates see the lead and a few pure helpers (default, date, attr) and nothing
// else: no environment, file or network access. Lead values are hostile: they are
// escaped in every body and can never add HTML or Markdown to a message.
package message

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nurture-dev/nurture/engine/lang"
	"github.com/nurture-dev/nurture/engine/lead"
)

// ErrUnknownTemplate is returned by Render for a name that is not in the Set.
var ErrUnknownTemplate = errors.New("unknown template")

// DefaultLayout is the layout of a template whose front matter names none.
const DefaultLayout = "default"

// Error is a problem in a template file, with its position. Line and Column are
// 1-based; a Column of 0 means the position of the problem in the line is not known,
// and a Line of 0 that the problem is with the file as a whole.
type Error struct {
	File   string
	Line   int
	Column int
	Msg    string
	err    error        // the cause, such as ErrLimit
	text   lang.Message // Msg as a format and its arguments, when made by errorf
}

// errorf is the problem at line and column of file, with the message of format and
// args (a constant format with a translation in messages_ja.go).
func errorf(file string, line, column int, format string, args ...any) *Error {
	m := lang.New(format, args...)
	return &Error{File: file, Line: line, Column: column, Msg: m.String(), text: m}
}

// In formats the problem as Error does, with the message in l.
func (e *Error) In(l lang.Lang) string {
	msg := lang.Text(l, e.Msg)
	if e.text.Format != "" && e.text.String() == e.Msg {
		msg = e.text.In(l)
	}
	c := *e
	c.Msg = msg
	return c.Error()
}

// Unwrap returns the cause of the problem, when there is one to test for, such as
// ErrLimit.
func (e *Error) Unwrap() error { return e.err }

// Error formats the problem as "file:line:column: message", leaving out the
// parts of the position that are not known.
func (e *Error) Error() string {
	switch {
	case e.Line == 0:
		return e.File + ": " + e.Msg
	case e.Column == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
}

// Data is what a message is rendered from.
type Data struct {
	// Lead is the recipient. Nil renders the message for a lead with no fields
	// (previews), so every fallback shows.
	Lead *lead.Lead
	// UnsubscribeURL is the recipient's unsubscribe page, shown by the layout's
	// footer. A link to it is never rewritten for tracking.
	UnsubscribeURL string
	// Tracking rewrites links; nil means no rewriting (previews, tests).
	Tracking *Tracking
	// Alert is what an internal alert shows beyond the lead; nil for the lead's own
	// mail.
	Alert *Alert
	// Digest is what a sales rep's digest shows; nil in every other message.
	Digest *Digest
}

// Tracking says how the links of a message are tracked.
type Tracking struct {
	// Links returns the tracked URL of each trackable link, given them all at once
	// (in document order, HTML part), so that whoever tracks them can store them
	// first. An error fails the render.
	Links func(links []Link) ([]string, error)
	// PixelURL is the open pixel, appended as a 1×1 image at the end of <body>.
	// Empty adds no pixel.
	PixelURL string
	// HoneypotURL is a link no human can see or click, put before the pixel: a hit
	// on it comes from a machine. Empty adds no honeypot.
	HoneypotURL string
}

// track asks for the tracked URLs of links, one each; none are asked for when there
// are no links.
func (t *Tracking) track(links []Link) ([]string, error) {
	if len(links) == 0 {
		return nil, nil
	}
	urls, err := t.Links(links)
	if err != nil {
		return nil, fmt.Errorf("track links: %w", err)
	}
	if len(urls) != len(links) {
		return nil, fmt.Errorf("track links: %d URLs for %d links", len(urls), len(links))
	}
	return urls, nil
}

// EachLink makes a Tracking.Links that rewrites each link on its own with f, for
// trackers that store nothing (previews, tests).
func EachLink(f func(Link) string) func([]Link) ([]string, error) {
	return func(ls []Link) ([]string, error) {
		urls := make([]string, len(ls))
		for i, l := range ls {
			urls[i] = f(l)
		}
		return urls, nil
	}
}

// Rendered is a message ready to be sent.
type Rendered struct {
	// Subject is the subject line, on one line, of at most MaxSubject characters.
	Subject string
	// Preheader is the preview text shown after the subject in inboxes.
	Preheader string
	// From and ReplyTo are the addresses the template sets, empty when it sets none.
	From    string
	ReplyTo string
	// HTML is the full HTML document: CSS inlined, links rewritten when Tracking is
	// set, the honeypot and the open pixel at the end of <body>.
	HTML string
	// Text is the plain-text part made from the HTML, with links as "text (url)"
	// using the tracked URLs, wrapped at about 70 columns (a full-width character
	// counts as two) and never inside a character, a URL or a Latin word.
	Text string
	// Links are the trackable links of the HTML part in document order: every
	// http(s) link except those marked data-notrack and links to the unsubscribe
	// page. Link i is the one rewritten to the i-th URL Tracking.Links returned.
	Links []Link
}

// Link is a trackable link of a message.
type Link struct {
	// Index is the link's position among the message's trackable links, from 0.
	Index int
	// URL is the link's address as authored, after personalisation.
	URL string
	// Name is the link's data-name attribute (removed from the output), else its
	// text, trimmed to 60 characters. Scenarios wait for clicks on a named link.
	Name string
}

// Set is every template of a folder, parsed and checked.
type Set struct {
	templates map[string]*template
	layouts   map[string]*layout
}

// Names returns the names of the templates in the Set, sorted, such as
// "whitepaper/thanks".
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	names := make([]string, 0, len(s.templates))
	for name := range s.templates {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Has reports whether the Set has a template of that name. A nil Set has none.
func (s *Set) Has(name string) bool {
	if s == nil {
		return false
	}
	_, ok := s.templates[name]
	return ok
}

// Transactional reports whether the named template is marked "transactional: true":
// mail the lead asked for, which the frequency cap on marketing mail never holds
// back. An unknown name is not transactional.
func (s *Set) Transactional(name string) bool {
	if s == nil {
		return false
	}
	t, ok := s.templates[name]
	return ok && t.fm.transactional
}

// Render renders the named template for d.Lead. An error from Render is rare, since
// every template was rendered for sample leads when it was loaded; a name that is
// not in the Set is ErrUnknownTemplate.
func (s *Set) Render(name string, d Data) (*Rendered, error) {
	if !s.Has(name) {
		return nil, fmt.Errorf("render %q: %w", name, ErrUnknownTemplate)
	}
	t := s.templates[name]
	r, err := t.render(d)
	if err != nil {
		return nil, fmt.Errorf("render %q: %w", name, err)
	}
	return r, nil
}

// Load reads the templates under dir and its folders and checks each of them. A file
// named <path>.md (Markdown body) or <path>.html (HTML body) is the template <path>;
// layouts are dir/_layouts/<name>.html. Other folders and files whose names start
// with "_" or ".", README.md files and files with other extensions are not
// templates.
//
// Load returns every problem it found at once, as errors.Join of *Error values; the
// Set then holds the templates that have no problem. The Set is nil only when dir
// cannot be read at all.
func Load(dir string) (*Set, error) {
	type file struct {
		rel  string // slash-separated, relative to dir
		name string // for humans: dir joined with rel
	}
	var layoutFiles, templateFiles []file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // reported below when the file is read
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		base := d.Name()
		hidden := strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") || strings.EqualFold(base, "README.md")
		if d.IsDir() {
			if rel == "_layouts" {
				return nil
			}
			if hidden {
				return fs.SkipDir
			}
			return nil
		}
		f := file{rel: rel, name: filepath.ToSlash(filepath.Join(dir, filepath.FromSlash(rel)))}
		switch {
		case strings.HasPrefix(rel, "_layouts/"):
			if path.Dir(rel) == "_layouts" && path.Ext(rel) == ".html" && !hidden {
				layoutFiles = append(layoutFiles, f)
			}
		case hidden:
		case path.Ext(rel) == ".md" || path.Ext(rel) == ".html":
			templateFiles = append(templateFiles, f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load templates: %w", err)
	}

	s := &Set{templates: map[string]*template{}, layouts: map[string]*layout{}}
	var errs []*Error
	badLayouts := map[string]string{}
	for _, f := range layoutFiles {
		name := strings.TrimSuffix(path.Base(f.rel), ".html")
		src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.rel)))
		if err != nil {
			errs = append(errs, &Error{File: f.name, Msg: err.Error()})
			badLayouts[name] = f.name
			continue
		}
		l, err := parseLayout(f.name, name, string(src))
		if err != nil {
			errs = append(errs, asErrors(f.name, err)...)
			badLayouts[name] = f.name
			continue
		}
		s.layouts[name] = l
	}
	definedBy := map[string]string{}
	for _, f := range templateFiles {
		name := strings.TrimSuffix(f.rel, path.Ext(f.rel))
		if other, ok := definedBy[name]; ok {
			errs = append(errs, errorf(f.name, 0, 0, "template %s is also defined by %s", name, other))
			delete(s.templates, name)
			continue
		}
		definedBy[name] = f.name
		src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.rel)))
		if err != nil {
			errs = append(errs, &Error{File: f.name, Msg: err.Error()})
			continue
		}
		t, err := parseTemplate(f.name, name, string(src), s.layouts, badLayouts)
		if err != nil {
			errs = append(errs, asErrors(f.name, err)...)
			continue
		}
		s.templates[name] = t
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	joined := make([]error, len(errs))
	for i, e := range errs {
		joined[i] = e
	}
	return s, errors.Join(joined...)
}

// asErrors returns the *Error values in err, or err as a problem of the whole file.
func asErrors(file string, err error) []*Error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*Error
		for _, e := range j.Unwrap() {
			out = append(out, asErrors(file, e)...)
		}
		return out
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return []*Error{{File: file, Msg: err.Error()}}
}
