package message

import (
	"fmt"
	htmltemplate "html/template"
	"reflect"
	"strconv"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"time"

	"github.com/nurture-dev/nurture/engine/lead"
)

// Names of the functions the loader adds to every action that prints, the way
// html/template adds its escapers. They are not meant for authors.
const (
	valueFunc    = "_value"    // a nil value or nil pointer prints as "", a pointer as what it points to
	markdownFunc = "_markdown" // _value, then hidden from Markdown (see placeholder.go)
)

// japan is the time zone dates are shown in. Japan has had no daylight saving time
// since 1951, so a fixed zone needs no time zone database.
var japan = time.FixedZone("JST", 9*60*60)

// funcs are the functions templates may call besides Go's builtins. Each is pure:
// none reads the environment, a file, the network or the clock.
func funcs() map[string]any {
	return map[string]any{
		"default":    fnDefault,
		"date":       fnDate,
		"attr":       fnAttr,
		valueFunc:    value,
		markdownFunc: markdownValue,
		pathFunc:     escapeURLPath,
	}
}

// markdownValue hides a value printed into a Markdown body from Markdown: a
// placeholder filled in, escaped, after the Markdown is rendered. A trusted
// SignedURL gets a placeholder of its own kind, filled in whole even in a link's
// address.
func markdownValue(v any) string {
	if u, ok := value(v).(SignedURL); ok && u.trusted() {
		return signedPlaceholder(string(u))
	}
	return placeholder(printable(v))
}

// newText and newHTML start a template with nurture's functions, and a missing map
// key printing nothing.
func newText(name string) *texttemplate.Template {
	return texttemplate.New(name).Option("missingkey=zero").Funcs(funcs())
}

func newHTML(name string) *htmltemplate.Template {
	return htmltemplate.New(name).Option("missingkey=zero").Funcs(funcs())
}

// fnDefault returns v, or def when v is empty: missing, nil, a zero number, an empty
// string, slice or map. It is written to be piped into:
// {{.Lead.LastName | default "ご担当者"}}.
func fnDefault(def any, v ...any) any {
	if len(v) == 0 || empty(v[0]) {
		return def
	}
	return value(v[0])
}

func empty(v any) bool {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return true
	}
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return true
		}
		return empty(rv.Elem().Interface())
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() == 0
	}
	return rv.IsZero()
}

// fnDate formats a time, or a pointer to one, with a Go layout in Japan time:
// {{date "2006年1月2日" .Lead.CreatedAt}}. A nil or zero time is "".
func fnDate(layout string, t any) (string, error) {
	switch t := t.(type) {
	case nil:
		return "", nil
	case time.Time:
		if t.IsZero() {
			return "", nil
		}
		return t.In(japan).Format(layout), nil
	case *time.Time:
		if t == nil || t.IsZero() {
			return "", nil
		}
		return t.In(japan).Format(layout), nil
	}
	return "", fmt.Errorf("date formats a time, not %T", t)
}

