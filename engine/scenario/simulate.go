package scenario

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nurture-dev/nurture/engine/lang"
)

// DefaultSimStart is when a simulation starts unless told otherwise: a Monday at
// 10:00 in Tokyo that is not a holiday, so that send windows open at once.
var DefaultSimStart = time.Date(2026, 4, 6, 10, 0, 0, 0, time.FixedZone("JST", 9*60*60))

// DefaultSimHorizon is how much virtual time a simulation runs before it stops with
// the enrollment still running.
const DefaultSimHorizon = 400 * 24 * time.Hour

// maxSimRuns bounds the Advance calls of one simulation; a scenario that loops on a
// short wait reaches the horizon well before it.
const maxSimRuns = 100_000

// SimOptions tune a simulation; the zero value is the defaults.
type SimOptions struct {
	// Start is when the lead enters. Defaults to DefaultSimStart. A scheduled
	// trigger starts at its first firing at or after Start.
	Start time.Time
	// Horizon is how long the simulation runs at most. Defaults to DefaultSimHorizon.
	Horizon time.Duration
	// Settle is how long a click waits before a wait_until step believes it, as
	// NURTURE_CLICK_SETTLE does in production. Defaults to 0: believed at once.
	Settle time.Duration
	// CheckTrigger, when set, enrolls the lead only if the trigger admits it with
	// the trigger event. A scheduled trigger's condition is always checked.
	CheckTrigger bool
	// Subject, when set, gives the subject of a template as the lead would get it,
	// so that the timeline shows each mail's subject (a send step's own subject:
	// is shown as it is). The scenario package does not render templates: the
	// caller that has them loaded does. Defaults to nil: no subjects shown.
	Subject func(template string, lead LeadEnv) (string, error)
}

// Simulation is what happened to one lead in one scenario on a virtual clock.
type Simulation struct {
	Scenario *Scenario
	// Start is when the lead entered; Location is the time zone times are shown in
	// (the lead's, the send window's, or Start's).
	Start    time.Time
	Location *time.Location
	// Enrolled is false when the trigger did not let the lead in; Lines say why.
	Enrolled bool
	// Lines are the timeline, in time order.
	Lines       []Line
	Sends       []Sent
	Escalations []Escalation
	// Lead is the lead at the end, with the changes of update and stage steps.
	Lead LeadEnv
	// Ended is how the enrollment ended (ExitCompleted, ExitGoal, ExitExit), or ""
	// when it was still running at the horizon; EndedAt is when, and Step where it
	// stood at the horizon.
	Ended   string
	EndedAt time.Time
	Step    string
	// Problems are test events that could not happen (a click on a message not sent
	// yet); they are also in Lines.
	Problems []string

	lead0    *LeadEnv       // the lead as it entered
	problems []lang.Message // Problems as messages, for ProblemsIn
	subject  func(template string, lead LeadEnv) (string, error)
}

// Line is one line of a timeline.
type Line struct {
	At time.Time
	// Step is the step the line is about, or "" for the lead's own events and the end.
	Step string
	// Text says what happened and why.
	Text string
	// Problem marks a test event that could not happen.
	Problem bool

	msg lang.Message // Text as a message, when it was written as one
}

// In is the line's text in l, as far as it was written as a message; the steps'
// own lines are in English.
func (l Line) In(lg lang.Lang) string {
	if l.msg.Format != "" {
		return l.msg.In(lg)
	}
	return l.Text
}

// ProblemsIn is Problems in l.
func (sim *Simulation) ProblemsIn(l lang.Lang) []string {
	out := make([]string, len(sim.problems))
	for i, p := range sim.problems {
		out[i] = p.In(l)
	}
	return out
}

// Sent is one message a send step sent.
type Sent struct {
	At                               time.Time
	Step, Template, Variant, Subject string
}

// Escalation is one hand-off to sales.
type Escalation struct {
	At           time.Time
	Step, Reason string
}

// SentSteps are the ids of the send steps that sent, in order.
func (sim *Simulation) SentSteps() []string {
	out := make([]string, len(sim.Sends))
	for i, s := range sim.Sends {
		out[i] = s.Step
	}
	return out
}

