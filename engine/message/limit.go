package message

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
	"text/template/parse"
	"time"

	"github.com/nurture-dev/nurture/engine/lang"
)

// Every run of a template (a subject, a preheader, a body, a layout), at load, in
// nurture check and when a message is sent, is bounded: Go's templates have no
// budget of their own, so {{range 100000}}{{range 100000}}{{end}}{{end}} would run
// for hours and write nothing. At load, every {{range}}, {{template}} and function
// call is given a command that charges the run for what it is about to do (runCost),
// and the run writes through a writer that stops it past maxRunOutput. Templates
// that call themselves are refused at load.
const (
	// maxRunSteps bounds the work of a run: a {{range}} costs its number of passes
	// times the size of its body, a {{template}} call the size of what it calls, a
	// function call one. A newsletter takes a few hundred.
	maxRunSteps = 100_000
	// maxRunOutput bounds what a run writes, in bytes: five times what Gmail shows
	// before it clips a message.
	maxRunOutput = 512 << 10
	// maxRunText bounds the text the function calls of a run make (printf, print,
	// html...), in bytes, so that {{$x = printf "%s%s" $x $x}} cannot double a
	// string until memory runs out.
	maxRunText = 4 << 20
	// maxRunTime bounds the time of a run, should a step be slower than thought.
	// The limits above keep every run far shorter; this one is loose, since a
	// machine under load must not fail an ordinary message.
	maxRunTime = 5 * time.Second
)

// ErrLimit is the error of a template run that went over a limit: a template that
// loops too often, calls itself, writes or computes too much text or runs too long.
var ErrLimit = errors.New("over the limits of a template run")

// The limits a run goes over, as messages (lang.Error) that a template's problem
// keeps, so that it can be said in the marketer's language.
var (
	errTooManySteps = lang.Errorf("%w: it does more than %d steps (each pass of a {{range}} counts as its size): "+
		"a {{range}} over a large number or a long list?", ErrLimit, maxRunSteps)
	errTooMuchOutput = lang.Errorf("%w: it writes more than %d KiB", ErrLimit, maxRunOutput>>10)
	errTooMuchText   = lang.Errorf("%w: its function calls make more than %d KiB of text", ErrLimit, maxRunText>>10)
	errTooLong       = lang.Errorf("%w: it runs longer than %s", ErrLimit, maxRunTime)
)

// Names of the functions that charge a run, added by bound; not meant for authors.
const (
	rangeFunc    = "_range"    // {{range}}: _range size list
	templateFunc = "_template" // {{template}}: _template size [data]
	textFunc     = "_text"     // after a function call: _text result
)

// runCost is what one run has spent. Each executing copy of a template has its own
// (see runner), so its functions can charge it.
type runCost struct {
	steps    int
	text     int
	deadline time.Time
}

func (c *runCost) start() {
	*c = runCost{deadline: time.Now().Add(maxRunTime)}
}

func (c *runCost) charge(steps, text int) error {
	c.steps += steps
	c.text += text
	switch {
	case c.steps > maxRunSteps:
		return errTooManySteps
	case c.text > maxRunText:
		return errTooMuchText
	case time.Now().After(c.deadline):
		return errTooLong
	}
	return nil
}

// funcs are the charging functions bound to c. Each returns its last argument, so
// the pipeline it ends computes what it did before.
func (c *runCost) funcs() map[string]any {
	return map[string]any{
		rangeFunc: func(size int, v any) (any, error) {
			return v, c.charge(min(passes(v), maxRunSteps+1)*size, 0)
		},
		templateFunc: func(size int, v ...any) (any, error) {
			if err := c.charge(size, 0); err != nil || len(v) == 0 {
				return nil, err
			}
			return v[0], nil
		},
		textFunc: func(v any) (any, error) {
			n := 0
			if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
				n = rv.Len()
			}
			return v, c.charge(1, n)
		},
	}
}

