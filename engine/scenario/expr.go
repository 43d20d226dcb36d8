package scenario

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	exprparser "github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/expr-lang/expr/vm/runtime"

	"github.com/nurture-dev/nurture/engine/lead"
)

// Env is what a condition sees: the lead, the event at hand (empty before a step and
// for scheduled triggers), the time, and a few pure helpers. Nothing in it reaches the
// environment, files or the network.
type Env struct {
	Lead  LeadEnv   `expr:"lead"`
	Event EventEnv  `expr:"event"`
	Now   time.Time `expr:"now"`

	// DaysSince and HoursSince measure from Now; they are set by NewEnv.
	DaysSince  func(t time.Time) float64 `expr:"days_since"`
	HoursSince func(t time.Time) float64 `expr:"hours_since"`
	// HasTag reports whether the lead has a tag.
	HasTag func(tag string) bool `expr:"has_tag"`

	// budget is what is left of one evaluation's budget; Bool sets it.
	budget *budget
	// history answers the history functions (visited, submitted, opened_count…);
	// nil where the lead's past is not known.
	history History
}

// History is what a lead did before now, for the history functions of conditions.
// Count counts the lead's events of a kind since a time (zero: ever) that match:
// the URL contains match (page_visited), the form is match (form_submitted, "" for
// any); opens and clicks count only when a person made them.
type History interface {
	Count(kind string, match string, since time.Time) (int, error)
}

// WithHistory gives the lead's conditions its past, for the history functions.
func (l LeadEnv) WithHistory(h History) LeadEnv {
	l.history = h
	return l
}

// historyFuncs are the history functions conditions may call, with the event kind
// each counts.
var historyFuncs = map[string]string{
	"visited": "page_visited", "visit_count": "page_visited",
	"submitted": "form_submitted", "submit_count": "form_submitted",
	"opened_count": "email_opened", "clicked_count": "email_clicked",
}

// maxHistoryCalls bounds the history look-ups of one evaluation, each a query.
const maxHistoryCalls = 20

// historyCall answers a history function: args are the environment, then the
// function's own (a match unless it counts opens or clicks, then a window such as
// "30d", optional for visited and submitted).
func historyCall(name string, args []any) (int, error) {
	env, _ := args[0].(*Env)
	b := budgetOf(args[0])
	b.queries++
	if b.queries > maxHistoryCalls {
		return 0, fmt.Errorf("%w: more than %d history look-ups", ErrExprBudget, maxHistoryCalls)
	}
	kind := historyFuncs[name]
	var match, window string
	rest := args[1:]
	if kind == "page_visited" || kind == "form_submitted" {
		match, _ = rest[0].(string)
		rest = rest[1:]
	}
	if len(rest) > 0 {
		window, _ = rest[0].(string)
	}
	var since time.Time
	if window != "" {
		d, err := parseDuration(window)
		if err != nil {
			return 0, fmt.Errorf("%s: %q: %w", name, window, err)
		}
		now := time.Now()
		if env != nil {
			now = env.Now
		}
		since = now.Add(-d)
	}
	if env == nil || env.history == nil {
		return 0, fmt.Errorf("%s: the lead's history is not known here", name)
	}
	return env.history.Count(kind, match, since)
}

// LeadEnv is the lead as conditions see it. Unknown numbers are 0 and unknown text "".
type LeadEnv struct {
	ID             int64          `expr:"id"`
	Email          string         `expr:"email"`
	FirstName      string         `expr:"first_name"`
	LastName       string         `expr:"last_name"`
	Company        string         `expr:"company"`
	Department     string         `expr:"department"`
	Title          string         `expr:"title"`
	Phone          string         `expr:"phone"`
	Employees      int            `expr:"employees"`
	Industry       string         `expr:"industry"`
	Country        string         `expr:"country"`
	Timezone       string         `expr:"timezone"`
	Source         string         `expr:"source"`
	Tags           []string       `expr:"tags"`
	Attributes     map[string]any `expr:"attributes"`
	Consent        string         `expr:"consent"`
	Stage          string         `expr:"stage"`
	Score          int            `expr:"score"`
	Grade          string         `expr:"grade"`
	CreatedAt      time.Time      `expr:"created_at"`
	StageChangedAt time.Time      `expr:"stage_changed_at"`
	BANT           BANTEnv        `expr:"bant"`

	history History
}

