package scenario

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nurture-dev/nurture/engine/lang"
)

// TestResult is what came of one of a file's tests.
type TestResult struct {
	Test *Test
	// Failures say in plain words what differed from the test's expect, or why the
	// test could not run; none when it passed. They are in English; FailuresIn
	// gives them in another language.
	Failures []string
	// Sim is the simulation the test ran, nil when it could not run.
	Sim *Simulation

	failures []lang.Localizer // Failures as messages
}

// FailuresIn is Failures in l.
func (r TestResult) FailuresIn(l lang.Lang) []string {
	out := make([]string, len(r.failures))
	for i, f := range r.failures {
		out[i] = f.In(l)
	}
	return out
}

// fail adds a failure.
func (r *TestResult) fail(f lang.Localizer) {
	r.failures = append(r.failures, f)
	r.Failures = append(r.Failures, f.In(lang.English))
}

// Passed reports whether the test passed.
func (r TestResult) Passed() bool { return len(r.Failures) == 0 }

// String is "whitepaper-followup: a clicker is escalated" followed, for a failure,
// by its reasons.
func (r TestResult) String() string {
	return r.Test.Name + ": " + strings.Join(r.Failures, "; ")
}

// RunTests runs each of the scenario's tests on the simulator with the default
// options. A test that gives the triggering event (event:) enrolls its lead only if
// the trigger admits it; one without enters as if it did.
func (s *Scenario) RunTests() []TestResult {
	out := make([]TestResult, 0, len(s.Tests))
	for i := range s.Tests {
		out = append(out, s.runTest(&s.Tests[i], SimOptions{}))
	}
	return out
}

func (s *Scenario) runTest(t *Test, opt SimOptions) TestResult {
	res := TestResult{Test: t}
	if !t.Start.IsZero() {
		opt.Start = t.Start
	}
	start := s.SimStart(opt.Start)
	l, err := LeadFromMap(t.Lead, start)
	if err != nil {
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		for _, e := range errs {
			res.fail(Errorf(s.File, t.Pos, "the test's %v", e))
		}
		return res
	}
	var trigger EventEnv
	if t.Event != nil {
		props := make(map[string]any, len(t.Event))
		typ := s.Trigger.Event
		for k, v := range t.Event {
			if k == "type" {
				typ = fmt.Sprint(v)
				continue
			}
			props[k] = v
		}
		trigger = EventEnvOf(typ, start, props)
		opt.CheckTrigger = true
	}
	sim, err := Simulate(s, l, trigger, t.Events, opt)
	if err != nil {
		res.fail(Errorf(s.File, t.Pos, "the simulation failed: %v", err))
		return res
	}
	res.Sim = sim
	for _, p := range sim.problems {
		res.fail(p)
	}
	for _, m := range sim.compare(t.Expect) {
		res.fail(m)
	}
	return res
}

// compare says how the simulation differs from what a test expects.
func (sim *Simulation) compare(x Expect) []lang.Message {
	var out []lang.Message
	// notEnrolled says why a lead that was not let in got nothing.
	var notEnrolled lang.Message
	if !sim.Enrolled && len(sim.Lines) > 0 {
		notEnrolled = lang.New(" (%s)", sim.Lines[0].msg)
	}
	if x.Sent != nil {
		if got := sim.SentSteps(); !slices.Equal(got, x.Sent) {
			out = append(out, lang.New("expected sent [%s], got [%s]%s", strings.Join(x.Sent, " "), strings.Join(got, " "), notEnrolled))
		}
	}
	if x.Escalated != nil {
		switch got := len(sim.Escalations) > 0; {
		case *x.Escalated && !got:
			out = append(out, lang.New("expected the lead to be escalated, but it was not%s", notEnrolled))
		case !*x.Escalated && got:
			e := sim.Escalations[0]
			out = append(out, lang.New("expected no escalation, but step %s escalated at %s (%s)", e.Step, sim.Offset(e.At), e.Reason))
		}
	}
	if x.Stage != nil && sim.Lead.Stage != *x.Stage {
		out = append(out, lang.New("expected stage %s, got %s%s", *x.Stage, sim.Lead.Stage, notEnrolled))
	}
	if x.Exit != nil && sim.Ended != *x.Exit {
		out = append(out, lang.New("expected it to %s, but it %s", expectedExit(*x.Exit), sim.actualExit()))
	}
	var missing []string
	for _, tag := range x.Tags {
		if !slices.Contains(sim.Lead.Tags, tag) {
			missing = append(missing, tag)
		}
	}
	if len(missing) > 0 {
		out = append(out, lang.New("expected tags [%s], the lead has [%s]", strings.Join(missing, " "), strings.Join(sim.Lead.Tags, " ")))
	}
	return out
}

// expectedExit words an exit reason a test expects, after "expected it to":
// "reach the goal".
func expectedExit(reason string) lang.Message {
	switch reason {
	case "":
		return lang.New("still be running at the end")
	case ExitCompleted:
		return lang.New("complete its steps")
	case ExitGoal:
		return lang.New("reach the goal")
	case ExitExit:
		return lang.New("exit on exit_if")
	}
	return lang.New("end (%s)", reason)
}

// actualExit words how the simulation ended, after "but it": "completed at +2d01h".
func (sim *Simulation) actualExit() lang.Message {
	at := sim.Offset(sim.EndedAt)
	switch sim.Ended {
	case "":
		if !sim.Enrolled {
			return lang.New("was never enrolled (%s)", sim.Lines[0].msg)
		}
		return lang.New("was still running at step %s after %s", sim.Step, formatDuration(sim.EndedAt.Sub(sim.Start)))
	case ExitCompleted:
		return lang.New("completed at %s", at)
	case ExitGoal:
		return lang.New("reached the goal at %s", at)
	case ExitExit:
		return lang.New("exited on exit_if at %s", at)
	case ExitSuppressed:
		return lang.New("ended as suppressed (unsubscribed or bounced) at %s", at)
	}
	return lang.New("end (%s) at %s", sim.Ended, at)
}
