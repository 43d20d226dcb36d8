package scenario

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Exit reasons, as the scenario_exited event names them.
const (
	ExitCompleted  = "completed"
	ExitGoal       = "goal"
	ExitExit       = "exit"
	ExitSuppressed = "suppressed"
)

// State is where an enrollment stands: the step it is at and when it got there.
// Waits count from StepAt, so running a step again early changes nothing.
type State struct {
	Step   string
	StepAt time.Time
}

// Engagement tells whether the lead engaged with a message of this enrollment.
type Engagement interface {
	// FirstEngaged returns when the lead first opened (kind Opened) or clicked (kind
	// Clicked; only the link named link when it is not empty) the latest message sent
	// by the send step ref. Only hits judged human count. ok is false when there is
	// none. (A wait for an open also asks for clicks: images may be blocked.)
	FirstEngaged(ref string, kind EngageKind, link string) (at time.Time, ok bool, err error)
}

// Cap holds a lead's marketing mail to the frequency cap that every scenario shares.
type Cap interface {
	// Reserve counts a message of template for the lead at now and returns the zero
	// time, or, when the cap lets no message through now, counts nothing and returns
	// the earliest time one may go.
	Reserve(template string, now time.Time) (until time.Time, err error)
}

// Input is what one Advance needs besides the scenario and the state.
type Input struct {
	Now time.Time
	// Lead is the lead as conditions see it; update and stage steps change it, so
	// that later conditions in the same run see the change.
	Lead *LeadEnv
	// Location is the lead's own time zone, when known; nil uses the send window's
	// (or UTC).
	Location *time.Location
	// Engagement answers wait_until steps.
	Engagement Engagement
	// Cap, when set, holds send steps back while the lead has had as much marketing
	// mail as the frequency cap allows; nil sends whenever a step says so.
	Cap Cap
	// Settle is how long a click waits before it is believed (a scanner burst may
	// still reveal itself); opens are believed at once.
	Settle time.Duration
}

// ActionKind is an effect of a step that the caller carries out.
type ActionKind string

// Actions.
const (
	ActSend     ActionKind = "send"
	ActUpdate   ActionKind = "update"
	ActStage    ActionKind = "stage"
	ActEscalate ActionKind = "escalate"
)

// Action is one effect, in the order the steps asked for them.
type Action struct {
	Kind ActionKind
	Step string
	// Send: the template (the picked variant's, for A/B), its subject override and
	// the variant's name ("" without variants).
	Template, Subject, Variant string
	Update                     *Update
	Stage                      string
	Reason                     string
}

// Wait is what a wait_until step waits for.
type Wait struct {
	Ref      string
	Engage   EngageKind
	Link     string
	Deadline time.Time
}

// Result is what came of an Advance.
type Result struct {
	Actions []Action
	// State is where the enrollment stands now; unchanged when nothing could run.
	State State
	// WakeAt is when to run again (a wait's end, a send window's opening, a
	// wait_until's deadline or a click's settling); zero once Ended.
	WakeAt time.Time
	// Waiting is set while a wait_until step waits for engagement, so that an
	// arriving open or click can wake the enrollment before WakeAt.
	Waiting *Wait
	// Ended is the exit reason once the enrollment is over, else "".
	Ended string
	// Trace says, step by step, what happened and why, for the simulator and logs.
	Trace []string
	// Problems are conditions that could not be evaluated for this lead; each was
	// taken as false.
	Problems []string
}

// maxInlineSteps bounds one Advance: check refuses cycles without a wait, so only a
// scenario that was never checked can reach it.
const maxInlineSteps = 1000