// BANTEnv is what sales recorded of the lead's Budget, Authority, Need and
// Timeframe; Complete is true when all four are.
type BANTEnv struct {
	Budget    string `expr:"budget"`
	Authority string `expr:"authority"`
	Need      string `expr:"need"`
	Timeframe string `expr:"timeframe"`
	Complete  bool   `expr:"complete"`
}

// EventEnv is an event as conditions see it. Form, URL and Link are lifted out of the
// properties for the event types that carry them; Props has all of them.
type EventEnv struct {
	Type  string         `expr:"type"`
	Form  string         `expr:"form"`
	URL   string         `expr:"url"`
	Link  string         `expr:"link"` // the link's name, for email_clicked
	From  string         `expr:"from"` // stage_changed
	To    string         `expr:"to"`   // stage_changed
	At    time.Time      `expr:"at"`
	Props map[string]any `expr:"props"`
}

// NewEnv makes the environment for one evaluation.
func NewEnv(l LeadEnv, e EventEnv, now time.Time) *Env {
	return &Env{
		Lead: l, Event: e, Now: now,
		DaysSince:  func(t time.Time) float64 { return sinceIn(now, t, 24*time.Hour) },
		HoursSince: func(t time.Time) float64 { return sinceIn(now, t, time.Hour) },
		HasTag: func(tag string) bool {
			for _, t := range l.Tags {
				if t == tag {
					return true
				}
			}
			return false
		},
		history: l.history,
	}
}

// sinceIn is how many units passed from t to now; a zero t is infinitely long ago.
func sinceIn(now, t time.Time, unit time.Duration) float64 {
	if t.IsZero() {
		return math.Inf(1)
	}
	return float64(now.Sub(t)) / float64(unit)
}

// LeadEnvOf is the environment's view of a stored lead.
func LeadEnvOf(l *lead.Lead) LeadEnv {
	e := LeadEnv{
		ID: l.ID, Email: l.Email, FirstName: l.FirstName, LastName: l.LastName, Company: l.Company,
		Department: l.Department, Title: l.Title, Phone: l.Phone, Industry: l.Industry,
		Country: l.Country, Timezone: l.Timezone, Source: l.Source, Tags: l.Tags,
		Attributes: l.Attributes, Consent: l.Consent, Stage: l.Stage, Score: l.Score,
		Grade: l.Grade, CreatedAt: l.CreatedAt, StageChangedAt: l.StageChangedAt,
		BANT: BANTEnv{Budget: l.BANT.Budget, Authority: l.BANT.Authority, Need: l.BANT.Need,
			Timeframe: l.BANT.Timeframe, Complete: l.BANT.Complete()},
	}
	if l.Employees != nil {
		e.Employees = *l.Employees
	}
	if e.Tags == nil {
		e.Tags = []string{}
	}
	if e.Attributes == nil {
		e.Attributes = map[string]any{}
	}
	return e
}

// Lead is the stored lead that e is the view of, as far as the view goes (the
// inverse of LeadEnvOf), for rendering a template for a simulated lead. Employees
// of 0 is taken as not known.
func (e LeadEnv) Lead() *lead.Lead {
	l := &lead.Lead{
		ID: e.ID, Email: e.Email, FirstName: e.FirstName, LastName: e.LastName, Company: e.Company,
		Department: e.Department, Title: e.Title, Phone: e.Phone, Industry: e.Industry,
		Country: e.Country, Timezone: e.Timezone, Source: e.Source, Tags: slices.Clone(e.Tags),
		Attributes: maps.Clone(e.Attributes), Consent: e.Consent, Stage: e.Stage, Score: e.Score,
		Grade: e.Grade, CreatedAt: e.CreatedAt, StageChangedAt: e.StageChangedAt,
		BANT: lead.BANT{Budget: e.BANT.Budget, Authority: e.BANT.Authority, Need: e.BANT.Need, Timeframe: e.BANT.Timeframe},
	}
	if e.Employees != 0 {
		n := e.Employees
		l.Employees = &n
	}
	return l
}

// EventEnvOf is the environment's view of an event.
func EventEnvOf(typ string, at time.Time, props map[string]any) EventEnv {
	if props == nil {
		props = map[string]any{}
	}
	str := func(k string) string { s, _ := props[k].(string); return s }
	e := EventEnv{Type: typ, At: at, Props: props, Form: str("form"), URL: str("url"),
		From: str("from"), To: str("to"), Link: str("link_name")}
	return e
}

// Expr is a compiled condition with where it was written.
type Expr struct {
	Source string
	Pos    Pos
	prog   *vm.Program
}