// Offset writes how long after the start t is, as "+2d01h" (minutes when not whole).
func (sim *Simulation) Offset(t time.Time) string {
	d := t.Sub(sim.Start)
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	days, rest := d/(24*time.Hour), d%(24*time.Hour)
	s := fmt.Sprintf("%s%dd%02dh", sign, days, rest/time.Hour)
	if m := rest % time.Hour / time.Minute; m != 0 {
		s += fmt.Sprintf("%02dm", m)
	}
	return s
}

// Simulate runs a scenario for a lead from its trigger event on a virtual clock,
// with Advance, the step code the workers run. Test events happen at their time
// after the start: an open or click is recorded on the latest message its send step
// sent by then and wakes a wait_until step waiting on it; another event ends the
// enrollment when it reaches the goal or makes exit_if true (a stage_changed event
// with a "to" property also sets the lead's stage; unsubscribed, email_complained and
// a hard email_bounced end it as suppressed). Between events the clock jumps
// to the time the scenario wakes. The simulation ends with the enrollment or at the
// horizon. It is deterministic: the same input gives the same timeline.
func Simulate(s *Scenario, l LeadEnv, trigger EventEnv, events []TestEvent, opt SimOptions) (*Simulation, error) {
	if len(s.Steps) == 0 {
		return nil, fmt.Errorf("scenario %s has no steps", s.ID)
	}
	start := s.SimStart(opt.Start)
	horizon := cmp.Or(opt.Horizon, DefaultSimHorizon)
	var tz *time.Location
	if l.Timezone != "" {
		loc, err := time.LoadLocation(l.Timezone)
		if err != nil {
			return nil, fmt.Errorf("the lead's timezone %q: %w", l.Timezone, err)
		}
		tz = loc
	}
	// Times are shown in the zone Advance counts in: the lead's, the window's or UTC.
	sim := &Simulation{Scenario: s, Location: s.loc(&Input{Location: tz}), subject: opt.Subject}
	start = start.In(sim.Location)
	sim.Start = start
	l = cloneLead(l)
	lead0 := cloneLead(l)
	sim.lead0 = &lead0
	hist := &MemHistory{}
	l = l.WithHistory(hist)

	if s.Trigger.Cron != nil && s.Trigger.Cron.Next(start.Add(-time.Second)).IsZero() {
		sim.say(start, "", lang.New("not enrolled: the schedule does not fire on or after %s", start.Format("2006-01-02 15:04")), false)
		sim.Lead, sim.EndedAt = l, start
		return sim, nil
	}
	if s.Trigger.Cron != nil || opt.CheckTrigger {
		if s.Trigger.Cron != nil {
			trigger = EventEnv{Type: "schedule", At: start}
		}
		if trigger.At.IsZero() {
			trigger.At = start
		}
		ok, err := s.Admits(l, trigger, start)
		if err != nil {
			return nil, fmt.Errorf("trigger: %w", err)
		}
		if !ok {
			why := lang.New("not enrolled: the trigger's event is %s, not %s", s.Trigger.Event, trigger.Type)
			if s.Trigger.If != nil && (s.Trigger.Event == "" || trigger.Type == s.Trigger.Event) {
				why = lang.New("not enrolled: the trigger's condition is false: %s", s.Trigger.If.Source)
			}
			sim.say(start, "", why, false)
			sim.Lead, sim.EndedAt = l, start
			return sim, nil
		}
	}
	sim.Enrolled = true
	if trigger.Type != "" {
		hist.Add(trigger.Type, cmp.Or(trigger.At, start), trigger.Props)
	}
	enters := "enters"
	switch {
	case !s.Trigger.At.IsZero():
		enters += " on the schedule at " + s.Trigger.At.In(sim.Location).Format("2006-01-02 15:04")
	case s.Trigger.Cron != nil:
		enters += " on the schedule " + s.Trigger.Schedule
	case trigger.Type != "":
		enters += " on " + describeEvent(trigger.Type, trigger.Props)
	case s.Trigger.Event != "":
		enters += " on " + s.Trigger.Event
	}
	sim.add(start, "", enters)

	// Events happen in time order (file order for the same time); one timed from a
	// send waits until the send step has sent.
	evs := slices.Clone(events)
	nextEvent := func() (TestEvent, time.Time, bool) {
		best, bestAt := -1, time.Time{}
		for i, ev := range evs {
			at, ok := sim.eventTime(ev)
			if ok && (best < 0 || at.Before(bestAt)) {
				best, bestAt = i, at
			}
		}
		if best < 0 {
			return TestEvent{}, time.Time{}, false
		}
		ev := evs[best]
		evs = slices.Delete(evs, best, best+1)
		return ev, bestAt, true
	}
	peekEvent := func() (time.Time, bool) {
		var first time.Time
		found := false
		for _, ev := range evs {
			if at, ok := sim.eventTime(ev); ok && (!found || at.Before(first)) {
				first, found = at, true
			}
		}
		return first, found
	}
	hits := &simEngagement{}
	in := &Input{Lead: &l, Location: tz, Engagement: hits, Settle: opt.Settle}
	st := State{Step: s.Steps[0].ID, StepAt: start}
	end := start.Add(horizon)
	now := start
	var waiting *Wait
	finish := func(reason string, at time.Time) (*Simulation, error) {
		sim.Ended, sim.EndedAt, sim.Lead = reason, at, l
		sim.unsent(evs)
		return sim, nil
	}

	for range maxSimRuns {
		in.Now = now
		r, err := s.Advance(in, st)
		if err != nil {
			return nil, err
		}
		sim.record(now, r, hits, l)
		if r.Ended != "" {
			return finish(r.Ended, now)
		}
		st, waiting = r.State, r.Waiting
		wake := r.WakeAt

		// Events up to the wake, each of which may end the enrollment or wake it early.
		woken := false
		for !woken {
			at, ok := peekEvent()
			if !ok || !wake.IsZero() && at.After(wake) || at.After(end) {
				break
			}
			ev, _, _ := nextEvent()
			if at.Before(start) {
				sim.say(at, "", lang.New("an event at %s: but the lead only enters at %s", at.In(sim.Location).Format("2006-01-02 15:04"),
					start.Format("2006-01-02 15:04")), true)
				continue
			}
			var ee EventEnv
			if ev.Engage != "" {
				what := string(ev.Engage) + " " + ev.Ref
				if ev.Link != "" {
					what += " (link " + ev.Link + ")"
				}
				if !hits.hit(ev, at) {
					sim.say(at, "", lang.New("%s: but %s had sent nothing by then", what, ev.Ref), true)
					continue
				}
				sim.add(at, "", "the lead "+what)
				typ := "email_opened"
				if ev.Engage == Clicked {
					typ = "email_clicked"
				}
				hist.Add(typ, at, map[string]any{"verdict": "human"})
				ee = EventEnvOf(typ, at, map[string]any{"link_name": ev.Link, "step": ev.Ref})
				woken = waiting != nil && waiting.Ref == ev.Ref
			} else {
				hist.Add(ev.Type, at, ev.Props)
				ee = EventEnvOf(ev.Type, at, ev.Props)
				if ee.Type == "stage_changed" && ee.To != "" {
					ee.From = l.Stage
					l.Stage, l.StageChangedAt = ee.To, at
				}
				sim.add(at, "", "the lead: "+describeEvent(ev.Type, ev.Props))
				// As engine/flow: an address that must not be mailed ends every enrollment.
				if kind, _ := ev.Props["kind"].(string); ee.Type == "unsubscribed" || ee.Type == "email_complained" ||
					ee.Type == "email_bounced" && kind == "hard" {
					sim.add(at, "", "end (suppressed): the address may not be mailed any more")
					return finish(ExitSuppressed, at)
				}
			}
			if ok, err := s.Reaches(l, ee, at); err != nil {
				return nil, fmt.Errorf("goal: %w", err)
			} else if ok {
				sim.add(at, "", "end (goal): the goal is reached: "+s.Goal.Source)
				return finish(ExitGoal, at)
			}
			if ok, err := s.Exits(l, at); err != nil {
				return nil, fmt.Errorf("exit_if: %w", err)
			} else if ok {
				sim.add(at, "", "end (exit): exit_if is true: "+s.ExitIf.Source)
				return finish(ExitExit, at)
			}
			if woken {
				now = at
			}
		}
		if woken {
			continue
		}
		if wake.IsZero() || wake.After(end) {
			break
		}
		now = wake
	}
	sim.Step, sim.EndedAt = st.Step, end
	sim.unsent(evs)
	sim.add(end, "", fmt.Sprintf("still running at %s after %s, at step %s", end.In(sim.Location).Format("2006-01-02 15:04"), formatDuration(horizon), st.Step))
	sim.Lead, sim.EndedAt = l, end
	return sim, nil
}

