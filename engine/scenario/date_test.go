package scenario_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/scenario"
)

// seminar is a seminar on Wednesday 2027-02-10 at 14:00 in Tokyo: a thank-you at once,
// a reminder the day before (skipped for a late sign-up), a survey two hours after.
const seminar = `
id: seminar
event_date: 2027-02-10T14:00
trigger: { event: form_submitted, if: event.form == "seminar" }
send_window: { days: [mon, tue, wed, thu, fri], hours: "09:00-18:00", timezone: Asia/Tokyo, skip_holidays: JP }
steps:
  - id: thanks
    send: seminar/thanks
    window: ignore
  - id: until_reminder
    wait: { before: event_date, by: 1d, if_past: skip }
  - id: reminder
    send: seminar/reminder
  - id: until_survey
    wait: { after: event_date, by: 2h, if_past: now }
  - id: survey
    send: seminar/survey
  - id: clicked_survey
    wait_until: { clicked: survey, within: 3bd }
    no: end
  - update: { tags: [アンケート回答] }
`

var jst = time.FixedZone("JST", 9*60*60)

func TestDates(t *testing.T) {
	t.Parallel()

	// advance runs a scenario from a step at now (the lead got there at stepAt).
	advance := func(t *testing.T, s *scenario.Scenario, step string, stepAt, now time.Time, lead scenario.LeadEnv) *scenario.Result {
		t.Helper()
		r, err := s.Advance(&scenario.Input{Now: now, Lead: &lead, Engagement: hits{}}, scenario.State{Step: step, StepAt: stepAt})
		require.NoError(t, err)
		return r
	}

	t.Run("ADateWithoutAnOffsetIsInTokyoOrTheWindowsZone", func(t *testing.T) {
		t.Parallel()
		const src = `
trigger: { event: manual }
%s
steps:
  - id: until
    wait: { until: "2027-02-09 10:00", if_past: now }
  - send: whitepaper/thanks
`
		start := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
		for window, want := range map[string]time.Time{
			"": time.Date(2027, 2, 9, 1, 0, 0, 0, time.UTC),
			"send_window: { days: [mon, tue, wed, thu, fri, sat, sun] }": time.Date(2027, 2, 9, 1, 0, 0, 0, time.UTC),
			"send_window: { timezone: America/New_York }":                time.Date(2027, 2, 9, 15, 0, 0, 0, time.UTC),
		} {
			s := mustParse(t, strings.Replace(src, "%s", window, 1))
			r := advance(t, s, "until", start, start, scenario.LeadEnv{ID: 1})
			require.Equal(t, want, r.WakeAt.UTC(), "window %q", window)
			require.Empty(t, r.Actions)

			r = advance(t, s, "until", start, want, scenario.LeadEnv{ID: 1})
			require.Equal(t, []string{"step-2"}, sent(r), "at the moment, the wait is over")
		}
	})

	t.Run("AnOffsetIsKept", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, `
trigger: { event: manual }
steps:
  - id: until
    wait: { until: 2027-02-09T10:00Z, if_past: now }
  - send: whitepaper/thanks
`)
		start := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
		require.Equal(t, time.Date(2027, 2, 9, 10, 0, 0, 0, time.UTC), advance(t, s, "until", start, start, scenario.LeadEnv{ID: 1}).WakeAt.UTC())
	})

	t.Run("BeforeAndAfterTheEventDate", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, seminar)
		require.Equal(t, time.Date(2027, 2, 10, 14, 0, 0, 0, jst), s.EventDate.In(jst))
		signUp := time.Date(2027, 1, 20, 10, 0, 0, 0, jst)
		r := advance(t, s, "thanks", signUp, signUp, scenario.LeadEnv{ID: 1})
		require.Equal(t, []string{"thanks"}, sent(r))
		require.Equal(t, time.Date(2027, 2, 9, 14, 0, 0, 0, jst), r.WakeAt.In(jst), "a day before")

		r = advance(t, s, "until_reminder", signUp, r.WakeAt, scenario.LeadEnv{ID: 1})
		require.Equal(t, []string{"reminder"}, sent(r))
		require.Equal(t, time.Date(2027, 2, 10, 16, 0, 0, 0, jst), r.WakeAt.In(jst), "two hours after")
	})

	t.Run("IfPastSkipSkipsTheStepAfterTheWait", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, seminar)
		late := time.Date(2027, 2, 9, 20, 0, 0, 0, jst) // after the reminder's moment
		r := advance(t, s, "thanks", late, late, scenario.LeadEnv{ID: 1})
		require.Equal(t, []string{"thanks"}, sent(r), "no reminder")
		require.Equal(t, "until_survey", r.State.Step)
		require.Equal(t, time.Date(2027, 2, 10, 16, 0, 0, 0, jst), r.WakeAt.In(jst))
		require.Contains(t, r.Trace, "until_reminder: 2027-02-09 14:00:00 had passed when the lead got here; skips reminder (if_past: skip)")
	})

	t.Run("IfPastNowGoesOnAtOnce", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, seminar)
		after := time.Date(2027, 2, 10, 17, 0, 0, 0, jst) // after the survey's moment
		r := advance(t, s, "until_survey", after, after, scenario.LeadEnv{ID: 1})
		require.Equal(t, []string{"survey"}, sent(r))
	})

	t.Run("AWaitThatRanItsCourseIsNotPast", func(t *testing.T) {
		t.Parallel()
		// The job runs an hour late; the lead got to the wait before the moment, so
		// the reminder still goes.
		s := mustParse(t, seminar)
		r := advance(t, s, "until_reminder", time.Date(2027, 2, 1, 10, 0, 0, 0, jst), time.Date(2027, 2, 9, 15, 0, 0, 0, jst), scenario.LeadEnv{ID: 1})
		require.Equal(t, []string{"reminder"}, sent(r))
	})

	t.Run("ALeadsOwnDate", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, `
trigger: { event: manual }
steps:
  - id: until
    wait: { before: attributes.seminar_at, by: 1d, if_past: skip }
  - id: reminder
    send: whitepaper/thanks
  - id: after
    send: whitepaper/reminder
`)
		start := time.Date(2027, 2, 1, 10, 0, 0, 0, jst)
		lead := scenario.LeadEnv{ID: 1, Attributes: map[string]any{"seminar_at": "2027-03-01 15:00"}}
		r := advance(t, s, "until", start, start, lead)
		require.Equal(t, time.Date(2027, 2, 28, 15, 0, 0, 0, jst), r.WakeAt.In(jst))
		require.Empty(t, r.Problems)

		r = advance(t, s, "until", start, start, scenario.LeadEnv{ID: 1})
		require.Equal(t, []string{"after"}, sent(r), "without the date, the wait is past: if_past skips the reminder")
		require.Equal(t, []string{"until: the lead has no attributes.seminar_at; taken as passed"}, r.Problems)

		r = advance(t, s, "until", start, start, scenario.LeadEnv{ID: 1, Attributes: map[string]any{"seminar_at": "soon"}})
		require.Len(t, r.Problems, 1)
		require.Contains(t, r.Problems[0], "the lead's attributes.seminar_at is not a date")
	})

	t.Run("BusinessDaysSkipTheWindowsDaysAndHolidays", func(t *testing.T) {
		t.Parallel()
		// Friday 2027-04-30 before Golden Week: 3, 4 and 5 May are holidays.
		friday := time.Date(2027, 4, 30, 10, 0, 0, 0, jst)
		for window, want := range map[string]time.Time{
			"": time.Date(2027, 5, 7, 10, 0, 0, 0, jst), // Mon–Fri and JP holidays without a window
			`send_window: { days: [mon, tue, wed, thu, fri], timezone: Asia/Tokyo, skip_holidays: JP }`: time.Date(2027, 5, 7, 10, 0, 0, 0, jst),
			`send_window: { days: [mon, tue, wed, thu, fri, sat], timezone: Asia/Tokyo }`:               time.Date(2027, 5, 3, 10, 0, 0, 0, jst),
		} {
			s := mustParse(t, `
trigger: { event: manual }
`+window+`
steps:
  - id: wait
    wait: 2bd
  - id: mail
    send: whitepaper/thanks
  - id: clicked
    wait_until: { clicked: mail, within: 2bd }
`)
			r := advance(t, s, "wait", friday, friday, scenario.LeadEnv{ID: 1})
			require.Equal(t, want, r.WakeAt.In(jst), "wait: 2bd with %q", window)
			r = advance(t, s, "clicked", friday, friday, scenario.LeadEnv{ID: 1})
			require.Equal(t, want, r.WakeAt.In(jst), "within: 2bd with %q", window)
			r = advance(t, s, "clicked", friday, want, scenario.LeadEnv{ID: 1})
			require.Contains(t, r.Trace, "clicked: not clicked mail within 2bd → no (next step)")
		}
	})

	t.Run("WindowIgnoreSendsAtOnce", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, seminar)
		friday := time.Date(2027, 1, 22, 19, 30, 0, 0, jst) // after hours
		r := advance(t, s, "thanks", friday, friday, scenario.LeadEnv{ID: 1})
		require.Equal(t, []string{"thanks"}, sent(r))

		s = mustParse(t, strings.Replace(seminar, "    window: ignore\n", "", 1))
		r = advance(t, s, "thanks", friday, friday, scenario.LeadEnv{ID: 1})
		require.Empty(t, sent(r))
		require.Equal(t, time.Date(2027, 1, 25, 9, 0, 0, 0, jst), r.WakeAt.In(jst), "without it, Monday morning")
	})
}

