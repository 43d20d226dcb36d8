package scenario

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/goccy/go-yaml/ast"
	yamlparser "github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/nurture-dev/nurture/engine/lang"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/yamldepth"
)

// Options say what a scenario may refer to.
type Options struct {
	// HasTemplate reports whether a template exists, by its name under templates/
	// ("whitepaper/thanks"). Defaults to nil, which skips the check.
	HasTemplate func(name string) bool
	// TemplateNames are the templates' names, for "did you mean" when a name is
	// not found. Defaults to nil: no suggestion.
	TemplateNames []string
}

// maxFileSize bounds a scenario file, checked before it is parsed; a real one is a
// few kilobytes.
const maxFileSize = 256 << 10

// maxDepth bounds how deeply a scenario file nests lists and mappings, checked
// before it is parsed: the YAML parser's time and memory grow with the square of the
// depth. A real file nests six or seven levels (steps, a step, its variants, a
// variant; tests, a test, its events, an event's props).
const maxDepth = 20

// maxSteps bounds a scenario's steps; a real one has a few dozen.
const maxSteps = 1000

// Keys a scenario file may use, by where they are. The JSON Schema test holds
// scenarios/scenario.schema.json to topKeys.
var (
	topKeys       = []string{"id", "name", "trigger", "reenroll", "exit_if", "goal", "send_window", "event_date", "steps", "tests"}
	triggerKeys   = []string{"event", "schedule", "if"}
	scheduleKeys  = []string{"cron", "at", "until"}
	windowKeys    = []string{"days", "hours", "timezone", "skip_holidays"}
	stepKeys      = []string{"id", "next", "send", "subject", "variants", "window", "wait", "wait_until", "if", "yes", "no", "split", "update", "stage", "escalate", "goto", "end"}
	kindKeys      = []string{"send", "wait", "wait_until", "if", "split", "update", "stage", "escalate", "goto", "end"}
	variantKeys   = []string{"template", "subject", "weight", "name"}
	waitKeys      = []string{"until", "before", "after", "by", "if_past"}
	waitUntilKeys = []string{"clicked", "opened", "link", "within"}
	pathKeys      = []string{"weight", "next", "name"}
	updateKeys    = []string{"tags", "remove_tags", "fields", "points"}
	testKeys      = []string{"name", "start", "lead", "event", "events", "expect"}
	testEventKeys = []string{"after", "at", "after_sent", "in", "clicked", "opened", "link", "type", "props"}
	expectKeys    = []string{"sent", "escalated", "stage", "exit", "tags"}
)

// Stages are the lifecycle stages a stage step or a test may name.
var Stages = lead.Stages

// Parse reads and checks one scenario file. file is used in errors and as the
// default id (its base name without extension). On any problem it returns nil and
// an Errors listing every problem found.
func Parse(file string, src []byte, opts Options) (*Scenario, error) {
	p := &parser{file: file, src: src, opts: opts}
	s := p.parse()
	if len(p.errs) > 0 {
		return nil, p.errs.sort()
	}
	s.Warnings = p.warnings.sort()
	return s, nil
}

// LoadDir parses every *.yaml and *.yml file in dir except scoring.yaml (the scoring
// rules), and reports an id used by more than one file on every file after the first
// in name order. It returns the good scenarios sorted by ID, and an Errors for the
// bad files (nil when there are none), so that a caller can keep the good ones.
func LoadDir(dir string, opts Options) ([]*Scenario, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load scenarios: %w", err)
	}
	var (
		good []*Scenario
		errs Errors
		byID = map[string]*Scenario{}
	)
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") || strings.TrimSuffix(name, ext) == "scoring" {
			continue
		}
		file := filepath.Join(dir, name)
		src, err := ReadFile(file)
		if err != nil {
			errs = append(errs, Errorf(file, Pos{}, "cannot read the file: %v", err))
			continue
		}
		s, err := Parse(file, src, opts)
		if err != nil {
			var es Errors
			if errors.As(err, &es) {
				errs = append(errs, es...)
			} else {
				errs = append(errs, &Error{File: file, Msg: err.Error()})
			}
			continue
		}
		if first, ok := byID[s.ID]; ok {
			pos := idPos(s)
			errs = append(errs, Errorf(file, pos, "the scenario id %q is already used by %s; give each scenario its own id", s.ID, first.File))
			continue
		}
		byID[s.ID] = s
		good = append(good, s)
	}
	slices.SortFunc(good, func(a, b *Scenario) int { return strings.Compare(a.ID, b.ID) })
	if len(errs) > 0 {
		return good, errs.sort()
	}
	return good, nil
}