// Conditions come from files that marketers edit, so every condition is compiled and
// run in one sandbox, here: a condition may only use the builtins listed in
// allowedBuiltins, and each evaluation has a budget of loop iterations, bytes of text
// made and time, on top of the memory budget of expr's own machine. An evaluation
// over budget is an error (a condition that fails counts as false), never a crash.
const (
	// maxExprSource bounds a condition's text; a real one is a line or two.
	maxExprSource = 8 << 10

	// maxExprNodes bounds an expression's size, so that a file cannot make one that
	// takes long to compile or run.
	maxExprNodes = 2000

	// maxExprMemory is the memory budget of expr's machine for one evaluation: it
	// counts the elements of the lists and maps a condition makes (a range 1..n is
	// n of them).
	maxExprMemory = 10_000

	// maxExprSteps bounds the loop iterations of one evaluation: each time the body of
	// all, any, filter, map, count, sum, reduce and the like runs counts one.
	maxExprSteps = 10_000

	// maxExprBytes bounds the text one evaluation makes, with + and the builtins
	// that make text (upper, lower, trim, split, toBase64…).
	maxExprBytes = 1 << 20

	// maxExprTime bounds one evaluation's time, looked at on each loop iteration and
	// each piece of text made. It is wall-clock time, not the condition's now.
	maxExprTime = 100 * time.Millisecond
)

// ErrExprBudget is an evaluation that went over its budget: too many loop
// iterations, too much text or memory, or too long.
var ErrExprBudget = errors.New("the condition went over its budget")

// allowedBuiltins are the builtins of expr a condition may call. The others are left
// out because they make text or lists whose size the budget cannot see before they
// are made (repeat, join, replace, toJSON, string) or because they build any amount of
// data from a little text (fromJSON); expr builtins added in later versions stay out
// until they are listed here.
var allowedBuiltins = []string{
	// Lists, with a body run per element.
	"all", "none", "any", "one", "filter", "map", "find", "findIndex", "findLast", "findLastIndex",
	"count", "sum", "groupBy", "sortBy", "reduce",
	// Lists and maps.
	"len", "first", "last", "get", "take", "keys", "values", "toPairs", "fromPairs",
	"reverse", "uniq", "concat", "flatten", "sort", "max", "min", "mean", "median",
	// Numbers and types.
	"type", "abs", "ceil", "floor", "round", "int", "float",
	"bitand", "bitor", "bitxor", "bitnand", "bitnot", "bitshl", "bitshr", "bitushr",
	// Text.
	"trim", "trimPrefix", "trimSuffix", "upper", "lower", "split", "splitAfter",
	"indexOf", "lastIndexOf", "hasPrefix", "hasSuffix", "toBase64", "fromBase64",
	// Time.
	"now", "duration", "date", "timezone",
}

// chargedBuiltins are the allowed builtins that make text, charged to the
// evaluation's bytes once made: each makes at most a few times its input.
var chargedBuiltins = []string{"trim", "trimPrefix", "trimSuffix", "upper", "lower", "split", "splitAfter", "toBase64", "fromBase64"}

// The functions the sandbox calls from the expressions it rewrites; each takes the
// environment first, for its budget.
const (
	fnStep   = "__step"   // counts one loop iteration
	fnConcat = "__concat" // string + string, charged
	fnAdd    = "__add"    // + with an operand of unknown type, charged when it joins text
	fnCharge = "__charge" // charges the text a builtin made
)

// exprOptions are the options every condition is compiled with.
var exprOptions = func() []expr.Option {
	opts := []expr.Option{expr.Env(Env{}), expr.AsBool(), expr.MaxNodes(maxExprNodes), expr.DisableAllBuiltins()}
	opts = append(opts, historyOptions()...)
	for _, name := range allowedBuiltins {
		opts = append(opts, expr.EnableBuiltin(name))
	}
	return append(opts,
		expr.Function(fnStep, func(args ...any) (any, error) {
			return true, budgetOf(args[0]).step()
		}, new(func(any) bool)),
		expr.Function(fnConcat, func(args ...any) (any, error) {
			return budgetOf(args[0]).concat(args[1].(string), args[2].(string))
		}, new(func(any, string, string) string)),
		expr.Function(fnAdd, func(args ...any) (any, error) {
			if a, ok := args[1].(string); ok {
				if b, ok := args[2].(string); ok {
					return budgetOf(args[0]).concat(a, b)
				}
			}
			return runtime.Add(args[1], args[2]), nil
		}, new(func(any, any, any) any)),
		expr.Function(fnCharge, func(args ...any) (any, error) {
			b := budgetOf(args[0])
			switch v := args[1].(type) {
			case string:
				return v, b.spend(len(v))
			case []string:
				n := 16 * len(v) // the string headers; the text is shared with the input
				return v, b.spend(n)
			}
			return args[1], nil
		}, new(func(any, string) string), new(func(any, []string) []string)),
		expr.Patch(sandbox{}),
	)
}()

