package score

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nurture-dev/nurture/engine/lang"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/scenario"
)

// Award is the points one rule gives for one event or for who the lead is.
type Award struct {
	Rule   *Rule
	Points int
}

// Counter tells how many times a rule already scored a lead since a time (zero: ever).
type Counter interface {
	Count(ruleID string, since time.Time) (int, error)
}

// dayStart is the start of t's day in the model's time zone, for max_per_day.
func (m *Model) dayStart(t time.Time) time.Time {
	t = t.In(m.Location)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, m.Location)
}

// matches reports whether a behaviour rule matches the event in env.
func (r *Rule) matches(env *scenario.Env) (bool, error) {
	ev := env.Event
	if ev.Type != r.On {
		return false, nil
	}
	if len(r.Verdicts) > 0 {
		v, _ := ev.Props["verdict"].(string)
		if !slices.Contains(r.Verdicts, v) {
			return false, nil
		}
	}
	if r.Form != "" && ev.Form != r.Form {
		return false, nil
	}
	if r.Link != "" && ev.Link != r.Link {
		return false, nil
	}
	if r.URL != "" && !strings.Contains(ev.URL, r.URL) {
		return false, nil
	}
	return r.If.Bool(env)
}

// BehaviorAwards are the points the behaviour rules give the event in env, within
// their caps. A rule whose condition fails to evaluate gives nothing; the failures
// are returned joined, beside the awards of the other rules.
func (m *Model) BehaviorAwards(env *scenario.Env, c Counter) ([]Award, error) {
	var out []Award
	var errs []error
	for _, r := range m.Behavior {
		ok, err := r.matches(env)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", r.ID, err))
			continue
		}
		if !ok {
			continue
		}
		if r.MaxTotal > 0 {
			n, err := c.Count(r.ID, time.Time{})
			if err != nil {
				return nil, err
			}
			if n >= r.MaxTotal {
				continue
			}
		}
		if r.MaxPerDay > 0 {
			n, err := c.Count(r.ID, m.dayStart(env.Event.At))
			if err != nil {
				return nil, err
			}
			if n >= r.MaxPerDay {
				continue
			}
		}
		out = append(out, Award{Rule: r, Points: r.Points})
	}
	return out, errors.Join(errs...)
}

// ProfileAwards are the profile rules the lead in env matches, by rule ID. A rule
// whose condition fails to evaluate is left out and its ID set in failed, so that the
// caller keeps what it gave before.
func (m *Model) ProfileAwards(env *scenario.Env) (out map[string]int, failed map[string]bool, err error) {
	out, failed = map[string]int{}, map[string]bool{}
	var errs []error
	for _, r := range m.Profile {
		ok, err := r.If.Bool(env)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", r.ID, err))
			failed[r.ID] = true
			continue
		}
		if ok {
			out[r.ID] = r.Points
		}
	}
	return out, failed, errors.Join(errs...)
}

// Grade is the grade of a score.
func (m *Model) Grade(score int) string {
	switch {
	case score >= m.Grades.Hot:
		return "hot"
	case score >= m.Grades.Warm:
		return "warm"
	}
	return "cold"
}

// Decay is what points given at from are worth at to.
func (m *Model) Decay(points float64, from, to time.Time) float64 {
	if m.HalfLife <= 0 || !to.After(from) {
		return points
	}
	return points * math.Pow(0.5, to.Sub(from).Seconds()/m.HalfLife.Seconds())
}

// NextStage is the stage the lifecycle rules move a lead at env's state to, or "".
// MQL applies from inquiry and recycled, only when scored is true (the score or the
// profile just changed: a recycled lead must earn its way back); SQL from sal and sgl.
func (m *Model) NextStage(env *scenario.Env, scored bool) (string, error) {
	switch env.Lead.Stage {
	case lead.StageInquiry, lead.StageRecycled:
		if m.MQL != nil && scored {
			if ok, err := m.MQL.Bool(env); err != nil || ok {
				return lead.StageMQL, err
			}
		}
	case lead.StageSAL, lead.StageSGL:
		if m.SQL != nil {
			if ok, err := m.SQL.Bool(env); err != nil || ok {
				return lead.StageSQL, err
			}
		}
	}
	return "", nil
}

// Crossed lists the thresholds (grade thresholds and the model's own) between two
// scores, in the direction of the change.
func (m *Model) Crossed(from, to int) []int {
	all := slices.Compact(slices.Sorted(slices.Values(append([]int{m.Grades.Warm, m.Grades.Hot}, m.Thresholds...))))
	var out []int
	for _, t := range all {
		if (from < t && to >= t) || (from >= t && to < t) {
			out = append(out, t)
		}
	}
	return out
}

// memCounter counts a simulated lead's awards.
type memCounter struct {
	awards []memAward
}

