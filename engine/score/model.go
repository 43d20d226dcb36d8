// Package score turns what leads are and do into scores, grades and lifecycle stages,
// as the marketers' scoring model (scenarios/scoring.yaml) says: profile rules over
// the lead's fields, behaviour rules over its events, behaviour points that fade with
// a half-life, grade thresholds, and the rules that move a lead into MQL and SQL.
//
// Every point given is a ledger row naming its rule and event, so a score can always
// be explained; the lead's own columns hold the running totals, written only through
// engine/lead's named operations. The dispatcher scores each new event in its batch
// transaction (Apply); a periodic job decays behaviour points (Decay), and a model
// edit re-scores every lead from the ledger (Rescore).
package score

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	yamlparser "github.com/goccy/go-yaml/parser"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/scenario"
	"github.com/nurture-dev/nurture/engine/yamldepth"
)

// FileName is the scoring model's file in the scenarios folder.
const FileName = "scoring.yaml"

// maxModelSize bounds the scoring file; a real one is a few kilobytes.
const maxModelSize = 256 << 10

// maxDepth bounds how deeply the file nests lists and mappings (the YAML parser is
// quadratic in it); a real model nests four levels.
const maxDepth = 20

// maxRules bounds the rules of each kind.
const maxRules = 500

// Verdicts of a hit that a behaviour rule may count (engine/track's verdicts).
var Verdicts = []string{"human", "unknown", "machine"}

// hitTypes are the event types that carry a bot verdict.
var hitTypes = []string{"email_opened", "email_clicked"}

// derivedTypes are events the scoring itself records: no rule may score them, or a
// score change would score itself.
var derivedTypes = []string{"score_changed", "grade_changed", "score_crossed", "stage_changed",
	"escalation_requested", "enrolled", "scenario_exited", "email_sent", "lead_assigned", "alert_sent"}

// Model is a scoring model as loaded from scoring.yaml.
type Model struct {
	File    string
	Version string // SHA-256 of the source, short
	Source  []byte

	Profile  []*Rule
	Behavior []*Rule
	// HalfLife is how long behaviour points take to halve; zero never decays.
	HalfLife time.Duration
	Grades   lead.Grades
	// Thresholds are the scores whose crossing records score_crossed, besides the
	// grade thresholds.
	Thresholds []int
	// MQL and SQL move a lead automatically: MQL from inquiry or recycled, SQL from
	// sal or sgl. Nil leaves the move to people.
	MQL, SQL   *scenario.Expr
	Escalation Escalation
	// Location is the time zone of a day for max_per_day. Defaults to Asia/Tokyo.
	Location *time.Location
	Tests    []Test
}

// Escalation says when a lead is handed to sales.
type Escalation struct {
	// When lists the stages whose reaching records escalation_requested.
	When []string
	// Assign is how an owner is chosen: round_robin or territory.
	Assign string
	// SLA is how long sales has to accept.
	SLA time.Duration
}

// Rule is one profile or behaviour rule.
type Rule struct {
	// ID names the rule in the ledger: given, or made from what the rule matches.
	ID string
	// Name is what people read in a breakdown (optional, e.g. 部長).
	Name   string
	Points int
	If     *scenario.Expr

	// Behaviour rules only.
	On        string
	Form      string   // form_submitted: the form's name
	Link      string   // email_clicked: the link's name
	URL       string   // page_visited and email_clicked: the URL contains this
	Verdicts  []string // email_opened and email_clicked: verdicts that count
	MaxPerDay int
	MaxTotal  int

	Pos scenario.Pos
}

// Label is the rule's name, or its ID.
func (r *Rule) Label() string { return cmpOr(r.Name, r.ID) }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Test is one inline test of the model: a lead and its events, and what the model
// must make of them.
type Test struct {
	Name   string
	Lead   map[string]any
	Events []TestEvent
	Expect TestExpect
	Pos    scenario.Pos
}

// TestEvent is an event of a test, After the test's start.
type TestEvent struct {
	After   time.Duration
	Type    string
	Props   map[string]any
	Verdict string
}

// TestExpect is what a test checks; nil fields are not checked.
type TestExpect struct {
	Score *int
	Grade string
	Stage string
}