// passes is how many times {{range}} goes through v.
func passes(v any) int {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return 0
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Array, reflect.Slice, reflect.Map, reflect.String, reflect.Chan:
		return rv.Len()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(max(0, min(rv.Int(), maxRunSteps+1)))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return int(min(rv.Uint(), maxRunSteps+1))
	}
	return 1
}

// cappedWriter writes to w until a run has written maxRunOutput bytes.
type cappedWriter struct {
	w    io.Writer
	left int
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if len(p) > c.left {
		return 0, errTooMuchOutput
	}
	c.left -= len(p)
	return c.w.Write(p)
}

// runner executes a template within the limits. A template's functions are fixed
// when it is parsed and it may run for many messages at once, so each run takes a
// copy (a clone) whose charging functions are bound to its own runCost; copies are
// kept for the next runs.
type runner struct {
	copy func() (*copied, error)
	pool sync.Pool // *copied
}

type copied struct {
	cost runCost
	exec func(io.Writer, any) error
}

// textRunner and htmlRunner take over t, which must not be executed but through
// the runner (an html/template cannot be cloned once executed).
func textRunner(t *texttemplate.Template) *runner {
	return &runner{copy: func() (*copied, error) {
		c, err := t.Clone()
		if err != nil {
			return nil, fmt.Errorf("clone template: %w", err)
		}
		x := &copied{}
		c.Funcs(x.cost.funcs())
		x.exec = c.Execute
		return x, nil
	}}
}

func htmlRunner(t *htmltemplate.Template) *runner {
	return &runner{copy: func() (*copied, error) {
		c, err := t.Clone()
		if err != nil {
			return nil, fmt.Errorf("clone template: %w", err)
		}
		x := &copied{}
		c.Funcs(x.cost.funcs())
		escapeHTMLCopy(c)
		x.exec = c.Execute
		return x, nil
	}}
}

// execute runs the template for data into w, stopping it at the first limit it
// goes over.
func (r *runner) execute(w io.Writer, data any) error {
	x, _ := r.pool.Get().(*copied)
	if x == nil {
		var err error
		if x, err = r.copy(); err != nil {
			return err
		}
	}
	x.cost.start()
	err := x.exec(&cappedWriter{w: w, left: maxRunOutput}, data)
	r.pool.Put(x)
	return err
}

// bound adds the charging functions to the templates of trees (one file's, those
// its {{define}}s make included), and refuses templates that call themselves.
// It runs before anything else is added to the trees.
func bound(trees []*parse.Tree) error {
	if err := checkCalls(trees); err != nil {
		return err
	}
	sizes := map[string]int{}
	for _, t := range trees {
		sizes[t.Name] = size(t.Root)
	}
	for _, t := range trees {
		boundList(t.Root, sizes)
	}
	return nil
}

func boundList(l *parse.ListNode, sizes map[string]int) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			boundPipe(n.Pipe, len(n.Pipe.Decl) == 0)
		case *parse.IfNode:
			boundBranch(&n.BranchNode, sizes)
		case *parse.WithNode:
			boundBranch(&n.BranchNode, sizes)
		case *parse.RangeNode:
			boundBranch(&n.BranchNode, sizes)
			n.Pipe.Cmds = append(n.Pipe.Cmds, charge(n.Pos, rangeFunc, size(n.List)))
		case *parse.TemplateNode:
			if n.Pipe == nil {
				n.Pipe = &parse.PipeNode{NodeType: parse.NodePipe, Pos: n.Pos, Line: n.Line}
			}
			boundPipe(n.Pipe, false)
			n.Pipe.Cmds = append(n.Pipe.Cmds, charge(n.Pos, templateFunc, sizes[n.Name]+1))
		case *parse.ListNode:
			boundList(n, sizes)
		}
	}
}

func boundBranch(b *parse.BranchNode, sizes map[string]int) {
	boundPipe(b.Pipe, false)
	boundList(b.List, sizes)
	boundList(b.ElseList, sizes)
}

