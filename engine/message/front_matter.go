package message

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/nurture-dev/nurture/engine/lang"
	"github.com/nurture-dev/nurture/engine/yamldepth"
)

// frontMatter is the YAML between the "---" lines at the top of a template file.
type frontMatter struct {
	subject, preheader, from, replyTo, layout field
	// transactional is true for a message the lead asked for (a download link, a
	// receipt): the frequency cap on marketing mail does not hold it back.
	transactional bool
	body          string // the rest of the file
	bodyLine      int    // the line of the file the body starts on
}

// field is a front-matter value and where it is in the file.
type field struct {
	value string
	set   bool
	key   pos // the key
	at    pos // the first character of the value; at.column is 0 when unknown
}

type pos struct{ line, column int }

var yamlPositionRE = regexp.MustCompile(`\[\d+:\d+\]`)

// maxFrontMatter bounds a template's front matter, checked before it is parsed: it
// holds a subject and a few other keys, a few hundred bytes.
const maxFrontMatter = 8 << 10

// maxFrontMatterDepth bounds how deeply front matter nests lists and mappings,
// checked before it is parsed (the YAML parser's time and memory grow with the
// square of the depth). Front matter is one level of keys; deeper is an error anyway.
const maxFrontMatterDepth = 20

// knownKeys are the front-matter keys, in the order error messages list them.
var knownKeys = []string{"subject", "preheader", "from", "reply_to", "layout", "transactional"}