// ReadFile reads a scenario file, but no more of it than Parse accepts: a larger
// file is refused by Parse without being read whole.
func ReadFile(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxFileSize+1))
}

// idPos is where a parsed scenario's id is written, or 1:1 when it comes from the
// file name.
func idPos(s *Scenario) Pos {
	if s.idPos.Line > 0 {
		return s.idPos
	}
	return Pos{1, 1}
}

// parser turns a file's YAML into a Scenario, collecting every problem on the way.
type parser struct {
	file string
	src  []byte
	opts Options
	errs Errors
	// warnings are what the file does that is allowed but likely not meant.
	warnings Errors

	// loc is the time zone of dates without an offset (Scenario.Location), and
	// hasEventDate whether the file gives event_date.
	loc          *time.Location
	hasEventDate bool
	// windowZone is send_window's timezone, when it gives one.
	windowZone *time.Location

	// Where things are, for the checks made once the whole file is read.
	steps []stepInfo
	tests []testInfo
}

// stepInfo is where a step's parts are written.
type stepInfo struct {
	hasID bool
	idPos Pos
	jumps []jump
	ref   Pos // wait_until's clicked or opened value
}

// jump is a step id written in next, goto, yes, no or a split path.
type jump struct {
	key    string
	target string
	pos    Pos
}

// testInfo is where a test's step references are written.
type testInfo struct {
	sent      []Pos
	events    []Pos // each event's clicked or opened value
	afterSent []Pos // each event's after_sent value
}

func (p *parser) errorAt(pos Pos, format string, args ...any) {
	p.errs = append(p.errs, Errorf(p.file, pos, format, args...))
}

func (p *parser) warnAt(pos Pos, format string, args ...any) {
	p.warnings = append(p.warnings, Errorf(p.file, pos, format, args...))
}

func (p *parser) errorf(n ast.Node, format string, args ...any) {
	p.errorAt(posOf(n), format, args...)
}

// posOf is where a node starts.
func posOf(n ast.Node) Pos {
	if n == nil {
		return Pos{1, 1}
	}
	switch v := n.(type) {
	case *ast.MappingNode:
		if !v.IsFlowStyle && len(v.Values) > 0 {
			return posOf(v.Values[0].Key)
		}
	case *ast.MappingValueNode:
		return posOf(v.Key)
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return Pos{1, 1}
	}
	return Pos{max(tk.Position.Line, 1), max(tk.Position.Column, 1)}
}