func TestSchedules(t *testing.T) {
	t.Parallel()

	t.Run("AtFiresOnce", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, "trigger: { schedule: { at: 2027-02-09T10:00 } }\nsteps: [ { send: whitepaper/thanks } ]\n")
		at := time.Date(2027, 2, 9, 10, 0, 0, 0, jst)
		require.Equal(t, at, s.Trigger.At.In(jst))
		require.Equal(t, at, s.Trigger.Cron.Next(at.Add(-time.Hour)).In(jst))
		require.True(t, s.Trigger.Cron.Next(at).IsZero())
	})

	t.Run("UntilEndsACron", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, `
trigger: { schedule: { cron: "0 10 9 2 *", until: 2027-03-01 } }
send_window: { timezone: Asia/Tokyo }
steps: [ { send: whitepaper/thanks } ]
`)
		require.Equal(t, time.Date(2027, 3, 1, 23, 59, 59, 0, jst), s.Trigger.Until.In(jst), "a date alone is the whole day")
		first := s.Trigger.Cron.Next(time.Date(2027, 1, 1, 0, 0, 0, 0, jst))
		require.Equal(t, time.Date(2027, 2, 9, 10, 0, 0, 0, jst), first.In(jst))
		require.True(t, s.Trigger.Cron.Next(first).IsZero(), "no firing in 2028")

		forever := mustParse(t, "trigger: { schedule: { cron: \"0 10 9 2 *\", until: never } }\nsteps: [ { send: whitepaper/thanks } ]\n")
		require.False(t, forever.Trigger.Cron.Next(time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC)).IsZero())
	})

	t.Run("ASimulationAfterTheLastFiringEnrollsNobody", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, "trigger: { schedule: { at: 2027-02-09T10:00 } }\nsteps: [ { send: whitepaper/thanks } ]\n")
		sim, err := scenario.Simulate(s, scenario.LeadEnv{ID: 1}, scenario.EventEnv{}, nil, scenario.SimOptions{Start: time.Date(2027, 2, 1, 0, 0, 0, 0, jst)})
		require.NoError(t, err)
		require.Equal(t, []string{"step-1"}, sim.SentSteps())
		require.Equal(t, time.Date(2027, 2, 9, 10, 0, 0, 0, jst), sim.Sends[0].At.In(jst))

		sim, err = scenario.Simulate(s, scenario.LeadEnv{ID: 1}, scenario.EventEnv{}, nil, scenario.SimOptions{Start: time.Date(2027, 2, 10, 0, 0, 0, 0, jst)})
		require.NoError(t, err)
		require.False(t, sim.Enrolled)
		require.Empty(t, sim.SentSteps())
	})
}

