package scenario

import (
	"errors"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	exprast "github.com/expr-lang/expr/ast"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
	"github.com/nurture-dev/nurture/engine/lang"
	"github.com/robfig/cron/v3"
)

// EventTypes are the event types the engine itself records (docs/ARCHITECTURE.md
// lists them), plus manual. A trigger may also name a custom type sent through the API,
// as long as it does not look like a misspelt one of these.
var EventTypes = []string{
	"lead_created", "lead_updated", "form_submitted", "page_visited", "email_sent",
	"email_opened", "email_clicked", "email_bounced", "email_complained", "unsubscribed",
	"enrolled", "scenario_exited", "score_changed", "stage_changed", "grade_changed", "score_crossed",
	"escalation_requested", "lead_assigned", "alert_sent", "lead_accepted",
	"lead_rejected", "manual",
}

// cronParser reads standard five-field specs and descriptors such as @monthly.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// eventTypeRE is what a custom event type may look like.
var eventTypeRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.\-]{0,99}$`)

// trigger reads trigger: {event | schedule, if}. A schedule runs in the window's time
// zone, or UTC without one.
func (p *parser) trigger(e entry, w *SendWindow) Trigger {
	var t Trigger
	o := p.object(e.val, "in trigger", triggerKeys)
	if o == nil {
		return t
	}
	ev, hasEvent := o.get("event")
	sc, hasSchedule := o.get("schedule")
	switch {
	case hasEvent && hasSchedule:
		p.errorAt(sc.pos, "a trigger has either an event or a schedule, not both")
	case !hasEvent && !hasSchedule && o.lacks("event") && o.lacks("schedule"):
		p.errorAt(e.pos, "the trigger says neither when (event: form_submitted) nor how often (schedule: \"0 9 * * MON-FRI\") a lead enters")
	}
	if hasEvent {
		if s, ok := p.text(ev, "the trigger's event"); ok {
			switch {
			case slices.Contains(EventTypes, s):
				t.Event = s
			case !eventTypeRE.MatchString(s):
				p.errorf(ev.val, "the event %q is not an event type such as form_submitted", s)
			case nearest(s, EventTypes) != "":
				p.errorf(ev.val, "unknown event %q (did you mean %q?)", s, nearest(s, EventTypes))
			default:
				t.Event = s // a custom event type
			}
		}
	}
	if hasSchedule {
		p.schedule(&t, sc, w)
	}
	if c, ok := o.get("if"); ok {
		t.If = p.expr(c)
		if t.If != nil && hasSchedule && !hasEvent && usesName(t.If, "event") {
			p.errorAt(t.If.Pos, "a scheduled trigger has no event: its condition can only look at the lead")
		}
	}
	return t
}

// schedule reads schedule: "cron spec", { cron: "cron spec", until: date } or
// { at: date }. A cron spec that names a day of one month fires every year: it needs
// an end (until:), or until: never when it is meant to repeat.
func (p *parser) schedule(t *Trigger, e entry, w *SendWindow) {
	n := p.unwrap(e.val)
	switch n.(type) {
	case nil:
		return
	case *ast.MappingNode, *ast.MappingValueNode:
	default:
		if s, ok := p.text(e, "the trigger's schedule"); ok {
			t.Schedule = s
			t.Cron = p.cron(e.val, s, w)
			if t.Cron != nil && yearly(s) {
				p.errorf(n, "the schedule %q fires on the same date every year, so a lead can get it again a year later: "+
					"give it an end, as schedule: { cron: %q, until: 2027-03-01 }, fire it once with schedule: { at: 2027-02-09T10:00 }, "+
					"or write schedule: { cron: %q, until: never } if it is meant to repeat every year", s, s, s)
			}
		}
		return
	}
	o := p.object(n, "in schedule", scheduleKeys)
	if o == nil {
		return
	}
	c, hasCron := o.get("cron")
	a, hasAt := o.get("at")
	u, hasUntil := o.get("until")
	switch {
	case hasCron && hasAt:
		p.errorAt(a.pos, "a schedule fires either by cron: or once at: a date, not both")
		return
	case hasAt:
		if hasUntil {
			p.errorAt(u.pos, "until goes with cron:; a schedule with at: fires once")
		}
		if at, ok := p.date(a, "at", false); ok {
			t.At, t.Cron = at, onceSchedule{at}
		}
		return
	case !hasCron:
		if o.lacks("cron") && o.lacks("at") {
			p.errorAt(o.pos, "the schedule needs cron: \"0 10 * * MON\" (with until: for its end) or at: 2027-02-09T10:00 to fire once")
		}
		return
	}
	spec, ok := p.text(c, "cron")
	if !ok {
		return
	}
	t.Schedule = spec
	sched := p.cron(c.val, spec, w)
	if sched == nil {
		return
	}
	if !hasUntil {
		if yearly(spec) && o.lacks("until") {
			p.errorf(c.val, "the schedule %q fires on the same date every year, so a lead can get it again a year later: "+
				"add until: with the last date it may fire (such as until: 2027-03-01), or until: never if it is meant to repeat every year", spec)
		}
		t.Cron = sched
		return
	}
	if v, ok := scalarText(p.unwrap(u.val)); ok && strings.TrimSpace(v) == "never" {
		t.Cron = sched
		return
	}
	until, dateOnly, ok := p.dateOnly(u, "until", true)
	if !ok {
		return
	}
	if dateOnly { // the whole of that day
		y, m, d := until.Date()
		until = time.Date(y, m, d, 23, 59, 59, 0, until.Location())
	}
	t.Until, t.Cron = until, boundedSchedule{cron: sched, until: until}
}

// yearly reports whether a cron spec fires on the same date every year: @yearly, or a
// day of the month in one month.
func yearly(spec string) bool {
	switch strings.ToLower(strings.TrimSpace(spec)) {
	case "@yearly", "@annually":
		return true
	}
	f := strings.Fields(spec)
	return len(f) == 5 && !strings.ContainsAny(f[2], "*?/") && !strings.ContainsAny(f[3], "*?-/,")
}

// cron parses a schedule in the window's time zone.
func (p *parser) cron(n ast.Node, spec string, w *SendWindow) cron.Schedule {
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		p.errorf(n, "a schedule takes its time zone from send_window's timezone; remove %q", strings.Fields(spec)[0])
		return nil
	}
	if strings.HasPrefix(spec, "@every") {
		p.errorf(n, "a schedule is a time of day such as \"0 9 * * MON\" or @daily, not @every")
		return nil
	}
	sched, err := cronParser.Parse(spec)
	if err != nil {
		p.errorf(n, "the schedule %q is not a cron spec such as \"0 9 * * MON-FRI\" (minute hour day month weekday) or @daily: %v", spec, err)
		return nil
	}
	loc := time.UTC
	if w != nil && w.Location != nil {
		loc = w.Location
	}
	if ss, ok := sched.(*cron.SpecSchedule); ok {
		ss.Location = loc
	}
	if sched.Next(time.Date(2024, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		p.errorf(n, "the schedule %q never happens", spec)
		return nil
	}
	return sched
}

// reenroll reads never, always or "after 90d".
func (p *parser) reenroll(e entry) Reenroll {
	r := Reenroll{Kind: ReenrollNever}
	s, ok := p.text(e, "reenroll")
	if !ok {
		return r
	}
	switch {
	case s == ReenrollNever, s == ReenrollAlways:
		r.Kind = s
	case strings.HasPrefix(s, "after "):
		d, err := parseDuration(strings.TrimPrefix(s, "after "))
		switch {
		case err != nil:
			p.errorf(e.val, "reenroll %q: %v", s, err)
		case d == 0:
			p.errorf(e.val, "reenroll %q: the time cannot be zero; use always", s)
		default:
			r = Reenroll{Kind: ReenrollAfter, After: d}
		}
	default:
		p.errorf(e.val, "reenroll must be never, always or a time such as \"after 90d\", not %q", s)
	}
	return r
}

// window reads send_window. Without days every day is allowed, without hours the
// whole day, and without a timezone it is UTC.
func (p *parser) window(e entry) *SendWindow {
	o := p.object(e.val, "in send_window", windowKeys)
	if o == nil {
		return nil
	}
	w := &SendWindow{From: 0, To: 24 * 60, Location: time.UTC}
	if d, ok := o.get("days"); ok {
		items, _ := p.list(d, "days", true)
		for _, it := range items {
			s, ok := p.text(entry{key: "days", pos: posOf(it), val: it}, "a day")
			if !ok {
				continue
			}
			wd, ok := weekdays[strings.ToLower(s)]
			if !ok {
				p.errorf(it, "unknown day %q: days are mon, tue, wed, thu, fri, sat and sun%s", s, didYouMean(strings.ToLower(s), []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}))
				continue
			}
			w.Days[wd] = true
		}
		if len(items) == 0 {
			p.errorAt(d.pos, "days is empty: list the days mail may go out, such as [mon, tue, wed, thu, fri]")
		}
	} else {
		w.Days = [7]bool{true, true, true, true, true, true, true}
	}
	if h, ok := o.get("hours"); ok {
		if s, ok := p.text(h, "hours"); ok {
			from, to, err := parseHours(s)
			if err != nil {
				p.errorf(h.val, "%v", err)
			} else {
				w.From, w.To = from, to
			}
		}
	}
	if z, ok := o.get("timezone"); ok {
		if s, ok := p.text(z, "timezone"); ok {
			loc, err := loadLocation(s)
			if err != nil {
				p.errorf(z.val, "unknown time zone %q: use a name such as Asia/Tokyo or UTC", s)
			} else {
				w.Location, p.windowZone = loc, loc
			}
		}
	}
	if c, ok := o.get("skip_holidays"); ok {
		if s, ok := p.text(c, "skip_holidays"); ok {
			if _, known := holidayCalendars[strings.ToUpper(s)]; !known {
				p.errorf(c.val, "unknown holiday calendar %q: only JP (Japanese national holidays) is known", s)
			} else {
				w.SkipHolidays = strings.ToUpper(s)
			}
		}
	}
	return w
}

// loadLocation loads a named time zone; unlike time.LoadLocation it refuses "" and
// "Local", which would depend on the machine.
func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" || len(name) > 64 {
		return nil, errors.New("not a zone name")
	}
	return time.LoadLocation(name)
}

// didYouMean is " (did you mean "x"?)" or "".
func didYouMean(word string, known []string) lang.Message {
	if best := nearest(word, known); best != "" {
		return lang.New(" (did you mean %q?)", best)
	}
	return lang.Message{}
}

// exprFieldRE finds expr's "no field" errors, to say them in a marketer's words.
var exprFieldRE = regexp.MustCompile(`^type scenario\.(LeadEnv|EventEnv) has no field (\S+)$`)

// expr compiles a condition, placing a compile error at its position in the file.
func (p *parser) expr(e entry) *Expr {
	n := p.unwrap(e.val)
	if n == nil {
		return nil
	}
	src, ok := scalarText(n)
	if !ok {
		if _, null := n.(*ast.NullNode); null {
			p.errorAt(e.pos, "%s is empty: write a condition such as lead.score >= 50", e.key)
		} else {
			p.errorf(n, "%s must be a condition such as lead.score >= 50, not %s", e.key, describe(n))
		}
		return nil
	}
	if strings.TrimSpace(src) == "" {
		p.errorf(n, "%s is empty: write a condition such as lead.score >= 50", e.key)
		return nil
	}
	start := p.textStart(n)
	x, err := CompileExpr(src)
	if err != nil {
		var ee *ExprError
		if !errors.As(err, &ee) {
			p.errorAt(start, "%s: %v", e.key, err)
			return nil
		}
		at := p.exprPos(n, start, ee.Line, ee.Column)
		if sub := exprFieldRE.FindStringSubmatch(ee.Msg); sub != nil {
			// expr names the Go type; say it in the words of the file.
			field := sub[2]
			if sub[1] == "EventEnv" {
				p.errorAt(at, "%s does not compile: event has no field %q%s", e.key, field, didYouMean(field, fieldNames(reflect.TypeFor[EventEnv]())))
				return nil
			}
			if near := nearest(field, fieldNames(reflect.TypeFor[LeadEnv]())); near != "" {
				p.errorAt(at, "%s does not compile: lead has no field %q (did you mean %q?)", e.key, field, near)
				return nil
			}
			p.errorAt(at, "%s does not compile: lead has no field %q; a field of your own is written lead.attributes[%q]", e.key, field, field)
			return nil
		}
		p.errorAt(at, "%s does not compile: %s", e.key, ee.Msg)
		return nil
	}
	x.Pos = start
	return x
}

// textStart is where a scalar's text starts: after the quote of a quoted scalar,
// and on the line after the indicator of a block scalar.
func (p *parser) textStart(n ast.Node) Pos {
	pos := posOf(n)
	switch v := n.(type) {
	case *ast.StringNode:
		if t := v.GetToken(); t.Type == token.DoubleQuoteType || t.Type == token.SingleQuoteType {
			pos.Column++
		}
	case *ast.LiteralNode:
		pos.Line++
		pos.Column = p.indent(pos.Line) + 1
	}
	return pos
}

// exprPos turns a line and column inside an expression into a file position. It is
// exact for one-line scalars and literal (|) blocks; folded text is placed at its
// start.
func (p *parser) exprPos(n ast.Node, start Pos, line, col int) Pos {
	switch v := n.(type) {
	case *ast.LiteralNode:
		if v.Start != nil && v.Start.Type == token.LiteralType {
			return Pos{start.Line + line - 1, start.Column + col - 1}
		}
		return start
	case *ast.StringNode:
		origin := strings.TrimSpace(v.GetToken().Origin)
		if line == 1 && !strings.Contains(origin, "\n") || line == 1 && col <= strings.IndexByte(origin, '\n') {
			return Pos{start.Line, start.Column + col - 1}
		}
		return start
	}
	return Pos{start.Line, start.Column + col - 1}
}

// indent is the number of leading spaces on a line of the file.
func (p *parser) indent(line int) int {
	lines := strings.SplitN(string(p.src), "\n", line+1)
	if line < 1 || line > len(lines) {
		return 0
	}
	l := lines[line-1]
	return len(l) - len(strings.TrimLeft(l, " "))
}

// usesName reports whether a condition refers to a top-level name such as "event".
func usesName(x *Expr, name string) bool {
	found := false
	node := x.prog.Node()
	exprast.Find(node, func(n exprast.Node) bool {
		if id, ok := n.(*exprast.IdentifierNode); ok && id.Value == name {
			found = true
		}
		return found
	})
	return found
}

// fieldNames are the expr names of a struct's fields.
func fieldNames(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		if n := f.Tag.Get("expr"); n != "" {
			out = append(out, n)
		}
	}
	return out
}
