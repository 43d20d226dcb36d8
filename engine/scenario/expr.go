package scenario

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

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

// maxExprNodes bounds an expression's size, so that a file cannot make one that takes
// long to compile or run.
const maxExprNodes = 2000

// CompileExpr compiles a condition against Env; it must yield a boolean. A compile
// error is an *ExprError with the line and column inside the source.
func CompileExpr(src string) (*Expr, error) {
	prog, err := expr.Compile(src, expr.Env(Env{}), expr.AsBool(), expr.MaxNodes(maxExprNodes))
	if err != nil {
		ee := &ExprError{Msg: err.Error(), Line: 1, Column: 1}
		var fe *file.Error
		if errors.As(err, &fe) {
			ee.Msg, ee.Line, ee.Column = fe.Message, max(fe.Line, 1), fe.Column+1
		}
		return nil, ee
	}
	return &Expr{Source: src, prog: prog}, nil
}

// ExprError is an expression that does not compile; Line and Column (1-based) are
// inside the expression's own text.
type ExprError struct {
	Msg          string
	Line, Column int
}

func (e *ExprError) Error() string { return e.Msg }

// Bool evaluates the condition. A nil condition is true.
func (x *Expr) Bool(env *Env) (bool, error) {
	if x == nil {
		return true, nil
	}
	out, err := expr.Run(x.prog, env)
	if err != nil {
		return false, fmt.Errorf("%s: %w", x.Source, err)
	}
	b, _ := out.(bool)
	return b, nil
}