// Default is the model used when there is no scoring.yaml: no rules, no decay,
// grades at 60 and 30, no automatic stages. Scenario points still count.
func Default() *Model {
	return &Model{Version: "default", Grades: lead.Grades{Hot: 60, Warm: 30}, Location: tokyo()}
}

func tokyo() *time.Location {
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		return time.FixedZone("JST", 9*3600)
	}
	return loc
}

// LoadDir reads dir/scoring.yaml; with no such file it returns Default().
func LoadDir(dir string) (*Model, error) {
	file := filepath.Join(dir, FileName)
	src, err := scenario.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return Default(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("scoring model: %w", err)
	}
	return Parse(file, src)
}

// The YAML shapes of the file. Expressions and durations are read as text and
// compiled afterwards, with their positions.
type fileModel struct {
	Profile    []ruleYAML      `yaml:"profile"`
	Behavior   []ruleYAML      `yaml:"behavior"`
	Decay      *decayYAML      `yaml:"decay"`
	Grades     *gradesYAML     `yaml:"grades"`
	Thresholds []int           `yaml:"thresholds"`
	Lifecycle  *lifecycleYAML  `yaml:"lifecycle"`
	Escalation *escalationYAML `yaml:"escalation"`
	Timezone   string          `yaml:"timezone"`
	Tests      []testYAML      `yaml:"tests"`
}

type ruleYAML struct {
	ID        string   `yaml:"id"`
	Name      string   `yaml:"name"`
	On        string   `yaml:"on"`
	If        string   `yaml:"if"`
	Points    *int     `yaml:"points"`
	Form      string   `yaml:"form"`
	Link      string   `yaml:"link"`
	URL       string   `yaml:"url"`
	Verdicts  []string `yaml:"verdicts"`
	MaxPerDay int      `yaml:"max_per_day"`
	MaxTotal  int      `yaml:"max_total"`
}

type decayYAML struct {
	HalfLife string `yaml:"half_life"`
}

type gradesYAML struct {
	Hot  *int `yaml:"hot"`
	Warm *int `yaml:"warm"`
}

type lifecycleYAML struct {
	MQL string `yaml:"mql"`
	SQL string `yaml:"sql"`
}

type escalationYAML struct {
	When   []string `yaml:"when"`
	Assign string   `yaml:"assign"`
	SLA    string   `yaml:"sla"`
}

type testYAML struct {
	Name   string          `yaml:"name"`
	Lead   map[string]any  `yaml:"lead"`
	Events []testEventYAML `yaml:"events"`
	Expect struct {
		Score *int   `yaml:"score"`
		Grade string `yaml:"grade"`
		Stage string `yaml:"stage"`
	} `yaml:"expect"`
}

type testEventYAML struct {
	After   string         `yaml:"after"`
	Type    string         `yaml:"type"`
	Form    string         `yaml:"form"`
	URL     string         `yaml:"url"`
	Link    string         `yaml:"link"`
	Verdict string         `yaml:"verdict"`
	Props   map[string]any `yaml:"props"`
}

// modelParser collects every problem of a file with its position.
type modelParser struct {
	file string
	src  []byte
	root ast.Node
	errs scenario.Errors
}

func (p *modelParser) errorAt(pos scenario.Pos, format string, args ...any) {
	p.errs = append(p.errs, scenario.Errorf(p.file, pos, format, args...))
}

// at is where the value at a YAML path ("$.behavior[2].if") is written, or 1:1.
func (p *modelParser) at(path string) scenario.Pos {
	if p.root == nil {
		return scenario.Pos{Line: 1, Column: 1}
	}
	yp, err := yaml.PathString(path)
	if err != nil {
		return scenario.Pos{Line: 1, Column: 1}
	}
	n, err := yp.FilterNode(p.root)
	if err != nil || n == nil || n.GetToken() == nil || n.GetToken().Position == nil {
		return scenario.Pos{Line: 1, Column: 1}
	}
	tp := n.GetToken().Position
	return scenario.Pos{Line: max(tp.Line, 1), Column: max(tp.Column, 1)}
}