// parseFrontMatter splits src into its front matter and body and reads the front
// matter. Positions in the errors it returns are positions in src.
func parseFrontMatter(file, src string) (*frontMatter, error) {
	lines := strings.SplitAfter(src, "\n")
	if len(lines) == 0 || strings.TrimRight(lines[0], " \t\n") != "---" {
		return nil, &Error{File: file, Line: 1, Column: 1, Msg: `a template starts with front matter: a "---" line, "subject: ..." and the other keys, and another "---" line`}
	}
	end := -1
	for i := 1; i < len(lines); i++ {
		if strings.TrimRight(lines[i], " \t\n") == "---" {
			end = i
			break
		}
	}
	if end < 0 {
		return nil, &Error{File: file, Line: 1, Column: 1, Msg: `the front matter is not closed by a "---" line`}
	}
	fm := &frontMatter{body: strings.Join(lines[end+1:], ""), bodyLine: end + 2}
	const firstLine = 2 // the front matter's line 1 is the file's line 2

	yml := []byte(strings.Join(lines[1:end], ""))
	if len(yml) > maxFrontMatter {
		return nil, errorf(file, firstLine, 1, "the front matter is larger than %d bytes; it holds a subject and a few other keys", maxFrontMatter)
	}
	var deep *yamldepth.Error
	if errors.As(yamldepth.Check(yml, maxFrontMatterDepth), &deep) {
		return nil, errorf(file, deep.Line+firstLine-1, deep.Column, "front matter: %v; it holds a subject and a few other keys", deep)
	}
	doc, err := parser.ParseBytes(yml, 0)
	if err != nil {
		var ye interface {
			GetToken() *token.Token
			GetMessage() string
		}
		if errors.As(err, &ye) && ye.GetToken() != nil {
			p := ye.GetToken().Position
			// Positions inside the message are the YAML's: make them the file's.
			msg := yamlPositionRE.ReplaceAllStringFunc(ye.GetMessage(), func(m string) string {
				var line, col int
				fmt.Sscanf(m, "[%d:%d]", &line, &col)
				return fmt.Sprintf("%d:%d", line+firstLine-1, col)
			})
			return nil, &Error{File: file, Line: p.Line + firstLine - 1, Column: p.Column, Msg: "front matter: " + msg, text: lang.New("front matter: %s", msg)}
		}
		return nil, &Error{File: file, Line: firstLine, Msg: "front matter: " + err.Error(), text: lang.New("front matter: %s", err.Error())}
	}
	var values []*ast.MappingValueNode
	if len(doc.Docs) > 1 {
		return nil, &Error{File: file, Line: firstLine, Msg: "front matter: only one YAML document is allowed"}
	}
	if len(doc.Docs) == 1 && doc.Docs[0].Body != nil {
		switch body := doc.Docs[0].Body.(type) {
		case *ast.MappingNode:
			values = body.Values
		case *ast.MappingValueNode:
			values = []*ast.MappingValueNode{body}
		case *ast.CommentGroupNode:
		default:
			p := body.GetToken().Position
			return nil, &Error{File: file, Line: p.Line + firstLine - 1, Column: p.Column, Msg: `front matter: expected keys and values such as "subject: ..."`}
		}
	}

	var errs []error
	for _, mv := range values {
		kt := mv.Key.GetToken()
		key := kt.Value
		if s, ok := mv.Key.(*ast.StringNode); ok {
			key = s.Value
		}
		kp := pos{kt.Position.Line + firstLine - 1, kt.Position.Column}
		var f *field
		switch key {
		case "subject":
			f = &fm.subject
		case "preheader":
			f = &fm.preheader
		case "from":
			f = &fm.from
		case "reply_to":
			f = &fm.replyTo
		case "layout":
			f = &fm.layout
		case "transactional":
			switch b, ok := mv.Value.(*ast.BoolNode); {
			case ok:
				fm.transactional = b.Value
			default:
				p := mv.Value.GetToken().Position
				errs = append(errs, &Error{File: file, Line: p.Line + firstLine - 1, Column: p.Column,
					Msg: "transactional must be true or false"})
			}
			continue
		default:
			errs = append(errs, errorf(file, kp.line, kp.column, "unknown front-matter key %q (known keys: %s)", key, strings.Join(knownKeys, ", ")))
			continue
		}
		value, at, ok := scalar(mv.Value)
		at.line += firstLine - 1
		if !ok {
			errs = append(errs, errorf(file, at.line, at.column, "%s must be text", key))
			continue
		}
		*f = field{value: value, set: true, key: kp, at: at}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	switch {
	case !fm.subject.set:
		errs = append(errs, &Error{File: file, Line: 1, Column: 1, Msg: "the front matter has no subject: every message needs one"})
	case strings.TrimSpace(fm.subject.value) == "":
		errs = append(errs, &Error{File: file, Line: fm.subject.key.line, Column: fm.subject.key.column, Msg: "the subject is empty"})
	}
	for _, f := range []struct {
		name string
		f    field
	}{{"from", fm.from}, {"reply_to", fm.replyTo}} {
		if !f.f.set {
			continue
		}
		if _, err := mail.ParseAddress(f.f.value); err != nil {
			errs = append(errs, errorf(file, f.f.at.line, f.f.at.column, "%s %q is not an address such as \"ナーチャー株式会社 <info@example.com>\": %v", f.name, f.f.value, err))
		}
	}
	if fm.layout.set && strings.TrimSpace(fm.layout.value) == "" {
		errs = append(errs, &Error{File: file, Line: fm.layout.at.line, Column: fm.layout.at.column, Msg: "the layout is empty"})
	}
	if !fm.layout.set {
		fm.layout.value = DefaultLayout
	}
	return fm, errors.Join(errs...)
}

// scalar returns the text of a YAML scalar and where its text starts (column 0 when
// that is not known), or false when n is not a scalar.
func scalar(n ast.Node) (string, pos, bool) {
	tk := n.GetToken()
	p := pos{tk.Position.Line, tk.Position.Column}
	switch v := n.(type) {
	case *ast.StringNode:
		if tk.Type == token.DoubleQuoteType || tk.Type == token.SingleQuoteType {
			p.column++ // the quote
		}
		if strings.Contains(tk.Origin, "\n") && strings.Contains(strings.TrimSpace(tk.Origin), "\n") {
			p.column = 0 // folded over several lines: columns no longer line up
		}
		return v.Value, p, true
	case *ast.LiteralNode:
		return v.Value.Value, pos{p.line + 1, 0}, true
	case *ast.NullNode:
		return "", p, true
	case ast.ScalarNode:
		return tk.Value, p, true
	}
	return "", p, false
}