// Advance runs the enrollment from st until a step must wait or the scenario ends,
// and returns the effects for the caller to carry out. exit_if is checked before
// every step. Advance is pure: the same input gives the same result.
func (s *Scenario) Advance(in *Input, st State) (*Result, error) {
	r := &Result{State: st}
	now := in.Now
	for range maxInlineSteps {
		if st.Step == "" || st.Step == End {
			r.end(ExitCompleted, "the scenario is complete")
			return r, nil
		}
		step := s.Step(st.Step)
		if step == nil {
			return nil, fmt.Errorf("scenario %s: no step %q", s.ID, st.Step)
		}
		if s.ExitIf != nil && r.holds("exit_if", s.ExitIf, s.env(in)) {
			r.end(ExitExit, "exit_if is true: "+s.ExitIf.Source)
			return r, nil
		}
		// A goal over the lead alone (lead.stage == "sql") is reached between events
		// too; one over an event is checked as events arrive.
		if s.Goal != nil && r.holds("goal", s.Goal, s.env(in)) {
			r.end(ExitGoal, "the goal is reached: "+s.Goal.Source)
			return r, nil
		}
		next, wake, err := s.run(in, step, st, r)
		if err != nil {
			return nil, fmt.Errorf("scenario %s, step %s: %w", s.ID, step.ID, err)
		}
		if !wake.IsZero() {
			r.State, r.WakeAt = st, wake
			return r, nil
		}
		r.Waiting = nil
		st = State{Step: next, StepAt: now}
		r.State = st
	}
	return nil, fmt.Errorf("scenario %s: more than %d steps in a row without a wait", s.ID, maxInlineSteps)
}

// holds evaluates a condition. One that fails for this lead (a field of the wrong
// type, say) counts as false, so the enrollment moves on the same way every time,
// and the failure is kept in Problems to be logged.
func (r *Result) holds(what string, x *Expr, env *Env) bool {
	ok, err := x.Bool(env)
	if err != nil {
		p := fmt.Sprintf("%s: %s could not be evaluated (%v); taken as false", what, x.Source, err)
		r.Problems = append(r.Problems, p)
		r.Trace = append(r.Trace, p)
		return false
	}
	return ok
}

func (r *Result) end(reason, why string) {
	r.Ended, r.State, r.WakeAt, r.Waiting = reason, State{}, time.Time{}, nil
	r.Trace = append(r.Trace, "end ("+reason+"): "+why)
}

func (r *Result) tracef(format string, args ...any) {
	r.Trace = append(r.Trace, fmt.Sprintf(format, args...))
}