// compile compiles a condition written at path.
func (p *modelParser) compile(path, what, src string) *scenario.Expr {
	if strings.TrimSpace(src) == "" {
		return nil
	}
	pos := p.at(path)
	x, err := scenario.CompileExpr(src)
	if err != nil {
		var ee *scenario.ExprError
		if errors.As(err, &ee) && ee.Line == 1 {
			pos.Column += ee.Column - 1
		}
		p.errorAt(pos, "%s does not compile: %v", what, err)
		return nil
	}
	x.Pos = pos
	return x
}

// Parse reads and checks a scoring model. On any problem it returns an
// scenario.Errors listing each with file:line:column.
func Parse(file string, src []byte) (*Model, error) {
	p := &modelParser{file: file, src: src}
	if len(src) > maxModelSize {
		p.errorAt(scenario.Pos{Line: 1, Column: 1}, "the file is larger than %d bytes; a scoring model is a few kilobytes", maxModelSize)
		return nil, p.errs
	}
	var deep *yamldepth.Error
	if errors.As(yamldepth.Check(src, maxDepth), &deep) {
		p.errorAt(scenario.Pos{Line: deep.Line, Column: deep.Column}, "%v; a scoring model needs a few levels", deep)
		return nil, p.errs
	}
	f, err := yamlparser.ParseBytes(src, 0)
	if err == nil && len(f.Docs) > 0 {
		p.root = f.Docs[0].Body
	}
	var fm fileModel
	if err := yaml.UnmarshalWithOptions(src, &fm, yaml.DisallowUnknownField()); err != nil {
		pos := scenario.Pos{Line: 1, Column: 1}
		msg := err.Error()
		var ye yaml.Error
		if errors.As(err, &ye) {
			msg = ye.GetMessage()
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				pos = scenario.Pos{Line: tk.Position.Line, Column: tk.Position.Column}
			}
		}
		p.errorAt(pos, "%s", plainYAMLError(msg))
		return nil, p.errs
	}
	m := p.model(&fm)
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	m.File = file
	m.Source = bytes.Clone(src)
	sum := sha256.Sum256(src)
	m.Version = hex.EncodeToString(sum[:8])
	return m, nil
}

// plainYAMLError words the YAML library's messages for a marketer.
func plainYAMLError(msg string) string {
	if field, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return "unknown key " + field + " (keys are profile, behavior, decay, grades, thresholds, lifecycle, escalation, timezone, tests; rules take id, name, on, if, points, form, link, url, verdicts, max_per_day, max_total)"
	}
	return msg
}