func TestSimulateTimes(t *testing.T) {
	t.Parallel()
	s := mustParse(t, seminar)
	signUp := time.Date(2027, 1, 20, 10, 0, 0, 0, jst)

	t.Run("AnEventAfterASend", func(t *testing.T) {
		t.Parallel()
		events := []scenario.TestEvent{{AfterSent: "survey", After: 24 * time.Hour, Engage: scenario.Clicked, Ref: "survey"}}
		sim, err := scenario.Simulate(s, scenario.LeadEnv{ID: 1}, scenario.EventEnv{}, events, scenario.SimOptions{Start: signUp})
		require.NoError(t, err)
		require.Empty(t, sim.Problems)
		require.Equal(t, []string{"thanks", "reminder", "survey"}, sim.SentSteps())
		require.Equal(t, scenario.ExitCompleted, sim.Ended)
		require.Equal(t, time.Date(2027, 2, 11, 16, 0, 0, 0, jst), sim.EndedAt.In(jst), "a day after the survey")
		require.Contains(t, sim.Lead.Tags, "アンケート回答")
	})

	t.Run("AnEventAtADate", func(t *testing.T) {
		t.Parallel()
		events := []scenario.TestEvent{{At: time.Date(2027, 2, 10, 18, 0, 0, 0, jst), Engage: scenario.Clicked, Ref: "survey"}}
		sim, err := scenario.Simulate(s, scenario.LeadEnv{ID: 1}, scenario.EventEnv{}, events, scenario.SimOptions{Start: signUp})
		require.NoError(t, err)
		require.Empty(t, sim.Problems)
		require.Equal(t, time.Date(2027, 2, 10, 18, 0, 0, 0, jst), sim.EndedAt.In(jst))
	})

	t.Run("AnEventAfterASendThatNeverCameIsAProblem", func(t *testing.T) {
		t.Parallel()
		late := time.Date(2027, 2, 9, 20, 0, 0, 0, jst)
		events := []scenario.TestEvent{{AfterSent: "reminder", After: time.Hour, Engage: scenario.Opened, Ref: "reminder"}}
		sim, err := scenario.Simulate(s, scenario.LeadEnv{ID: 1}, scenario.EventEnv{}, events, scenario.SimOptions{Start: late})
		require.NoError(t, err)
		require.Equal(t, []string{"thanks", "survey"}, sim.SentSteps())
		require.Len(t, sim.Problems, 1)
		require.Contains(t, sim.Problems[0], "an event 1h after reminder sent: but reminder sent nothing")
	})

	t.Run("AnEventBeforeTheStartIsAProblem", func(t *testing.T) {
		t.Parallel()
		events := []scenario.TestEvent{{At: signUp.Add(-time.Hour), Type: "page_visited"}}
		sim, err := scenario.Simulate(s, scenario.LeadEnv{ID: 1}, scenario.EventEnv{}, events, scenario.SimOptions{Start: signUp})
		require.NoError(t, err)
		require.Len(t, sim.Problems, 1)
		require.Contains(t, sim.Problems[0], "but the lead only enters at 2027-01-20 10:00")
	})

	t.Run("ATestsStartAndTimes", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, seminar+`
tests:
  - name: late
    start: 2027-02-09T20:00
    events: [ { after_sent: survey, in: 1h, clicked: survey } ]
    expect: { sent: [thanks, survey], tags: [アンケート回答] }
  - name: on time
    start: 2027-01-20T10:00
    events: [ { at: "2027-02-10 17:00", clicked: survey } ]
    expect: { sent: [thanks, reminder, survey], tags: [アンケート回答] }
  - name: fails
    start: 2027-02-09T20:00
    expect: { sent: [thanks, reminder, survey] }
`)
		require.Equal(t, time.Date(2027, 2, 9, 20, 0, 0, 0, jst), s.Tests[0].Start.In(jst))
		require.Equal(t, scenario.TestEvent{AfterSent: "survey", After: time.Hour, Engage: scenario.Clicked, Ref: "survey"}, s.Tests[0].Events[0])
		res := s.RunTests()
		require.True(t, res[0].Passed(), res[0].String())
		require.True(t, res[1].Passed(), res[1].String())
		require.False(t, res[2].Passed())
		require.Equal(t, time.Date(2027, 2, 9, 20, 0, 0, 0, jst), res[2].Sim.Start.In(jst))
	})
}
