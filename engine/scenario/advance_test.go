package scenario_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/scenario"
)

// hits is engagement recorded by test: the first engagement with each send step.
type hits map[string]time.Time

func (h hits) FirstEngaged(ref string, _ scenario.EngageKind, _ string) (time.Time, bool, error) {
	at, ok := h[ref]
	return at, ok, nil
}

// engaged is engagement recorded by test, by kind: the first open and the first click
// of each send step.
type engaged map[scenario.EngageKind]map[string]time.Time

func (e engaged) FirstEngaged(ref string, kind scenario.EngageKind, _ string) (time.Time, bool, error) {
	at, ok := e[kind][ref]
	return at, ok, nil
}

// allowance is a frequency cap that lets left messages through, then holds the
// next back until until.
type allowance struct {
	left  int
	until time.Time
}

func (a *allowance) Reserve(string, time.Time) (time.Time, error) {
	if a.left > 0 {
		a.left--
		return time.Time{}, nil
	}
	return a.until, nil
}

func mustParse(t *testing.T, src string) *scenario.Scenario {
	t.Helper()
	s, err := scenario.Parse("test.yaml", []byte(src), scenario.Options{})
	require.NoError(t, err)
	return s
}

func sent(r *scenario.Result) []string {
	var out []string
	for _, a := range r.Actions {
		if a.Kind == scenario.ActSend {
			out = append(out, a.Step)
		}
	}
	return out
}