// eventTime is when a test event happens: at its date, its time after the start, or
// its time after its send step first sent; false while that step has not sent.
func (sim *Simulation) eventTime(ev TestEvent) (time.Time, bool) {
	switch {
	case !ev.At.IsZero():
		return ev.At, true
	case ev.AfterSent != "":
		for _, m := range sim.Sends {
			if m.Step == ev.AfterSent {
				return m.At.Add(ev.After), true
			}
		}
		return time.Time{}, false
	}
	return sim.Start.Add(ev.After), true
}

// unsent reports the events timed from a send step that never sent: they could not
// happen.
func (sim *Simulation) unsent(evs []TestEvent) {
	for _, ev := range evs {
		if _, ok := sim.eventTime(ev); !ok {
			sim.say(sim.EndedAt, "", lang.New("an event %s after %s sent: but %s sent nothing", formatDuration(ev.After), ev.AfterSent, ev.AfterSent), true)
		}
	}
}

// SimStart is when a simulation asked to start at start (zero: DefaultSimStart)
// really starts: then, or for a scheduled trigger its first firing at or after then.
func (s *Scenario) SimStart(start time.Time) time.Time {
	if start.IsZero() {
		start = DefaultSimStart
	}
	if s.Trigger.Cron != nil {
		if next := s.Trigger.Cron.Next(start.Add(-time.Second)); !next.IsZero() {
			return next
		}
	}
	return start
}

