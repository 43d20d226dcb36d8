package scenario

import (
	"fmt"
	"slices"
	"strings"
)

// TestResult is what came of one of a file's tests.
type TestResult struct {
	Test *Test
	// Failures say in plain words what differed from the test's expect, or why the
	// test could not run; none when it passed.
	Failures []string
	// Sim is the simulation the test ran, nil when it could not run.
	Sim *Simulation
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
	at := func(msg string) string {
		return (&Error{File: s.File, Line: t.Pos.Line, Column: t.Pos.Column, Msg: msg}).Error()
	}
	if !t.Start.IsZero() {
		opt.Start = t.Start
	}
	start := s.SimStart(opt.Start)
	l, err := LeadFromMap(t.Lead, start)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			res.Failures = append(res.Failures, at("the test's "+line))
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
		res.Failures = append(res.Failures, at("the simulation failed: "+err.Error()))
		return res
	}
	res.Sim = sim
	res.Failures = append(res.Failures, sim.Problems...)
	res.Failures = append(res.Failures, sim.compare(t.Expect)...)
	return res
}

// compare says how the simulation differs from what a test expects.
func (sim *Simulation) compare(x Expect) []string {
	var out []string
	notEnrolled := ""
	if !sim.Enrolled && len(sim.Lines) > 0 {
		notEnrolled = " (" + sim.Lines[0].Text + ")"
	}
	if x.Sent != nil {
		if got := sim.SentSteps(); !slices.Equal(got, x.Sent) {
			out = append(out, fmt.Sprintf("expected sent [%s], got [%s]%s", strings.Join(x.Sent, " "), strings.Join(got, " "), notEnrolled))
		}
	}
	if x.Escalated != nil {
		switch got := len(sim.Escalations) > 0; {
		case *x.Escalated && !got:
			out = append(out, "expected the lead to be escalated, but it was not"+notEnrolled)
		case !*x.Escalated && got:
			e := sim.Escalations[0]
			out = append(out, fmt.Sprintf("expected no escalation, but step %s escalated at %s (%s)", e.Step, sim.Offset(e.At), e.Reason))
		}
	}
	if x.Stage != nil && sim.Lead.Stage != *x.Stage {
		out = append(out, fmt.Sprintf("expected stage %s, got %s%s", *x.Stage, sim.Lead.Stage, notEnrolled))
	}
	if x.Exit != nil && sim.Ended != *x.Exit {
		out = append(out, fmt.Sprintf("expected it to %s, but it %s", describeExit(*x.Exit, "", nil), describeExit(sim.Ended, sim.Step, sim)))
	}
	var missing []string
	for _, tag := range x.Tags {
		if !slices.Contains(sim.Lead.Tags, tag) {
			missing = append(missing, tag)
		}
	}
	if len(missing) > 0 {
		out = append(out, fmt.Sprintf("expected tags [%s], the lead has [%s]", strings.Join(missing, " "), strings.Join(sim.Lead.Tags, " ")))
	}
	return out
}

// describeExit words an exit reason after "it": "end with the goal reached".
func describeExit(reason, step string, sim *Simulation) string {
	var s string
	switch reason {
	case "":
		s = "still be running at the end"
		if sim != nil {
			if !sim.Enrolled {
				return "was never enrolled (" + sim.Lines[0].Text + ")"
			}
			s = "was still running at step " + step + " after " + formatDuration(sim.EndedAt.Sub(sim.Start))
		}
		return s
	case ExitCompleted:
		s = "complete"
	case ExitGoal:
		s = "reach the goal"
	case ExitExit:
		s = "exit on exit_if"
	default:
		s = "end (" + reason + ")"
	}
	if sim != nil {
		if past, ok := map[string]string{ExitCompleted: "completed", ExitGoal: "reached the goal", ExitExit: "exited on exit_if", ExitSuppressed: "ended as suppressed (unsubscribed or bounced)"}[reason]; ok {
			s = past
		}
		s += " at " + sim.Offset(sim.EndedAt)
	}
	return s
}