func (p *parser) parse() (s *Scenario) {
	if len(p.src) > maxFileSize {
		p.errorAt(Pos{1, 1}, "the file is larger than %d bytes; a scenario is a few kilobytes", maxFileSize)
		return nil
	}
	var deep *yamldepth.Error
	if errors.As(yamldepth.Check(p.src, maxDepth), &deep) {
		p.errorAt(Pos{deep.Line, deep.Column}, "%v; a scenario needs a few levels at most", deep)
		return nil
	}
	if pos, ok := fullWidthSpace(p.src); ok {
		p.errorAt(pos, "a full-width space (line %d, column %d): write an ordinary space", pos.Line, pos.Column)
		return nil
	}
	body := p.document()
	if body == nil {
		return nil
	}
	top := p.object(body, "at the top of the file", topKeys)
	if top == nil {
		return nil
	}
	sum := sha256.Sum256(p.src)
	s = &Scenario{File: p.file, Source: p.src, Version: hex.EncodeToString(sum[:])[:12]}

	if e, ok := top.get("id"); ok {
		if id, ok := p.text(e, "id"); ok {
			if msg := checkID(id); msg != "" {
				p.errorf(e.val, "the id %q %s", id, msg)
			}
			s.ID, s.idPos = id, posOf(e.val)
		}
	} else {
		base := filepath.Base(p.file)
		s.ID = strings.TrimSuffix(base, filepath.Ext(base))
		if msg := checkID(s.ID); msg != "" {
			p.errorAt(Pos{1, 1}, "the file name %q makes the id %q, which %s; add an id: line", base, s.ID, msg)
		}
	}
	s.Name = s.ID
	if e, ok := top.get("name"); ok {
		if name, ok := p.text(e, "name"); ok {
			s.Name = name
		}
	}

	s.Location = tokyo
	if e, ok := top.get("send_window"); ok {
		s.Window = p.window(e)
		if p.windowZone != nil {
			s.Location = p.windowZone
		}
	}
	p.loc = s.Location
	if e, ok := top.get("event_date"); ok {
		s.EventDate, _ = p.date(e, "event_date", false)
		p.hasEventDate = true
	}
	if e, ok := top.get("trigger"); ok {
		s.Trigger = p.trigger(e, s.Window)
	} else if top.lacks("trigger") {
		p.errorAt(top.pos, "the scenario has no trigger: say when a lead enters, such as trigger: { event: form_submitted }")
	}
	s.Reenroll = Reenroll{Kind: ReenrollNever}
	if e, ok := top.get("reenroll"); ok {
		s.Reenroll = p.reenroll(e)
	}
	if e, ok := top.get("exit_if"); ok {
		s.ExitIf = p.expr(e)
	}
	if e, ok := top.get("goal"); ok {
		s.Goal = p.expr(e)
	}
	if e, ok := top.get("steps"); ok {
		s.Steps = p.stepList(e)
	} else if top.lacks("steps") {
		p.errorAt(top.pos, "the scenario has no steps: add a steps: list, such as - send: whitepaper/thanks")
	}
	if e, ok := top.get("tests"); ok {
		s.Tests = p.testList(e)
	}
	p.check(s)
	return s
}

// document parses the YAML and returns its one document's body, or nil after an
// error.
func (p *parser) document() (body ast.Node) {
	f, err := parseYAML(p.src)
	if err != nil {
		var ye interface {
			GetToken() *token.Token
			GetMessage() string
		}
		if errors.As(err, &ye) && ye.GetToken() != nil && ye.GetToken().Position != nil {
			tp := ye.GetToken().Position
			at := Pos{max(tp.Line, 1), max(tp.Column, 1)}
			if ye.GetMessage() == "value is not allowed in this context" {
				if line, key, col, ok := misaligned(p.src, at.Line); ok {
					p.errorAt(at, "line %d is indented differently from %s on line %d: start it in column %d, under %s", at.Line, key, line, col, key)
					return nil
				}
			}
			p.errorAt(at, "this is not valid YAML: %s", ye.GetMessage())
		} else {
			p.errorAt(Pos{1, 1}, "this is not valid YAML: %v", err)
		}
		return nil
	}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			if _, ok := d.Body.(*ast.CommentGroupNode); !ok {
				docs = append(docs, d)
			}
		}
	}
	switch {
	case len(docs) == 0:
		p.errorAt(Pos{1, 1}, "the file is empty: a scenario needs at least a trigger and steps")
		return nil
	case len(docs) > 1:
		p.errorf(docs[1].Body, `a file holds one scenario: this second YAML document (after "---") belongs in a file of its own`)
	}
	return docs[0].Body
}

// parseYAML parses src, turning a panic in the YAML library into an error: a
// marketer's typo must never take the process down. Repeated keys are let through
// for object to report along with everything else.
func parseYAML(src []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the YAML reader failed: %v", r)
		}
	}()
	return yamlparser.ParseBytes(src, 0, yamlparser.AllowDuplicateMapKey())
}

// checkID returns why id cannot be an id, or "".
func checkID(id string) string {
	switch {
	case id == "":
		return "is empty"
	case len(id) > 100:
		return "is longer than 100 characters"
	case id == End:
		return `is kept for "next: end"; choose another`
	}
	for i, r := range id {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || (i > 0 && (r == '-' || r == '.')) {
			continue
		}
		return "may only have letters, digits, - and _ in it"
	}
	return ""
}

// entry is one key of a mapping with its value.
type entry struct {
	key string
	pos Pos // the key's
	val ast.Node
}