// add adds a line in English only, as the steps' trace lines are.
func (sim *Simulation) add(at time.Time, step, text string) {
	sim.Lines = append(sim.Lines, Line{At: at, Step: step, Text: text})
}

// say adds a line written as a message, which can be printed in a language.
func (sim *Simulation) say(at time.Time, step string, m lang.Message, problem bool) {
	sim.Lines = append(sim.Lines, Line{At: at, Step: step, Text: m.String(), Problem: problem, msg: m})
	if problem {
		p := lang.New("%s %s", sim.Offset(at), m)
		sim.Problems = append(sim.Problems, p.String())
		sim.problems = append(sim.problems, p)
	}
}

// record keeps what an Advance did; l is the lead as the Advance left it. A mail's
// subject is shown on the line after the one that says it was sent.
func (sim *Simulation) record(now time.Time, r *Result, hits *simEngagement, l LeadEnv) {
	subjects := map[string][]lang.Message{} // by send step, in the order sent
	for _, a := range r.Actions {
		switch a.Kind {
		case ActSend:
			m := Sent{At: now, Step: a.Step, Template: a.Template, Variant: a.Variant, Subject: a.Subject}
			var err error
			if m.Subject == "" && sim.subject != nil {
				m.Subject, err = sim.subject(a.Template, l)
			}
			switch {
			case err != nil:
				subjects[a.Step] = append(subjects[a.Step], lang.New("%s: the subject of %s could not be made: %v", a.Step, a.Template, err))
			case m.Subject != "":
				subjects[a.Step] = append(subjects[a.Step], lang.New("%s: subject %q", a.Step, m.Subject))
			}
			sim.Sends = append(sim.Sends, m)
			hits.send(a.Step, now)
		case ActEscalate:
			sim.Escalations = append(sim.Escalations, Escalation{At: now, Step: a.Step, Reason: a.Reason})
		}
	}
	for _, line := range r.Trace {
		step, rest, _ := strings.Cut(line, ": ")
		if sim.Scenario.Step(step) == nil {
			step = ""
		}
		sim.add(now, step, line)
		if ms := subjects[step]; step != "" && len(ms) > 0 && strings.HasPrefix(rest, "sends ") {
			sim.say(now, step, ms[0], false)
			subjects[step] = ms[1:]
		}
	}
	for _, a := range r.Actions { // subjects of sends no line spoke of, in the order sent
		for _, m := range subjects[a.Step] {
			sim.say(now, a.Step, m, false)
		}
		delete(subjects, a.Step)
	}
}

// simEngagement is the Engagement of a simulation: the test events' opens and clicks
// on the messages sent so far.
type simEngagement struct {
	msgs map[string][]*simMessage // by send step, oldest first
}

type simMessage struct {
	at   time.Time
	hits []simHit
}

type simHit struct {
	kind EngageKind
	link string
	at   time.Time
}

func (g *simEngagement) send(step string, at time.Time) {
	if g.msgs == nil {
		g.msgs = map[string][]*simMessage{}
	}
	g.msgs[step] = append(g.msgs[step], &simMessage{at: at})
}