// historyOptions declare the history functions (for the checker, as marketers write
// them) and the functions the sandbox turns their calls into, which take the
// environment first.
func historyOptions() []expr.Option {
	var opts []expr.Option
	for name, kind := range historyFuncs {
		count := strings.HasSuffix(name, "_count")
		var user, internal []any
		switch {
		case kind == "email_opened" || kind == "email_clicked":
			user = []any{new(func(string) int)}
			internal = []any{new(func(any, string) int)}
		case count:
			user = []any{new(func(string, string) int)}
			internal = []any{new(func(any, string, string) int)}
		default:
			user = []any{new(func(string) bool), new(func(string, string) bool)}
			internal = []any{new(func(any, string) bool), new(func(any, string, string) bool)}
		}
		opts = append(opts,
			expr.Function(name, func(...any) (any, error) {
				return nil, fmt.Errorf("%s: called outside the sandbox", name)
			}, user...),
			expr.Function("__"+name, func(args ...any) (any, error) {
				n, err := historyCall(name, args)
				if err != nil {
					return nil, err
				}
				if count {
					return n, nil
				}
				return n > 0, nil
			}, internal...))
	}
	return opts
}

// sandbox rewrites a checked expression so that its evaluation keeps to its budget:
// each loop body counts a step first, and each + or builtin that makes text is
// charged.
type sandbox struct{}

func (sandbox) Visit(node *ast.Node) {
	env := func() ast.Node { return &ast.IdentifierNode{Value: "$env"} }
	call := func(fn string, t reflect.Type, args ...ast.Node) {
		c := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: append([]ast.Node{env()}, args...)}
		c.SetType(t)
		ast.Patch(node, c)
	}
	switch n := (*node).(type) {
	case *ast.PredicateNode:
		n.Node = &ast.SequenceNode{Nodes: []ast.Node{
			&ast.CallNode{Callee: &ast.IdentifierNode{Value: fnStep}, Arguments: []ast.Node{env()}}, n.Node}}
	case *ast.BinaryNode:
		if n.Operator != "+" {
			return
		}
		l, r := n.Left.Type(), n.Right.Type()
		switch {
		case isKind(l, reflect.String) && isKind(r, reflect.String):
			call(fnConcat, l, n.Left, n.Right)
		case unknownType(l) || unknownType(r):
			call(fnAdd, reflect.TypeFor[any](), n.Left, n.Right)
		}
	case *ast.BuiltinNode:
		if slices.Contains(chargedBuiltins, n.Name) {
			call(fnCharge, n.Type(), n)
		}
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			if _, ok := historyFuncs[id.Value]; ok {
				call("__"+id.Value, n.Type(), n.Arguments...)
			}
		}
	}
}

func isKind(t reflect.Type, k reflect.Kind) bool { return t != nil && t.Kind() == k }

// unknownType reports whether the checker does not know a value's type, as for a
// lead attribute.
func unknownType(t reflect.Type) bool { return t == nil || t.Kind() == reflect.Interface }

// budget is what one evaluation may still spend.
type budget struct {
	steps    int
	bytes    int
	queries  int
	deadline time.Time
}

func newBudget() *budget {
	return &budget{steps: maxExprSteps, bytes: maxExprBytes, deadline: time.Now().Add(maxExprTime)}
}

// budgetOf is the budget of the environment a sandbox function was called with.
func budgetOf(env any) *budget {
	if e, ok := env.(*Env); ok && e.budget != nil {
		return e.budget
	}
	// An environment not made by Bool (a test calling expr directly) gets a
	// budget of its own for each call; there is no such caller in the engine.
	return newBudget()
}

func (b *budget) step() error {
	b.steps--
	if b.steps < 0 {
		return fmt.Errorf("%w: more than %d loop iterations", ErrExprBudget, maxExprSteps)
	}
	return b.inTime()
}