// boundPipe charges every function call of p and of the pipelines in it for the
// text it makes, but the last of an action that prints: what that makes is
// written, and html/template wants its escapers html and urlquery last.
func boundPipe(p *parse.PipeNode, prints bool) {
	if p == nil {
		return
	}
	cmds := make([]*parse.CommandNode, 0, 2*len(p.Cmds))
	for i, c := range p.Cmds {
		for _, a := range c.Args {
			switch a := a.(type) {
			case *parse.PipeNode:
				boundPipe(a, false)
			case *parse.ChainNode:
				if inner, ok := a.Node.(*parse.PipeNode); ok {
					boundPipe(inner, false)
				}
			}
		}
		cmds = append(cmds, c)
		id, ok := c.Args[0].(*parse.IdentifierNode)
		if ok && !strings.HasPrefix(id.Ident, "_") && !(prints && i == len(p.Cmds)-1) {
			cmds = append(cmds, charge(c.Pos, textFunc, -1))
		}
	}
	p.Cmds = cmds
}

// charge makes the command "fn size", or "fn" for a size below 0.
func charge(pos parse.Pos, fn string, size int) *parse.CommandNode {
	args := []parse.Node{parse.NewIdentifier(fn).SetPos(pos)}
	if size >= 0 {
		s := strconv.Itoa(size)
		args = append(args, &parse.NumberNode{NodeType: parse.NodeNumber, Pos: pos, IsInt: true, Int64: int64(size), Text: s})
	}
	return &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: args}
}

// size is the number of nodes under l, at least 1: what one pass through l costs.
func size(l *parse.ListNode) int {
	n := 1
	if l == nil {
		return n
	}
	for _, c := range l.Nodes {
		n++
		switch c := c.(type) {
		case *parse.ActionNode:
			n += len(c.Pipe.Cmds)
		case *parse.IfNode:
			n += size(c.List) + size(c.ElseList)
		case *parse.WithNode:
			n += size(c.List) + size(c.ElseList)
		case *parse.RangeNode:
			n += size(c.List) + size(c.ElseList)
		case *parse.ListNode:
			n += size(c)
		}
	}
	return n
}

// checkCalls refuses a template that calls itself, directly or through others: Go
// would follow it 100,000 calls deep before giving up.
func checkCalls(trees []*parse.Tree) error {
	byName := map[string]*parse.Tree{}
	for _, t := range trees {
		byName[t.Name] = t
	}
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var visit func(t *parse.Tree) error
	visit = func(t *parse.Tree) error {
		state[t.Name] = open
		var err error
		walkNodes(t.Root, func(n *parse.TemplateNode) {
			callee := byName[n.Name]
			if err != nil || callee == nil {
				return
			}
			switch state[n.Name] {
			case open:
				loc, _ := t.ErrorContext(n)
				err = fmt.Errorf("template: %s: %w", loc, lang.Errorf("%w: {{template %q}} calls itself", ErrLimit, n.Name))
			case unseen:
				err = visit(callee)
			}
		})
		state[t.Name] = done
		return err
	}
	for _, t := range trees {
		if state[t.Name] == unseen {
			if err := visit(t); err != nil {
				return err
			}
		}
	}
	return nil
}

// walkNodes calls f for every {{template}} under l.
func walkNodes(l *parse.ListNode, f func(*parse.TemplateNode)) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.TemplateNode:
			f(n)
		case *parse.IfNode:
			walkNodes(n.List, f)
			walkNodes(n.ElseList, f)
		case *parse.WithNode:
			walkNodes(n.List, f)
			walkNodes(n.ElseList, f)
		case *parse.RangeNode:
			walkNodes(n.List, f)
			walkNodes(n.ElseList, f)
		case *parse.ListNode:
			walkNodes(n, f)
		}
	}
}