// hit records an open or click on the latest message of its step; false when the
// step has sent nothing.
func (g *simEngagement) hit(ev TestEvent, at time.Time) bool {
	ms := g.msgs[ev.Ref]
	if len(ms) == 0 {
		return false
	}
	m := ms[len(ms)-1]
	m.hits = append(m.hits, simHit{kind: ev.Engage, link: ev.Link, at: at})
	return true
}

// FirstEngaged implements Engagement as engine/flow does: the latest message of the
// step.
func (g *simEngagement) FirstEngaged(ref string, kind EngageKind, link string) (time.Time, bool, error) {
	ms := g.msgs[ref]
	if len(ms) == 0 {
		return time.Time{}, false, nil
	}
	for _, h := range ms[len(ms)-1].hits {
		if h.kind != kind || kind == Clicked && link != "" && h.link != link {
			continue
		}
		return h.at, true, nil // hits are recorded in time order
	}
	return time.Time{}, false, nil
}

// describeEvent writes an event as the simulate command takes it: "form_submitted
// form=demo-request".
func describeEvent(typ string, props map[string]any) string {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := []string{typ}
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, props[k]))
	}
	return strings.Join(parts, " ")
}

func cloneLead(l LeadEnv) LeadEnv {
	l.Tags = slices.Clone(l.Tags)
	if l.Tags == nil {
		l.Tags = []string{}
	}
	attrs := make(map[string]any, len(l.Attributes))
	for k, v := range l.Attributes {
		attrs[k] = v
	}
	l.Attributes = attrs
	return l
}

// ParseEvent reads a test event in the simulate command's notation: "<after>
// opened|clicked <step> [link]" (as "2d1h clicked case" or "3d clicked day3 key") or
// "<after> <event type> [key=value ...]" (as "3d form_submitted form=demo-request").
func ParseEvent(s string) (TestEvent, error) {
	var ev TestEvent
	f := strings.Fields(s)
	if len(f) < 2 {
		return ev, errors.New(`an event is "<after> clicked <step> [link]", "<after> opened <step>" or "<after> <event type> [key=value ...]", such as "2d1h clicked case"`)
	}
	d, err := parseDuration(f[0])
	if err != nil {
		return ev, fmt.Errorf("%q: %w", f[0], err)
	}
	ev.After = d
	switch f[1] {
	case string(Opened), string(Clicked):
		ev.Engage = EngageKind(f[1])
		switch {
		case len(f) < 3:
			return ev, fmt.Errorf("%s what? name the send step, such as %q", f[1], f[0]+" "+f[1]+" case")
		case len(f) > 4 || len(f) == 4 && ev.Engage == Opened:
			return ev, fmt.Errorf("too many words in %q: after %s come the send step and, for clicked, a link's name", s, f[1])
		}
		ev.Ref = f[2]
		if len(f) == 4 {
			ev.Link = f[3]
		}
		return ev, nil
	}
	if msg := checkID(f[1]); msg != "" || strings.ContainsAny(f[1], "=.") {
		return ev, fmt.Errorf("%q is not an event type such as form_submitted, or opened or clicked", f[1])
	}
	ev.Type = f[1]
	for _, kv := range f[2:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return ev, fmt.Errorf("%q is not key=value, such as form=demo-request", kv)
		}
		if ev.Props == nil {
			ev.Props = map[string]any{}
		}
		ev.Props[k] = v
	}
	return ev, nil
}

// leadKeys are the fields a test's lead (and the simulate command's --lead) may give,
// as LeadFromMap takes them, in the order a marketer reads them.
var leadKeys = []string{"id", "email", "first_name", "last_name", "company", "department", "title", "phone",
	"employees", "industry", "country", "timezone", "source", "tags", "attributes", "consent", "stage", "score",
	"grade", "bant", "created_at", "stage_changed_at"}