func (p *modelParser) model(fm *fileModel) *Model {
	m := Default()
	if len(fm.Profile) > maxRules || len(fm.Behavior) > maxRules {
		p.errorAt(scenario.Pos{Line: 1, Column: 1}, "at most %d rules of each kind", maxRules)
		return m
	}
	ids := map[string]string{}
	rule := func(kind string, i int, ry ruleYAML) *Rule {
		path := fmt.Sprintf("$.%s[%d]", kind, i)
		r := &Rule{ID: ry.ID, Name: ry.Name, On: ry.On, Form: ry.Form, Link: ry.Link, URL: ry.URL,
			Verdicts: ry.Verdicts, MaxPerDay: ry.MaxPerDay, MaxTotal: ry.MaxTotal, Pos: p.at(path)}
		if ry.Points == nil {
			p.errorAt(r.Pos, "the rule has no points: write points: 10 (negative points lower the score)")
		} else {
			r.Points = *ry.Points
			if r.Points < -1000 || r.Points > 1000 {
				p.errorAt(p.at(path+".points"), "points must be between -1000 and 1000")
			}
		}
		r.If = p.compile(path+".if", "the rule's condition", ry.If)
		if ry.MaxPerDay < 0 || ry.MaxTotal < 0 {
			p.errorAt(r.Pos, "max_per_day and max_total cannot be negative")
		}
		if kind == "profile" {
			if ry.On != "" || ry.Form != "" || ry.Link != "" || ry.URL != "" || len(ry.Verdicts) > 0 || ry.MaxPerDay > 0 || ry.MaxTotal > 0 {
				p.errorAt(r.Pos, "a profile rule looks at who the lead is: it takes if and points (on, form, link, url, verdicts and caps belong to behavior rules)")
			}
			if r.If == nil && ry.If == "" {
				p.errorAt(r.Pos, "a profile rule needs a condition: if: lead.employees >= 1000")
			}
			if r.If != nil && usesEvent(ry.If) {
				p.errorAt(r.If.Pos, "a profile rule looks at the lead, not at an event: put event conditions in behavior rules")
			}
			if r.ID == "" {
				r.ID = "profile:" + ry.If
			}
		} else {
			p.behaviorRule(path, r)
			if r.ID == "" {
				r.ID = behaviorID(r, ry.If)
			}
		}
		if first, dup := ids[r.ID]; dup {
			p.errorAt(r.Pos, "this rule matches what the rule at %s matches: merge them, or give each an id", first)
		} else {
			ids[r.ID] = fmt.Sprintf("line %d", r.Pos.Line)
		}
		return r
	}
	for i, ry := range fm.Profile {
		m.Profile = append(m.Profile, rule("profile", i, ry))
	}
	for i, ry := range fm.Behavior {
		m.Behavior = append(m.Behavior, rule("behavior", i, ry))
	}
	if fm.Decay != nil && fm.Decay.HalfLife != "" {
		d, err := scenario.ParseDuration(fm.Decay.HalfLife)
		if err != nil {
			p.errorAt(p.at("$.decay.half_life"), "half_life: %v", err)
		} else if d > 0 && d < time.Hour {
			p.errorAt(p.at("$.decay.half_life"), "half_life must be at least 1h; 0 turns decay off")
		}
		m.HalfLife = d
	}
	if g := fm.Grades; g != nil {
		if g.Hot != nil {
			m.Grades.Hot = *g.Hot
		}
		if g.Warm != nil {
			m.Grades.Warm = *g.Warm
		}
		if m.Grades.Warm > m.Grades.Hot {
			p.errorAt(p.at("$.grades"), "the warm threshold (%d) is above the hot one (%d)", m.Grades.Warm, m.Grades.Hot)
		}
	}
	m.Thresholds = slices.Compact(slices.Sorted(slices.Values(fm.Thresholds)))
	if lc := fm.Lifecycle; lc != nil {
		m.MQL = p.compile("$.lifecycle.mql", "lifecycle.mql", lc.MQL)
		m.SQL = p.compile("$.lifecycle.sql", "lifecycle.sql", lc.SQL)
		for _, x := range []struct{ src, path string }{{lc.MQL, "$.lifecycle.mql"}, {lc.SQL, "$.lifecycle.sql"}} {
			if usesEvent(x.src) {
				p.errorAt(p.at(x.path), "a lifecycle rule looks at the lead, not at an event")
			}
		}
	}
	if es := fm.Escalation; es != nil {
		for i, s := range es.When {
			if !slices.Contains(lead.Stages, s) {
				p.errorAt(p.at(fmt.Sprintf("$.escalation.when[%d]", i)), "%q is not a stage (one of %s)", s, strings.Join(lead.Stages, ", "))
			}
		}
		m.Escalation.When = es.When
		m.Escalation.Assign = cmpOr(es.Assign, "round_robin")
		if m.Escalation.Assign != "round_robin" && m.Escalation.Assign != "territory" {
			p.errorAt(p.at("$.escalation.assign"), "assign is round_robin or territory, not %q", es.Assign)
		}
		m.Escalation.SLA = 24 * time.Hour
		if es.SLA != "" {
			d, err := scenario.ParseDuration(es.SLA)
			if err != nil || d <= 0 {
				p.errorAt(p.at("$.escalation.sla"), "sla must be a duration such as 24h")
			} else {
				m.Escalation.SLA = d
			}
		}
	}
	if fm.Timezone != "" {
		loc, err := time.LoadLocation(fm.Timezone)
		if err != nil || strings.EqualFold(fm.Timezone, "local") {
			p.errorAt(p.at("$.timezone"), "%q is not an IANA time zone such as Asia/Tokyo", fm.Timezone)
		} else {
			m.Location = loc
		}
	}
	for i, ty := range fm.Tests {
		m.Tests = append(m.Tests, p.test(i, ty))
	}
	return m
}