// run runs one step: it returns the step to go to, or a time to wake at when the step
// must wait.
func (s *Scenario) run(in *Input, step *Step, st State, r *Result) (next string, wake time.Time, err error) {
	now := in.Now
	switch step.Kind {
	case KindSend:
		if s.Window != nil && !step.IgnoreWindow {
			if open := s.Window.Next(now, in.Location); open.After(now) {
				r.tracef("%s: outside the send window; waits until %s", step.ID, open.In(s.loc(in)).Format(time.DateTime))
				return "", open, nil
			}
		}
		a := Action{Kind: ActSend, Step: step.ID, Template: step.Template, Subject: step.Subject}
		if len(step.Variants) > 0 {
			v := step.Variants[pick(s.ID, step.ID, in.Lead.ID, variantWeights(step.Variants))]
			a.Template, a.Variant = v.Template, v.Name
			if v.Subject != "" {
				a.Subject = v.Subject
			}
		}
		if in.Cap != nil {
			until, err := in.Cap.Reserve(a.Template, now)
			if err != nil {
				return "", time.Time{}, err
			}
			if until.After(now) {
				// The send window still holds: the mail waits for the first allowed
				// time inside it.
				if s.Window != nil && !step.IgnoreWindow {
					until = s.Window.Next(until, in.Location)
				}
				r.tracef("%s: the lead has had as much marketing mail as the frequency cap allows; waits until %s",
					step.ID, until.In(s.loc(in)).Format(time.DateTime))
				return "", until, nil
			}
		}
		if len(step.Variants) > 0 {
			r.tracef("%s: sends %s (variant %s)", step.ID, a.Template, a.Variant)
		} else {
			r.tracef("%s: sends %s", step.ID, a.Template)
		}
		r.Actions = append(r.Actions, a)
		return s.next(step), time.Time{}, nil

	case KindWait:
		if step.IfPast != "" {
			return s.waitForDate(in, step, st, r)
		}
		until := st.StepAt.Add(step.Wait)
		switch {
		case step.Until != nil:
			until = nextTimeOfDay(st.StepAt, *step.Until, s.loc(in))
		case step.BusinessDays > 0:
			until = s.AddBusinessDays(st.StepAt, step.BusinessDays, s.businessLoc(in))
		}
		if now.Before(until) {
			r.tracef("%s: waits until %s", step.ID, until.In(s.loc(in)).Format(time.DateTime))
			return "", until, nil
		}
		return s.next(step), time.Time{}, nil

	case KindWaitUntil:
		deadline := st.StepAt.Add(step.Within)
		within := formatDuration(step.Within)
		if step.WithinBusinessDays > 0 {
			deadline = s.AddBusinessDays(st.StepAt, step.WithinBusinessDays, s.businessLoc(in))
			within = strconv.Itoa(step.WithinBusinessDays) + "bd"
		}
		what := string(step.Engage) + " " + step.Ref
		if step.Link != "" {
			what += " (link " + step.Link + ")"
		}
		// A message sent in this very run cannot have been opened yet, and asking
		// would find the one an earlier pass of a loop sent.
		if !slices.ContainsFunc(r.Actions, func(a Action) bool { return a.Kind == ActSend && a.Step == step.Ref }) {
			at, believed, ok, err := firstEngaged(in, step, deadline)
			if err != nil {
				return "", time.Time{}, err
			}
			if ok && now.Before(believed) {
				r.tracef("%s: %s at %s; believed at %s if no scanner shows", step.ID, what, at.Format(time.DateTime), believed.Format(time.DateTime))
				r.Waiting = &Wait{Ref: step.Ref, Engage: step.Engage, Link: step.Link, Deadline: deadline}
				return "", believed, nil
			}
			if ok {
				r.tracef("%s: %s → yes (%s)", step.ID, what, orNext(step.Yes))
				return s.branch(step, step.Yes), time.Time{}, nil
			}
		}
		if !now.Before(deadline) {
			r.tracef("%s: not %s within %s → no (%s)", step.ID, what, within, orNext(step.No))
			return s.branch(step, step.No), time.Time{}, nil
		}
		r.Waiting = &Wait{Ref: step.Ref, Engage: step.Engage, Link: step.Link, Deadline: deadline}
		if len(r.Trace) == 0 || !strings.HasPrefix(r.Trace[len(r.Trace)-1], step.ID+": waits for") {
			r.tracef("%s: waits for %s until %s", step.ID, what, deadline.In(s.loc(in)).Format(time.DateTime))
		}
		return "", deadline, nil

	case KindIf:
		if r.holds(step.ID, step.Cond, s.env(in)) {
			r.tracef("%s: %s is true → yes (%s)", step.ID, step.Cond.Source, orNext(step.Yes))
			return s.branch(step, step.Yes), time.Time{}, nil
		}
		r.tracef("%s: %s is false → no (%s)", step.ID, step.Cond.Source, orNext(step.No))
		return s.branch(step, step.No), time.Time{}, nil

	case KindSplit:
		weights := make([]int, len(step.Paths))
		for i, p := range step.Paths {
			weights[i] = p.Weight
		}
		p := step.Paths[pick(s.ID, step.ID, in.Lead.ID, weights)]
		r.tracef("%s: split → %s", step.ID, cmpOr(p.Name, p.Next))
		return p.Next, time.Time{}, nil

	case KindUpdate:
		applyUpdate(in.Lead, step.Update)
		r.Actions = append(r.Actions, Action{Kind: ActUpdate, Step: step.ID, Update: step.Update})
		r.tracef("%s: updates the lead%s", step.ID, describeUpdate(step.Update))
		return s.next(step), time.Time{}, nil

	case KindStage:
		if in.Lead.Stage != step.Stage {
			r.Actions = append(r.Actions, Action{Kind: ActStage, Step: step.ID, Stage: step.Stage})
			r.tracef("%s: stage %s → %s", step.ID, in.Lead.Stage, step.Stage)
			in.Lead.Stage = step.Stage
		}
		return s.next(step), time.Time{}, nil

	case KindEscalate:
		r.Actions = append(r.Actions, Action{Kind: ActEscalate, Step: step.ID, Reason: step.Reason})
		r.tracef("%s: escalated to sales: %s", step.ID, step.Reason)
		return s.next(step), time.Time{}, nil

	case KindGoto:
		r.tracef("%s: goes to %s", step.ID, step.Next)
		return step.Next, time.Time{}, nil

	case KindEnd:
		return End, time.Time{}, nil
	}
	return "", time.Time{}, fmt.Errorf("unknown step kind %q", step.Kind)
}