// LeadFromMap makes a lead from its fields by their JSON names, as a test or the
// simulate command gives them. Numbers may be ints or floats; tags a list or one
// tag; times RFC 3339, a date, or "120d ago" (before now), and a time not given is
// unknown, which days_since counts as infinitely long ago. Stage defaults to inquiry,
// grade to cold and consent to unknown, as for a new lead; without an id, one is made
// from the email, so that A/B variants and splits are stable per test lead.
func LeadFromMap(m map[string]any, now time.Time) (LeadEnv, error) {
	l := LeadEnv{Stage: "inquiry", Grade: "cold", Consent: "unknown", Tags: []string{}, Attributes: map[string]any{}}
	var errs []error
	bad := func(k string, format string, args ...any) {
		errs = append(errs, lang.Errorf("lead %s: %s", k, lang.New(format, args...)))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := m[k]
		if v == nil {
			continue
		}
		text := func(dst *string) {
			switch x := v.(type) {
			case string:
				*dst = x
			case int64, float64, int:
				*dst = fmt.Sprint(x)
			default:
				bad(k, "must be text, not %v", v)
			}
		}
		number := func(dst *int) {
			n, ok := wholeNumber(v)
			if !ok {
				bad(k, "must be a whole number, not %v", v)
				return
			}
			*dst = n
		}
		when := func(dst *time.Time) {
			t, err := leadTime(v, now)
			if err != nil {
				bad(k, "%v", err)
				return
			}
			*dst = t
		}
		switch k {
		case "id":
			var n int
			number(&n)
			l.ID = int64(n)
		case "email":
			text(&l.Email)
		case "first_name":
			text(&l.FirstName)
		case "last_name":
			text(&l.LastName)
		case "company":
			text(&l.Company)
		case "department":
			text(&l.Department)
		case "title":
			text(&l.Title)
		case "phone":
			text(&l.Phone)
		case "industry":
			text(&l.Industry)
		case "country":
			text(&l.Country)
		case "timezone":
			text(&l.Timezone)
			if _, err := time.LoadLocation(l.Timezone); err != nil || l.Timezone == "" {
				bad(k, "%q is not a time zone such as Asia/Tokyo", l.Timezone)
			}
		case "source":
			text(&l.Source)
		case "consent":
			text(&l.Consent)
		case "grade":
			text(&l.Grade)
			if !slices.Contains([]string{"hot", "warm", "cold"}, l.Grade) {
				bad(k, "must be hot, warm or cold, not %q", l.Grade)
			}
		case "stage":
			text(&l.Stage)
			if !slices.Contains(Stages, l.Stage) {
				bad(k, "unknown stage %q: stages are %s", l.Stage, strings.Join(Stages, ", "))
			}
		case "employees":
			number(&l.Employees)
		case "score":
			number(&l.Score)
		case "tags":
			switch x := v.(type) {
			case string:
				l.Tags = []string{x}
			case []any:
				for _, t := range x {
					s, ok := t.(string)
					if !ok {
						bad(k, "must be a list of text, not %v", v)
						break
					}
					l.Tags = append(l.Tags, s)
				}
			case []string:
				l.Tags = slices.Clone(x)
			default:
				bad(k, "must be a list of text, not %v", v)
			}
		case "attributes":
			a, ok := v.(map[string]any)
			if !ok {
				bad(k, "must be keys and values, not %v", v)
				break
			}
			for ak, av := range a {
				l.Attributes[ak] = av
			}
		case "created_at":
			when(&l.CreatedAt)
		case "stage_changed_at":
			when(&l.StageChangedAt)
		case "bant":
			b, ok := v.(map[string]any)
			if !ok {
				bad(k, "must be budget, authority, need and timeframe, not %v", v)
				break
			}
			for bk, bv := range b {
				s := fmt.Sprint(bv)
				switch bk {
				case "budget":
					l.BANT.Budget = s
				case "authority":
					l.BANT.Authority = s
				case "need":
					l.BANT.Need = s
				case "timeframe":
					l.BANT.Timeframe = s
				default:
					bad(k, "%q is not one of budget, authority, need, timeframe", bk)
				}
			}
			l.BANT.Complete = l.BANT.Budget != "" && l.BANT.Authority != "" && l.BANT.Need != "" && l.BANT.Timeframe != ""
		default:
			bad(k, "is not something scenario conditions see%s; known: %s", didYouMean(k, leadKeys), strings.Join(leadKeys, ", "))
		}
	}
	if l.ID == 0 {
		h := fnv.New64a()
		h.Write([]byte(l.Email))
		l.ID = int64(h.Sum64()%math.MaxInt32) + 1
	}
	return l, errors.Join(errs...)
}

func wholeNumber(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			return int(x), true
		}
	case uint64:
		if x <= math.MaxInt32 {
			return int(x), true
		}
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt32 && x <= math.MaxInt32 {
			return int(x), true
		}
	case string:
		n, err := strconv.Atoi(x)
		return n, err == nil
	}
	return 0, false
}