type memAward struct {
	rule string
	at   time.Time
}

func (c *memCounter) Count(rule string, since time.Time) (int, error) {
	n := 0
	for _, a := range c.awards {
		if a.rule == rule && !a.at.Before(since) {
			n++
		}
	}
	return n, nil
}

// TestResult is what an inline test found.
type TestResult struct {
	Test  *Test
	Score int
	Grade string
	Stage string
	// Problems say what differed from the test's expect, or why it could not run;
	// none when it passed. They are in English; ProblemsIn gives them in another
	// language.
	Problems []string

	problems []lang.Message // Problems as messages
}

// ProblemsIn is Problems in l.
func (r TestResult) ProblemsIn(l lang.Lang) []string {
	out := make([]string, len(r.problems))
	for i, p := range r.problems {
		out[i] = p.In(l)
	}
	return out
}

// testStart is when inline tests start: a fixed Monday morning in Tokyo, so that
// day caps and decay give the same answer on every machine.
var testStart = time.Date(2026, 4, 6, 9, 0, 0, 0, tokyo())

// RunTests runs the model's inline tests in memory: each test's lead is scored on its
// profile, then each event in turn, decayed to the last event.
func (m *Model) RunTests() []TestResult {
	var out []TestResult
	for i := range m.Tests {
		out = append(out, m.runTest(&m.Tests[i]))
	}
	return out
}

func (m *Model) runTest(t *Test) TestResult {
	res := TestResult{Test: t}
	problem := func(format string, args ...any) {
		m := lang.New(format, args...)
		res.problems = append(res.problems, m)
		res.Problems = append(res.Problems, m.String())
	}
	l, err := scenario.LeadFromMap(t.Lead, testStart)
	if err != nil {
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		for _, e := range errs {
			problem("the test's %v", e)
		}
		return res
	}
	if l.Stage == "" {
		l.Stage = lead.StageInquiry
	}
	hist := &scenario.MemHistory{}
	l = l.WithHistory(hist)
	var profile int
	var behavior float64
	behaviorAt := testStart
	counter := &memCounter{}
	now := testStart
	rescore := func(at time.Time, scored bool) {
		behavior = m.Decay(behavior, behaviorAt, at)
		behaviorAt = at
		l.Score = int(math.Round(float64(profile) + behavior))
		l.Grade = m.Grade(l.Score)
		env := scenario.NewEnv(l, scenario.EventEnv{}, at)
		for range 3 { // inquiry → mql, then perhaps nothing more: a few moves at most
			next, err := m.NextStage(env, scored)
			if err != nil {
				problem("lifecycle: %v", err)
				return
			}
			if next == "" {
				return
			}
			l.Stage = next
			env.Lead.Stage = next
		}
	}
	awards, _, err := m.ProfileAwards(scenario.NewEnv(l, scenario.EventEnv{}, now))
	if err != nil {
		problem("profile: %v", err)
	}
	for _, p := range awards {
		profile += p
	}
	rescore(now, true)
	for _, ev := range t.Events {
		at := testStart.Add(ev.After)
		if at.Before(now) {
			problem("event %s at +%s comes before the one before it", ev.Type, ev.After)
		}
		now = at
		hist.Add(ev.Type, at, ev.Props)
		env := scenario.NewEnv(l, scenario.EventEnvOf(ev.Type, at, ev.Props), at)
		got, err := m.BehaviorAwards(env, counter)
		if err != nil {
			problem("%v", err)
		}
		var add float64
		for _, a := range got {
			counter.awards = append(counter.awards, memAward{a.Rule.ID, at})
			add += float64(a.Points)
		}
		behavior = m.Decay(behavior, behaviorAt, at) + add
		behaviorAt = at
		rescore(at, len(got) > 0)
	}
	res.Score, res.Grade, res.Stage = l.Score, l.Grade, l.Stage
	if e := t.Expect.Score; e != nil && *e != res.Score {
		problem("expected score %d, got %d", *e, res.Score)
	}
	if e := t.Expect.Grade; e != "" && e != res.Grade {
		problem("expected grade %s, got %s", e, res.Grade)
	}
	if e := t.Expect.Stage; e != "" && e != res.Stage {
		problem("expected stage %s, got %s", e, res.Stage)
	}
	return res
}

// Check parses a model and runs its inline tests, returning every problem with
// file:line:column (a failed test at the test's position).
func Check(file string, src []byte) (*Model, error) {
	m, err := Parse(file, src)
	if err != nil {
		return nil, err
	}
	var errs scenario.Errors
	for _, r := range m.RunTests() {
		for _, p := range r.problems {
			errs = append(errs, scenario.Errorf(file, r.Test.Pos, "test %q: %s", r.Test.Name, p))
		}
	}
	if len(errs) > 0 {
		return m, errs
	}
	return m, nil
}