func TestAdvance(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 4, 6, 10, 0, 0, 0, time.UTC)

	const loop = `
trigger: { event: manual }
steps:
  - id: mail
    send: course/day1
  - id: opened
    wait_until: { opened: mail, within: 1d }
    yes: done
    no: again
  - id: again
    wait: 1d
  - goto: mail
  - id: done
    end: true
`

	t.Run("AMessageSentInThisRunIsNotTheOneAnEarlierLoopSent", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, loop)
		lead := scenario.LeadEnv{ID: 7}
		// The first pass's mail was opened; the run that sends it again must still
		// wait for the new one.
		in := &scenario.Input{Now: start, Lead: &lead, Engagement: hits{"mail": start.Add(-time.Hour)}}
		r, err := s.Advance(in, scenario.State{Step: "mail", StepAt: start})
		require.NoError(t, err)
		require.Equal(t, []string{"mail"}, sent(r))
		require.Equal(t, "opened", r.State.Step)
		require.Equal(t, start.Add(24*time.Hour), r.WakeAt)
		require.NotNil(t, r.Waiting)
	})

	t.Run("AnEarlyWakeChangesNothing", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, loop)
		lead := scenario.LeadEnv{ID: 7}
		st := scenario.State{Step: "again", StepAt: start}
		in := &scenario.Input{Now: start.Add(time.Hour), Lead: &lead, Engagement: hits{}}
		r, err := s.Advance(in, st)
		require.NoError(t, err)
		require.Empty(t, r.Actions)
		require.Equal(t, st, r.State, "a wait counts from when the step was reached")
		require.Equal(t, start.Add(24*time.Hour), r.WakeAt)
	})

	t.Run("AClickIsBelievedOnceItSettled", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, `
trigger: { event: manual }
steps:
  - id: mail
    send: course/day1
  - id: clicked
    wait_until: { clicked: mail, within: 3d }
    yes: hot
    no: end
  - id: hot
    stage: mql
`)
		lead := scenario.LeadEnv{ID: 7, Stage: "inquiry"}
		clickAt := start.Add(time.Hour)
		st := scenario.State{Step: "clicked", StepAt: start}
		in := &scenario.Input{Now: clickAt.Add(10 * time.Second), Lead: &lead, Settle: time.Minute,
			Engagement: hits{"mail": clickAt}}
		r, err := s.Advance(in, st)
		require.NoError(t, err)
		require.Equal(t, clickAt.Add(time.Minute), r.WakeAt, "not believed before the settle time")
		require.Equal(t, "clicked", r.State.Step)

		in.Now = clickAt.Add(time.Minute)
		r, err = s.Advance(in, st)
		require.NoError(t, err)
		require.Equal(t, scenario.ExitCompleted, r.Ended)
		require.Equal(t, []scenario.Action{{Kind: scenario.ActStage, Step: "hot", Stage: "mql"}}, r.Actions)
	})

	t.Run("AClickAnswersAnOpenWaitOnceItSettled", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, loop)
		lead := scenario.LeadEnv{ID: 7}
		clickAt := start.Add(time.Hour)
		st := scenario.State{Step: "opened", StepAt: start}
		// Images blocked: no open, only a click, which a scanner may yet disown.
		in := &scenario.Input{Now: clickAt.Add(10 * time.Second), Lead: &lead, Settle: time.Minute,
			Engagement: engaged{scenario.Clicked: {"mail": clickAt}}}
		r, err := s.Advance(in, st)
		require.NoError(t, err)
		require.Equal(t, "opened", r.State.Step)
		require.Equal(t, clickAt.Add(time.Minute), r.WakeAt, "not believed before the settle time")
		require.NotNil(t, r.Waiting)

		in.Now = clickAt.Add(time.Minute)
		r, err = s.Advance(in, st)
		require.NoError(t, err)
		require.Equal(t, scenario.ExitCompleted, r.Ended, "took the yes branch")

		// An open is believed at once, even with a click before it still settling.
		in.Now = clickAt.Add(20 * time.Second)
		in.Engagement = engaged{scenario.Clicked: {"mail": clickAt}, scenario.Opened: {"mail": clickAt.Add(15 * time.Second)}}
		r, err = s.Advance(in, st)
		require.NoError(t, err)
		require.Equal(t, scenario.ExitCompleted, r.Ended)

		// A click after the window closed counts for nothing, settled or not.
		in.Now = start.Add(48 * time.Hour)
		in.Engagement = engaged{scenario.Clicked: {"mail": start.Add(25 * time.Hour)}}
		r, err = s.Advance(in, st)
		require.NoError(t, err)
		require.Equal(t, "again", r.State.Step, "took the no branch")
	})

	t.Run("AClickAfterTheWindowClosedCountsForNothing", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, loop)
		lead := scenario.LeadEnv{ID: 7}
		in := &scenario.Input{Now: start.Add(25 * time.Hour), Lead: &lead, Engagement: hits{"mail": start.Add(24*time.Hour + time.Minute)}}
		r, err := s.Advance(in, scenario.State{Step: "opened", StepAt: start})
		require.NoError(t, err)
		require.Equal(t, "again", r.State.Step, "took the no branch")
	})

	t.Run("ExitIfIsCheckedBeforeEveryStep", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, `
trigger: { event: manual }
exit_if: lead.stage == "sql"
steps:
  - id: promote
    stage: sql
  - id: mail
    send: course/day1
`)
		lead := scenario.LeadEnv{ID: 7, Stage: "inquiry"}
		r, err := s.Advance(&scenario.Input{Now: start, Lead: &lead, Engagement: hits{}}, scenario.State{Step: "promote", StepAt: start})
		require.NoError(t, err)
		require.Equal(t, scenario.ExitExit, r.Ended)
		require.Empty(t, sent(r), "the stage change made exit_if true before the send")
	})

	t.Run("AConditionThatFailsForALeadIsFalseAndReported", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, `
trigger: { event: manual }
steps:
  - id: rich
    if: lead.attributes.budget > 100
    yes: big
    no: small
  - id: big
    stage: sql
  - id: small
    stage: mql
`)
		lead := scenario.LeadEnv{ID: 7, Stage: "inquiry", Attributes: map[string]any{"budget": "未定"}}
		r, err := s.Advance(&scenario.Input{Now: start, Lead: &lead, Engagement: hits{}}, scenario.State{Step: "rich", StepAt: start})
		require.NoError(t, err, "the enrollment moves on")
		require.Len(t, r.Problems, 1)
		require.Contains(t, r.Problems[0], "lead.attributes.budget > 100")
		require.Equal(t, []scenario.Action{{Kind: scenario.ActStage, Step: "small", Stage: "mql"}}, r.Actions)
	})

	t.Run("AGoalOverTheLeadEndsTheEnrollmentBeforeTheNextStep", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, `
trigger: { event: manual }
goal: lead.stage == "sql"
steps:
  - stage: sql
  - id: mail
    send: course/day1
`)
		lead := scenario.LeadEnv{ID: 7, Stage: "inquiry"}
		r, err := s.Advance(&scenario.Input{Now: start, Lead: &lead, Engagement: hits{}}, scenario.State{Step: "step-1", StepAt: start})
		require.NoError(t, err)
		require.Equal(t, scenario.ExitGoal, r.Ended)
		require.Empty(t, sent(r))
	})

	t.Run("TheFrequencyCapHoldsASendAtItsStepUntilTheCapAndTheSendWindowAllow", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, `
trigger: { event: manual }
send_window: { hours: "09:00-18:00", timezone: UTC }
steps:
  - id: first
    send: course/day1
  - id: second
    send: course/day2
  - wait: 1d
`)
		lead := scenario.LeadEnv{ID: 7}
		// The cap frees a place at 03:00 the next day, when the window is shut.
		capped := &allowance{left: 1, until: start.Add(17 * time.Hour)}
		in := &scenario.Input{Now: start, Lead: &lead, Cap: capped}
		r, err := s.Advance(in, scenario.State{Step: "first", StepAt: start})
		require.NoError(t, err)
		require.Equal(t, []string{"first"}, sent(r))
		require.Equal(t, scenario.State{Step: "second", StepAt: start}, r.State)
		require.Equal(t, time.Date(2026, 4, 7, 9, 0, 0, 0, time.UTC), r.WakeAt)
		require.Empty(t, r.Ended)

		capped.left = 1
		in.Now = r.WakeAt
		r, err = s.Advance(in, r.State)
		require.NoError(t, err)
		require.Equal(t, []string{"second"}, sent(r))
	})
}