// object is a mapping whose keys were checked against the known ones.
type object struct {
	pos     Pos
	entries []entry
	// typos are the known keys that unknown keys looked like: a missing key that
	// was misspelt is reported once, as the misspelling.
	typos []string
}

// lacks reports whether key is missing and was not misspelt.
func (o *object) lacks(key string) bool {
	return !o.has(key) && !slices.Contains(o.typos, key)
}

func (o *object) get(key string) (entry, bool) {
	for _, e := range o.entries {
		if e.key == key {
			return e, true
		}
	}
	return entry{}, false
}

func (o *object) has(key string) bool {
	_, ok := o.get(key)
	return ok
}

// unwrap looks through anchors and tags at the value; it reports an alias, which
// scenario files do not use, and returns nil.
func (p *parser) unwrap(n ast.Node) ast.Node {
	for range 100 {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.MappingKeyNode:
			n = v.Value
		case *ast.AliasNode:
			p.errorf(v, "aliases (*name) are not supported in scenario files: write the value out")
			return nil
		default:
			return n
		}
	}
	return nil
}

// object reads a mapping whose keys must be among known (any, when known is nil),
// reporting unknown and repeated keys; where says where the mapping is, for messages ("in a step"). It
// reports a value that is not a mapping and returns nil.
func (p *parser) object(n ast.Node, where string, known []string) *object {
	n = p.unwrap(n)
	var values []*ast.MappingValueNode
	switch v := n.(type) {
	case nil:
		return nil
	case *ast.MappingNode:
		values = v.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{v}
	default:
		p.errorf(n, "expected keys and values %s, found %s", where, describe(n))
		return nil
	}
	o := &object{pos: posOf(n)}
	for _, mv := range values {
		kn := p.unwrap(mv.Key)
		if kn == nil {
			continue
		}
		key, ok := scalarText(kn)
		if !ok {
			p.errorf(kn, "a key must be a plain name %s", where)
			continue
		}
		kp := posOf(kn)
		switch {
		case known != nil && !slices.Contains(known, key):
			p.errorAt(kp, "unknown key %q %s%s", key, where, suggest(key, known))
			if near := nearest(key, known); near != "" {
				o.typos = append(o.typos, near)
			}
			continue
		case o.has(key):
			first, _ := o.get(key)
			p.errorAt(kp, "the key %q is given twice %s (first on line %d)", key, where, first.pos.Line)
			continue
		}
		o.entries = append(o.entries, entry{key: key, pos: kp, val: mv.Value})
	}
	return o
}

// describe names a node's kind for messages.
func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "keys and values"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode, nil:
		return "nothing"
	case *ast.BoolNode:
		return "true or false"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	}
	return "text"
}

// scalarText is the text of a scalar as written (a number as its digits), or false
// for a mapping, a list or nothing.
func scalarText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		if v.Value == nil {
			return "", true
		}
		return v.Value.Value, true
	case *ast.NullNode:
		return "", false
	case ast.ScalarNode:
		if tk := v.GetToken(); tk != nil {
			return tk.Value, true
		}
	}
	return "", false
}

// text reads a value that must be text (a number is taken as its digits); an empty
// value is an error.
func (p *parser) text(e entry, what string) (string, bool) {
	n := p.unwrap(e.val)
	if n == nil {
		return "", false
	}
	s, ok := scalarText(n)
	switch {
	case !ok:
		if _, null := n.(*ast.NullNode); null {
			p.errorAt(e.pos, "%s is empty", what)
		} else {
			p.errorf(n, "%s must be text, not %s", what, describe(n))
		}
		return "", false
	case strings.TrimSpace(s) == "":
		p.errorf(n, "%s is empty", what)
		return "", false
	}
	return strings.TrimSpace(s), true
}

// integer reads a whole number.
func (p *parser) integer(e entry, what string) (int, bool) {
	n := p.unwrap(e.val)
	if n == nil {
		return 0, false
	}
	if v, ok := n.(*ast.IntegerNode); ok {
		switch i := v.Value.(type) {
		case int64:
			if i >= -1e9 && i <= 1e9 {
				return int(i), true
			}
		case uint64:
			if i <= 1e9 {
				return int(i), true
			}
		}
		p.errorf(n, "%s is too large", what)
		return 0, false
	}
	p.errorf(n, "%s must be a whole number, not %s", what, describe(n))
	return 0, false
}