// waitForDate runs a wait for a date. The wait ends at its moment; when the moment
// had already passed as the lead reached the step (StepAt), if_past decides: go on
// at once, or skip the step after the wait. A lead without the date the wait counts
// from is treated as past, and the problem kept.
func (s *Scenario) waitForDate(in *Input, step *Step, st State, r *Result) (next string, wake time.Time, err error) {
	at, err := s.moment(step, in.Lead)
	if err != nil {
		p := fmt.Sprintf("%s: %v; taken as passed", step.ID, err)
		r.Problems = append(r.Problems, p)
		r.Trace = append(r.Trace, p)
	} else if at.After(st.StepAt) {
		if in.Now.Before(at) {
			r.tracef("%s: waits until %s", step.ID, at.In(s.loc(in)).Format(time.DateTime))
			return "", at, nil
		}
		return s.next(step), time.Time{}, nil
	}
	when := "the date"
	if err == nil {
		when = at.In(s.loc(in)).Format(time.DateTime)
	}
	following := s.next(step)
	if step.IfPast == IfPastNow || following == End {
		r.tracef("%s: %s had passed when the lead got here; goes on at once (if_past: now)", step.ID, when)
		return following, time.Time{}, nil
	}
	skipped := s.Step(following)
	if skipped == nil {
		return "", time.Time{}, fmt.Errorf("no step %q", following)
	}
	r.tracef("%s: %s had passed when the lead got here; skips %s (if_past: skip)", step.ID, when, following)
	return s.next(skipped), time.Time{}, nil
}

// next is where a step flows when it has done its work.
func (s *Scenario) next(step *Step) string {
	if step.Next != "" {
		return step.Next
	}
	i := slices.Index(s.Steps, step)
	if i < 0 || i+1 >= len(s.Steps) {
		return End
	}
	return s.Steps[i+1].ID
}

// branch is a yes or no target; an empty one flows to the next step.
func (s *Scenario) branch(step *Step, target string) string {
	if target == "" {
		i := slices.Index(s.Steps, step)
		if i < 0 || i+1 >= len(s.Steps) {
			return End
		}
		return s.Steps[i+1].ID
	}
	return target
}

func orNext(target string) string { return cmpOr(target, "next step") }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Exits reports whether exit_if holds for the lead now.
func (s *Scenario) Exits(l LeadEnv, now time.Time) (bool, error) {
	if s.ExitIf == nil {
		return false, nil
	}
	return s.ExitIf.Bool(NewEnv(l, EventEnv{}, now))
}

// Reaches reports whether an event reaches the scenario's goal.
func (s *Scenario) Reaches(l LeadEnv, e EventEnv, now time.Time) (bool, error) {
	if s.Goal == nil {
		return false, nil
	}
	return s.Goal.Bool(NewEnv(l, e, now))
}

// Admits reports whether a lead may enter on an event (or, for a scheduled trigger,
// an empty event): the event's type is the trigger's and the trigger's condition holds.
func (s *Scenario) Admits(l LeadEnv, e EventEnv, now time.Time) (bool, error) {
	if s.Trigger.Event != "" && e.Type != s.Trigger.Event {
		return false, nil
	}
	return s.Trigger.If.Bool(NewEnv(l, e, now))
}

// MayReenroll reports whether a lead whose last enrollment started at last (zero:
// never enrolled) may enter now.
func (s *Scenario) MayReenroll(last, now time.Time) bool {
	if last.IsZero() {
		return true
	}
	switch s.Reenroll.Kind {
	case ReenrollAlways:
		return true
	case ReenrollAfter:
		return !now.Before(last.Add(s.Reenroll.After))
	}
	return false
}

func (s *Scenario) env(in *Input) *Env { return NewEnv(*in.Lead, EventEnv{}, in.Now) }

// loc is the time zone waits and windows count in: the lead's, the window's or UTC.
func (s *Scenario) loc(in *Input) *time.Location {
	switch {
	case in.Location != nil:
		return in.Location
	case s.Window != nil && s.Window.Location != nil:
		return s.Window.Location
	}
	return time.UTC
}

// nextTimeOfDay is the first instant after t at minutes after midnight in loc.
func nextTimeOfDay(t time.Time, minutes int, loc *time.Location) time.Time {
	lt := t.In(loc)
	at := time.Date(lt.Year(), lt.Month(), lt.Day(), minutes/60, minutes%60, 0, 0, loc)
	if !at.After(t) {
		at = time.Date(lt.Year(), lt.Month(), lt.Day()+1, minutes/60, minutes%60, 0, 0, loc)
	}
	return at
}