// behaviorRule checks what a behaviour rule matches.
func (p *modelParser) behaviorRule(path string, r *Rule) {
	switch {
	case r.On == "":
		p.errorAt(r.Pos, "a behavior rule needs on: the event it scores, such as email_opened or form_submitted")
		return
	case slices.Contains(derivedTypes, r.On):
		p.errorAt(p.at(path+".on"), "%s is recorded by nurture as a consequence of scoring and sending; it cannot be scored", r.On)
		return
	}
	if r.Form != "" && r.On != lead.TypeFormSubmitted {
		p.errorAt(p.at(path+".form"), "form: applies to form_submitted rules only")
	}
	if r.Link != "" && r.On != "email_clicked" {
		p.errorAt(p.at(path+".link"), "link: applies to email_clicked rules only")
	}
	if r.URL != "" && r.On != lead.TypePageVisited && r.On != "email_clicked" {
		p.errorAt(p.at(path+".url"), "url: applies to page_visited and email_clicked rules only")
	}
	if len(r.Verdicts) > 0 && !slices.Contains(hitTypes, r.On) {
		p.errorAt(p.at(path+".verdicts"), "verdicts: applies to email_opened and email_clicked rules only")
	}
	for _, v := range r.Verdicts {
		if !slices.Contains(Verdicts, v) {
			p.errorAt(p.at(path+".verdicts"), "%q is not a verdict (human, unknown or machine)", v)
		}
	}
	if len(r.Verdicts) == 0 && slices.Contains(hitTypes, r.On) {
		r.Verdicts = []string{"human"}
	}
}

// behaviorID names a behaviour rule by what it matches.
func behaviorID(r *Rule, cond string) string {
	id := r.On
	for _, kv := range [][2]string{{"form", r.Form}, {"link", r.Link}, {"url", r.URL}, {"if", cond}} {
		if kv[1] != "" {
			id += " " + kv[0] + "=" + kv[1]
		}
	}
	return id
}

// usesEvent reports whether a condition's text names the event.
func usesEvent(src string) bool {
	return strings.Contains(src, "event.") || strings.Contains(src, "event[")
}

// test reads one inline test.
func (p *modelParser) test(i int, ty testYAML) Test {
	path := fmt.Sprintf("$.tests[%d]", i)
	t := Test{Name: cmpOr(ty.Name, fmt.Sprintf("test %d", i+1)), Lead: ty.Lead, Pos: p.at(path)}
	for j, ey := range ty.Events {
		epath := fmt.Sprintf("%s.events[%d]", path, j)
		te := TestEvent{Type: ey.Type, Verdict: ey.Verdict, Props: map[string]any{}}
		for k, v := range ey.Props {
			te.Props[k] = v
		}
		if ey.After != "" {
			d, err := scenario.ParseDuration(ey.After)
			if err != nil {
				p.errorAt(p.at(epath+".after"), "after: %v", err)
			}
			te.After = d
		}
		if te.Type == "" {
			p.errorAt(p.at(epath), "a test event needs a type, such as type: email_opened")
		}
		if ey.Form != "" {
			te.Props["form"] = ey.Form
		}
		if ey.URL != "" {
			te.Props["url"] = ey.URL
		}
		if ey.Link != "" {
			te.Props["link_name"] = ey.Link
		}
		if slices.Contains(hitTypes, te.Type) {
			te.Props["verdict"] = cmpOr(te.Verdict, "human")
		}
		t.Events = append(t.Events, te)
	}
	t.Expect = TestExpect{Score: ty.Expect.Score, Grade: ty.Expect.Grade, Stage: ty.Expect.Stage}
	if t.Expect.Grade != "" && !slices.Contains([]string{"hot", "warm", "cold"}, t.Expect.Grade) {
		p.errorAt(p.at(path+".expect.grade"), "a grade is hot, warm or cold")
	}
	if t.Expect.Stage != "" && !slices.Contains(lead.Stages, t.Expect.Stage) {
		p.errorAt(p.at(path+".expect.stage"), "%q is not a stage (one of %s)", t.Expect.Stage, strings.Join(lead.Stages, ", "))
	}
	return t
}

// rulesOn are the behaviour rules of an event type.
func (m *Model) rulesOn(typ string) []*Rule {
	var out []*Rule
	for _, r := range m.Behavior {
		if r.On == typ {
			out = append(out, r)
		}
	}
	return out
}

// Rule returns the rule with an ID, or nil.
func (m *Model) Rule(id string) *Rule {
	for _, r := range append(slices.Clip(m.Profile), m.Behavior...) {
		if r.ID == id {
			return r
		}
	}
	return nil
}