// boolean reads true or false.
func (p *parser) boolean(e entry, what string) (bool, bool) {
	n := p.unwrap(e.val)
	if n == nil {
		return false, false
	}
	if v, ok := n.(*ast.BoolNode); ok {
		return v.Value, true
	}
	p.errorf(n, "%s must be true or false, not %s", what, describe(n))
	return false, false
}

// list reads a sequence; a single value stands for a list of one when one is true.
func (p *parser) list(e entry, what string, one bool) ([]ast.Node, bool) {
	n := p.unwrap(e.val)
	switch v := n.(type) {
	case nil:
		return nil, false
	case *ast.SequenceNode:
		return v.Values, true
	case *ast.NullNode:
		p.errorAt(e.pos, "%s is empty", what)
		return nil, false
	case *ast.MappingNode, *ast.MappingValueNode:
	default:
		if one {
			return []ast.Node{n}, true
		}
	}
	p.errorf(n, "%s must be a list, not %s", what, describe(n))
	return nil, false
}

// texts reads a list of text (or one text, when one is true).
func (p *parser) texts(e entry, what string, one bool) []string {
	items, ok := p.list(e, what, one)
	if !ok {
		return nil
	}
	var out []string
	for _, it := range items {
		if s, ok := p.text(entry{key: e.key, pos: posOf(it), val: it}, "each of "+what); ok {
			out = append(out, s)
		}
	}
	return out
}

// duration reads a duration; zero is allowed when zeroOK.
func (p *parser) duration(e entry, what string, zeroOK bool) (time.Duration, bool) {
	n := p.unwrap(e.val)
	if n == nil {
		return 0, false
	}
	if _, isInt := n.(*ast.IntegerNode); isInt {
		p.errorf(n, "%s %s has no unit: write it as 90m, 2h, 2d or 1w", what, n.GetToken().Value)
		return 0, false
	}
	s, ok := p.text(e, what)
	if !ok {
		return 0, false
	}
	v, err := parseDuration(s)
	switch {
	case err != nil && japaneseDuration(s) != "":
		p.errorf(n, "%s %q: write it as %q (units are s, m, h, d for days and w for weeks)", what, s, japaneseDuration(s))
		return 0, false
	case err != nil:
		p.errorf(n, "%s %q: %v", what, s, err)
		return 0, false
	case v == 0 && !zeroOK:
		p.errorf(n, "%s cannot be zero", what)
		return 0, false
	}
	return v, true
}

// date reads a date and time in the scenario's time zone (see ParseTime); ok is
// false after an error.
func (p *parser) date(e entry, what string, dateOK bool) (t time.Time, ok bool) {
	t, _, ok = p.dateOnly(e, what, dateOK)
	return t, ok
}

// dateOnly is date, also reporting whether the value was a date alone.
func (p *parser) dateOnly(e entry, what string, dateOK bool) (t time.Time, dateOnly, ok bool) {
	s, ok := p.text(e, what)
	if !ok {
		return time.Time{}, false, false
	}
	t, dateOnly, err := parseTime(s, p.loc, dateOK)
	if err != nil {
		p.errorf(p.unwrap(e.val), "%s %v", what, err)
		return time.Time{}, false, false
	}
	return t, dateOnly, true
}

// suggest is " (did you mean "x"?)" for the known word nearest to word, when one is
// near enough to be a typo, or the list of known words.
func suggest(word string, known []string) lang.Message {
	if best := nearest(word, known); best != "" {
		return lang.New(" (did you mean %q?)", best)
	}
	return lang.New(" (known keys: %s)", strings.Join(known, ", "))
}

// nearest is the known word within typo distance of word, or "": one edit for
// words of up to four letters, two for longer ones.
func nearest(word string, known []string) string {
	best, bestD := "", 3
	lw := strings.ToLower(word)
	for _, k := range known {
		d := lang.EditDistance(lw, k)
		limit := 2
		if len([]rune(k)) <= 4 {
			limit = 1
		}
		if d < bestD && d <= limit {
			best, bestD = k, d
		}
	}
	return best
}