// leadTime reads a time of a test lead: RFC 3339, a date (midnight in now's zone), or
// "120d ago".
func leadTime(v any, now time.Time) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		if t, ok := v.(time.Time); ok {
			return t, nil
		}
		return time.Time{}, lang.Errorf("must be a time such as 2026-01-05, 2026-01-05T09:00:00+09:00 or \"120d ago\", not %v", v)
	}
	if ago, ok := strings.CutSuffix(strings.TrimSpace(s), " ago"); ok {
		d, err := parseDuration(ago)
		if err != nil {
			return time.Time{}, lang.Errorf("%q: %w", s, err)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, now.Location()); err == nil {
		return t, nil
	}
	return time.Time{}, lang.Errorf("%q is not a time such as 2026-01-05, 2026-01-05T09:00:00+09:00 or \"120d ago\"", s)
}

// WriteTimeline writes the simulation for a marketer: the lead, each line of the
// timeline with its time in the scenario's time zone and its offset from the start,
// and what came of it.
func (sim *Simulation) WriteTimeline(w io.Writer) error {
	s := sim.Scenario
	when := func(t time.Time) string { return t.In(sim.Location).Format("2006-01-02 Mon 15:04") }
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s", s.ID)
	if s.Name != s.ID {
		fmt.Fprintf(&b, " (%s)", s.Name)
	}
	fmt.Fprintf(&b, ", version %s\n", s.Version)
	fmt.Fprintf(&b, "lead %s\n", describeLead(sim.startLead()))
	fmt.Fprintf(&b, "times in %s, from %s\n\n", sim.Location, when(sim.Start))
	for _, l := range sim.Lines {
		mark := " "
		if l.Problem {
			mark = "!"
		}
		fmt.Fprintf(&b, "%s %-20s %-8s %s\n", mark, when(l.At), sim.Offset(l.At), l.Text)
	}
	b.WriteString("\n")
	switch {
	case !sim.Enrolled:
		b.WriteString("not enrolled\n")
	case sim.Ended == "":
		fmt.Fprintf(&b, "still running at %s after %s\n", sim.Step, formatDuration(sim.EndedAt.Sub(sim.Start)))
	default:
		fmt.Fprintf(&b, "ended: %s at %s (%s)\n", sim.Ended, when(sim.EndedAt), sim.Offset(sim.EndedAt))
	}
	sent := make([]string, len(sim.Sends))
	for i, m := range sim.Sends {
		sent[i] = m.Step + " " + sim.Offset(m.At)
		if m.Variant != "" {
			sent[i] += " (variant " + m.Variant + ")"
		}
	}
	fmt.Fprintf(&b, "sent: %s\n", orNone(strings.Join(sent, ", ")))
	esc := make([]string, len(sim.Escalations))
	for i, e := range sim.Escalations {
		esc[i] = e.Step + " " + sim.Offset(e.At) + ": " + e.Reason
	}
	fmt.Fprintf(&b, "escalated: %s\n", orNone(strings.Join(esc, "; ")))
	fmt.Fprintf(&b, "lead at the end: stage %s, score %d, tags %s\n", sim.Lead.Stage, sim.Lead.Score, orNone(strings.Join(sim.Lead.Tags, " ")))
	_, err := io.WriteString(w, b.String())
	return err
}

// startLead is the lead as it entered.
func (sim *Simulation) startLead() LeadEnv {
	if sim.lead0 != nil {
		return *sim.lead0
	}
	return sim.Lead
}

func describeLead(l LeadEnv) string {
	parts := []string{cmpOr(l.Email, "(no email)")}
	for _, f := range []struct{ k, v string }{{"company", l.Company}, {"title", l.Title}} {
		if f.v != "" {
			parts = append(parts, f.k+" "+f.v)
		}
	}
	if l.Employees != 0 {
		parts = append(parts, fmt.Sprintf("employees %d", l.Employees))
	}
	parts = append(parts, "stage "+l.Stage, fmt.Sprintf("score %d", l.Score))
	if l.Grade != "" {
		parts = append(parts, "grade "+l.Grade)
	}
	if len(l.Tags) > 0 {
		parts = append(parts, "tags "+strings.Join(l.Tags, " "))
	}
	return strings.Join(parts, ", ")
}

func orNone(s string) string { return cmpOr(s, "none") }