// pick chooses an index by weight, the same one every time for a lead, scenario and
// step, so that a lead always sees the same side of an A/B test or split.
func pick(scenario, step string, leadID int64, weights []int) int {
	total := 0
	for _, w := range weights {
		total += max(w, 0)
	}
	if total == 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(scenario + "\x00" + step + "\x00" + strconv.FormatInt(leadID, 10)))
	n := int(h.Sum64() % uint64(total))
	for i, w := range weights {
		if n < max(w, 0) {
			return i
		}
		n -= max(w, 0)
	}
	return len(weights) - 1
}

func variantWeights(vs []Variant) []int {
	w := make([]int, len(vs))
	for i, v := range vs {
		w[i] = v.Weight
	}
	return w
}

// applyUpdate makes an update's changes to the lead as conditions see it.
func applyUpdate(l *LeadEnv, u *Update) {
	if u == nil {
		return
	}
	tags := slices.Clone(l.Tags)
	for _, t := range u.AddTags {
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	tags = slices.DeleteFunc(tags, func(t string) bool { return slices.Contains(u.RemoveTags, t) })
	l.Tags = tags
	l.Score += u.Points
	if len(u.Fields) > 0 {
		attrs := make(map[string]any, len(l.Attributes)+len(u.Fields))
		for k, v := range l.Attributes {
			attrs[k] = v
		}
		for k, v := range u.Fields {
			if key, ok := strings.CutPrefix(k, "attributes."); ok {
				attrs[key] = v
				continue
			}
			setField(l, k, v)
		}
		l.Attributes = attrs
	}
}

// setField sets one of the fields an update may set (updateFields).
func setField(l *LeadEnv, name, v string) {
	switch name {
	case "first_name":
		l.FirstName = v
	case "last_name":
		l.LastName = v
	case "company":
		l.Company = v
	case "department":
		l.Department = v
	case "title":
		l.Title = v
	case "phone":
		l.Phone = v
	case "industry":
		l.Industry = v
	case "country":
		l.Country = v
	case "timezone":
		l.Timezone = v
	case "source":
		if l.Source == "" { // first touch, as the lead store keeps it
			l.Source = v
		}
	case "consent":
		l.Consent = v
	case "employees":
		if n, err := strconv.Atoi(v); err == nil {
			l.Employees = n
		}
	}
}

func describeUpdate(u *Update) string {
	if u == nil {
		return ""
	}
	var parts []string
	if len(u.AddTags) > 0 {
		parts = append(parts, "tags +"+strings.Join(u.AddTags, " +"))
	}
	if len(u.RemoveTags) > 0 {
		parts = append(parts, "tags -"+strings.Join(u.RemoveTags, " -"))
	}
	keys := make([]string, 0, len(u.Fields))
	for k := range u.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+u.Fields[k])
	}
	if u.Points != 0 {
		parts = append(parts, fmt.Sprintf("%+d points", u.Points))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// formatDuration writes a duration the way scenario files do ("3d", "2d1h", "90s").
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10) + u.name)
			d -= n * u.d
		}
	}
	if b.Len() == 0 {
		return d.String()
	}
	return b.String()
}

// firstEngaged finds the hit that satisfies a wait_until step by its deadline,
// and when it is believed: a click only once the settle time has passed without a
// scanner showing (it may be judged again meanwhile), an open at once. A wait for an
// open is also satisfied by a click, since images may be blocked; the earliest
// believed hit wins.
func firstEngaged(in *Input, step *Step, deadline time.Time) (at, believed time.Time, ok bool, err error) {
	type hit struct{ at, believed time.Time }
	var hits []hit
	if step.Engage == Opened {
		open, found, err := in.Engagement.FirstEngaged(step.Ref, Opened, "")
		if err != nil {
			return time.Time{}, time.Time{}, false, err
		}
		if found {
			hits = append(hits, hit{open, open})
		}
	}
	click, found, err := in.Engagement.FirstEngaged(step.Ref, Clicked, step.Link)
	if err != nil {
		return time.Time{}, time.Time{}, false, err
	}
	if found {
		hits = append(hits, hit{click, click.Add(in.Settle)})
	}
	for _, h := range hits {
		if h.at.After(deadline) {
			continue // too late: the window had closed
		}
		if !ok || h.believed.Before(believed) {
			at, believed, ok = h.at, h.believed, true
		}
	}
	return at, believed, ok, nil
}