// fnAttr returns a lead's custom attribute as text, or "" when it has none:
// {{attr .Lead "業種区分"}}.
func fnAttr(l *lead.Lead, key string) string {
	if l == nil {
		return ""
	}
	switch v := l.Attributes[key].(type) {
	case nil:
		return ""
	case string:
		return v
	case float64: // numbers decoded from JSON
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// value is what a template prints for v: nothing for nil or a nil pointer (not
// "<nil>" or "<no value>"), the pointed-to value for a pointer, a SignedURL that
// is not trusted percent-encoded, else v itself, so that html/template still sees
// its own safe types.
func value(v any) any {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) {
		if rv.IsNil() {
			return ""
		}
		if _, ok := rv.Interface().(fmt.Stringer); ok {
			break
		}
		if _, ok := rv.Interface().(error); ok {
			break
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return ""
	}
	if u, ok := rv.Interface().(SignedURL); ok && !u.trusted() {
		// Not a URL the engine could have made: one part of a URL at most, never a
		// link's whole address.
		return escapeURLComponent(string(u))
	}
	return rv.Interface()
}

func printable(v any) string {
	switch v := value(v).(type) {
	case string:
		return v
	case htmltemplate.HTML: // already safe HTML meant for an HTML body
		return string(v)
	default:
		return fmt.Sprint(v)
	}
}

// addToActions appends fn to the pipeline of every action of t that prints, in all
// the templates t defines. It runs before t is first executed, which is when
// html/template adds its escapers after it.
func addToActions(trees []*parse.Tree, fn string) {
	appendToActions(trees, fn == valueFunc, func(t *parse.Tree, pos parse.Pos) parse.Node {
		return parse.NewIdentifier(fn).SetTree(t).SetPos(pos)
	})
}

// addSlotToActions appends the data's method $.Slot instead, for the render cache
// (cache.go).
func addSlotToActions(trees []*parse.Tree, html bool) {
	appendToActions(trees, html, func(*parse.Tree, parse.Pos) parse.Node {
		return &parse.VariableNode{NodeType: parse.NodeVariable, Ident: []string{"$", "Slot"}}
	})
}

// appendToActions appends the command cmd makes to every action that prints. In an
// HTML template, actions that end in html or urlquery are left alone: they are
// already text, and html/template allows those escapers only last.
func appendToActions(trees []*parse.Tree, html bool, cmd func(*parse.Tree, parse.Pos) parse.Node) {
	var visit func(t *parse.Tree, l *parse.ListNode)
	visit = func(t *parse.Tree, l *parse.ListNode) {
		if l == nil {
			return
		}
		for _, n := range l.Nodes {
			switch n := n.(type) {
			case *parse.ActionNode:
				p := n.Pipe
				if p == nil || len(p.Decl) > 0 || len(p.Cmds) == 0 {
					continue // {{$x := ...}} prints nothing
				}
				last := p.Cmds[len(p.Cmds)-1]
				if id, ok := last.Args[0].(*parse.IdentifierNode); ok && html && (id.Ident == "html" || id.Ident == "urlquery") {
					continue
				}
				p.Cmds = append(p.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{cmd(t, n.Pos)}})
			case *parse.IfNode:
				visit(t, n.List)
				visit(t, n.ElseList)
			case *parse.RangeNode:
				visit(t, n.List)
				visit(t, n.ElseList)
			case *parse.WithNode:
				visit(t, n.List)
				visit(t, n.ElseList)
			case *parse.ListNode:
				visit(t, n)
			}
		}
	}
	for _, t := range trees {
		if t != nil && t.Root != nil {
			visit(t, t.Root)
		}
	}
}

func textTrees(t *texttemplate.Template) []*parse.Tree {
	var trees []*parse.Tree
	for _, t := range t.Templates() {
		trees = append(trees, t.Tree)
	}
	return trees
}

func htmlTrees(t *htmltemplate.Template) []*parse.Tree {
	var trees []*parse.Tree
	for _, t := range t.Templates() {
		trees = append(trees, t.Tree)
	}
	return trees
}

// usesField reports whether any template in trees refers to the field .name of the
// data, such as .Body.
func usesField(trees []*parse.Tree, name string) bool {
	found := false
	var visit func(n parse.Node)
	visit = func(n parse.Node) {
		if found || n == nil {
			return
		}
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				visit(c)
			}
		case *parse.ActionNode:
			visit(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				visit(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				visit(a)
			}
		case *parse.FieldNode:
			found = len(n.Ident) > 0 && n.Ident[0] == name
		case *parse.IfNode:
			visit(n.Pipe)
			visit(n.List)
			visit(n.ElseList)
		case *parse.RangeNode:
			visit(n.Pipe)
			visit(n.List)
			visit(n.ElseList)
		case *parse.WithNode:
			visit(n.Pipe)
			visit(n.List)
			visit(n.ElseList)
		case *parse.TemplateNode:
			visit(n.Pipe)
		}
	}
	for _, t := range trees {
		if t != nil && t.Root != nil {
			visit(t.Root)
		}
	}
	return found
}

// oneLine joins the lines of a rendered subject with spaces, so that no lead value
// can add a header line.
func oneLine(s string) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	out := lines[:0]
	for _, l := range lines {
		if l = strings.Trim(l, " \t"); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, " ")
}