func (b *budget) spend(n int) error {
	b.bytes -= n
	if b.bytes < 0 {
		return fmt.Errorf("%w: more than %d bytes of text made", ErrExprBudget, maxExprBytes)
	}
	return b.inTime()
}

func (b *budget) inTime() error {
	if time.Now().After(b.deadline) {
		return fmt.Errorf("%w: it ran longer than %s", ErrExprBudget, maxExprTime)
	}
	return nil
}

// concat joins two strings after charging the result, so that text doubled again
// and again stops before it is made.
func (b *budget) concat(x, y string) (string, error) {
	if err := b.spend(len(x) + len(y)); err != nil {
		return "", err
	}
	return x + y, nil
}

// CompileExpr compiles a condition against Env; it must yield a boolean. A compile
// error is an *ExprError with the line and column inside the source. A condition is
// refused when it is too long, calls a builtin outside the sandbox, or goes over its
// budget when evaluated for a lead with nothing known.
func CompileExpr(src string) (*Expr, error) {
	if len(src) > maxExprSource {
		return nil, &ExprError{Msg: fmt.Sprintf("the condition is longer than %d bytes; a condition is a line or two", maxExprSource), Line: 1, Column: 1}
	}
	if ee := refusedBuiltin(src); ee != nil {
		return nil, ee
	}
	prog, err := expr.Compile(src, exprOptions...)
	if err != nil {
		ee := &ExprError{Msg: err.Error(), Line: 1, Column: 1}
		var fe *file.Error
		if errors.As(err, &fe) {
			ee.Msg, ee.Line, ee.Column = fe.Message, max(fe.Line, 1), fe.Column+1
		}
		return nil, ee
	}
	x := &Expr{Source: src, prog: prog}
	// What goes over budget for a lead with nothing known goes over for every lead.
	empty := NewEnv(LeadEnvOf(&lead.Lead{}), EventEnvOf("", time.Time{}, nil), time.Unix(0, 0).UTC())
	if _, err := x.Bool(empty); errors.Is(err, ErrExprBudget) {
		return nil, &ExprError{Msg: fmt.Sprintf("the condition needs more than its budget: %v", budgetMsg(err)), Line: 1, Column: 1}
	}
	return x, nil
}

// budgetMsg is the budget part of an evaluation error, without the source.
func budgetMsg(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.HasPrefix(e.Error(), ErrExprBudget.Error()) {
			return strings.TrimPrefix(strings.TrimPrefix(e.Error(), ErrExprBudget.Error()), ": ")
		}
	}
	return err.Error()
}

// refusedBuiltin finds a call to a builtin the sandbox leaves out, for a clearer
// message than "unknown name".
func refusedBuiltin(src string) *ExprError {
	cfg := conf.CreateNew()
	cfg.MaxNodes = maxExprNodes
	tree, err := exprparser.ParseWithConfig(src, cfg)
	if err != nil {
		return nil // Compile reports it
	}
	var found *ast.BuiltinNode
	ast.Find(tree.Node, func(n ast.Node) bool {
		b, ok := n.(*ast.BuiltinNode)
		if ok && !slices.Contains(allowedBuiltins, b.Name) && (found == nil || b.Location().From < found.Location().From) {
			found = b
		}
		return false
	})
	if found == nil {
		return nil
	}
	at := (&file.Error{Location: found.Location()}).Bind(file.NewSource(src))
	return &ExprError{Msg: fmt.Sprintf("%s() cannot be used in a condition: it can take memory without bound", found.Name),
		Line: max(at.Line, 1), Column: at.Column + 1}
}

// ExprError is an expression that does not compile; Line and Column (1-based) are
// inside the expression's own text.
type ExprError struct {
	Msg          string
	Line, Column int
}

func (e *ExprError) Error() string { return e.Msg }

// Bool evaluates the condition within its budget. A nil condition is true. An
// evaluation over budget returns an error that wraps ErrExprBudget.
func (x *Expr) Bool(env *Env) (bool, error) {
	if x == nil {
		return true, nil
	}
	run := *env
	run.budget = newBudget()
	m := vm.VM{MemoryBudget: maxExprMemory}
	out, err := m.Run(x.prog, &run)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) && strings.Contains(fe.Message, "memory budget exceeded") && !errors.Is(err, ErrExprBudget) {
			err = fmt.Errorf("%w: more than %d list elements made", ErrExprBudget, maxExprMemory)
		}
		return false, fmt.Errorf("%s: %w", x.Source, err)
	}
	b, _ := out.(bool)
	return b, nil
}
