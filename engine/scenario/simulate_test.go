package scenario_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lang"
	"github.com/nurture-dev/nurture/engine/scenario"
)

// followup is the white-paper follow-up of the shipped examples, with a goal, exit_if and a
// send window.
const followup = `
id: followup
trigger: { event: form_submitted, if: event.form == "whitepaper" }
exit_if: lead.stage in ["sql", "won", "lost"]
goal: event.type == "form_submitted" && event.form == "demo-request"
send_window: { days: [mon, tue, wed, thu, fri], hours: "09:00-18:00", timezone: Asia/Tokyo, skip_holidays: JP }
steps:
  - id: thanks
    send: whitepaper/thanks
  - wait: 2d
  - id: case
    send: whitepaper/case-study
  - id: clicked_case
    wait_until: { clicked: case, within: 3d }
    yes: hot
    no: reminder
  - id: reminder
    send: whitepaper/reminder
    next: end
  - id: hot
    if: lead.score >= 50
    yes: promote
    no: end
  - id: promote
    stage: mql
  - id: alert
    escalate: clicked the case study
`

func ev(s string) scenario.TestEvent {
	e, err := scenario.ParseEvent(s)
	if err != nil {
		panic(err)
	}
	return e
}

func TestSimulate(t *testing.T) {
	t.Parallel()
	jst := time.FixedZone("JST", 9*60*60)

	tests := []struct {
		name     string
		src      string // followup when empty
		lead     scenario.LeadEnv
		events   []string
		opt      scenario.SimOptions
		sent     []string
		sentAt   []string // offsets of the sends, when checked
		ended    string
		stage    string
		escalate bool
		tags     []string
		lines    []string // each must be in the timeline
	}{
		{
			name: "ClickerWithAHighScoreGoesToSales", lead: scenario.LeadEnv{ID: 1, Stage: "inquiry", Score: 60},
			events: []string{"2d1h clicked case"},
			sent:   []string{"thanks", "case"}, sentAt: []string{"+0d00h", "+2d00h"},
			ended: scenario.ExitCompleted, stage: "mql", escalate: true,
			lines: []string{"clicked_case: clicked case → yes (hot)", "hot: lead.score >= 50 is true → yes (promote)"},
		},
		{
			name: "ClickerWithALowScoreEnds", lead: scenario.LeadEnv{ID: 1, Stage: "inquiry", Score: 10},
			events: []string{"2d1h clicked case"},
			sent:   []string{"thanks", "case"}, ended: scenario.ExitCompleted, stage: "inquiry",
			lines: []string{"hot: lead.score >= 50 is false → no (end)"},
		},
		{
			name: "NoClickGetsTheReminderWhenTheWindowCloses", lead: scenario.LeadEnv{ID: 1, Stage: "inquiry"},
			sent: []string{"thanks", "case", "reminder"}, sentAt: []string{"+0d00h", "+2d00h", "+6d23h"},
			ended: scenario.ExitCompleted, stage: "inquiry",
			lines: []string{"clicked_case: not clicked case within 3d → no (reminder)"},
		},
		{
			name: "AClickOnAnotherMailDoesNotCount", lead: scenario.LeadEnv{ID: 1, Stage: "inquiry", Score: 60},
			events: []string{"2d1h clicked thanks"},
			sent:   []string{"thanks", "case", "reminder"}, ended: scenario.ExitCompleted,
		},
		{
			name: "AClickAfterTheWindowCountsForNothing", lead: scenario.LeadEnv{ID: 1, Stage: "inquiry", Score: 60},
			events: []string{"6d clicked case"},
			sent:   []string{"thanks", "case", "reminder"}, ended: scenario.ExitCompleted, stage: "inquiry",
		},
		{
			name: "TheGoalEndsItAtOnce", lead: scenario.LeadEnv{ID: 1, Stage: "inquiry"},
			events: []string{"1d form_submitted form=demo-request"},
			sent:   []string{"thanks"}, ended: scenario.ExitGoal,
			lines: []string{"the lead: form_submitted form=demo-request", "end (goal)"},
		},
		{
			name: "AnotherFormIsNotTheGoal", lead: scenario.LeadEnv{ID: 1, Stage: "inquiry"},
			events: []string{"1d form_submitted form=newsletter"},
			sent:   []string{"thanks", "case", "reminder"}, ended: scenario.ExitCompleted,
		},
		{
			name: "SalesTakingTheLeadOverExitsIt", lead: scenario.LeadEnv{ID: 1, Stage: "mql"},
			events: []string{"3d stage_changed to=sql"},
			sent:   []string{"thanks", "case"}, ended: scenario.ExitExit, stage: "sql",
			lines: []string{"end (exit): exit_if is true"},
		},
		{
			name: "AnUnsubscribeEndsIt", lead: scenario.LeadEnv{ID: 1, Stage: "inquiry"},
			events: []string{"1d unsubscribed"},
			sent:   []string{"thanks"}, ended: scenario.ExitSuppressed,
		},
		{
			name: "ASoftBounceDoesNotEndIt", lead: scenario.LeadEnv{ID: 1, Stage: "inquiry"},
			events: []string{"1d email_bounced kind=soft"},
			sent:   []string{"thanks", "case", "reminder"}, ended: scenario.ExitCompleted,
		},
		{
			name: "ALeadAlreadyInSalesExitsBeforeTheFirstStep", lead: scenario.LeadEnv{ID: 1, Stage: "won"},
			sent: []string{}, ended: scenario.ExitExit, stage: "won",
		},
		{
			name: "AFridayEveningLeadWaitsForMonday", lead: scenario.LeadEnv{ID: 1, Stage: "inquiry"},
			opt:  scenario.SimOptions{Start: time.Date(2026, 4, 10, 19, 0, 0, 0, jst)},
			sent: []string{"thanks", "case", "reminder"}, sentAt: []string{"+2d14h", "+4d14h", "+9d14h"},
			ended: scenario.ExitCompleted,
			lines: []string{"thanks: outside the send window; waits until 2026-04-13 09:00:00"},
		},
		{
			name: "GoldenWeekHolidaysAreSkipped", lead: scenario.LeadEnv{ID: 1, Stage: "inquiry"},
			// Thursday 30 April: the case study falls on Saturday 2 May, then come
			// 3–6 May (holidays): it goes on Thursday 7 May at 09:00.
			opt:  scenario.SimOptions{Start: time.Date(2026, 4, 30, 10, 0, 0, 0, jst)},
			sent: []string{"thanks", "case", "reminder"}, sentAt: []string{"+0d00h", "+6d23h", "+10d23h"},
			ended: scenario.ExitCompleted,
		},
		{
			name: "AClickIsBelievedAfterTheSettleTime", lead: scenario.LeadEnv{ID: 1, Stage: "inquiry", Score: 60},
			events: []string{"2d1h clicked case"}, opt: scenario.SimOptions{Settle: time.Minute},
			sent: []string{"thanks", "case"}, ended: scenario.ExitCompleted, stage: "mql", escalate: true,
			lines: []string{"believed at"},
		},
		{
			name: "AClickBeforeTheMailIsAProblem", lead: scenario.LeadEnv{ID: 1, Stage: "inquiry"},
			events: []string{"1d clicked case"},
			sent:   []string{"thanks", "case", "reminder"}, ended: scenario.ExitCompleted,
			lines: []string{"clicked case: but case had sent nothing by then"},
		},
		{
			name: "OpeningAllMailsTagsTheLead",
			src: `
trigger: { event: manual }
steps:
  - id: m1
    send: course/day1
  - id: o1
    wait_until: { opened: m1, within: 1d }
    no: end
  - update: { tags: [opened-all], points: 10 }
  - id: clicked_key
    wait_until: { clicked: m1, link: key, within: 2d }
    yes: to_sales
    no: end
  - id: to_sales
    stage: mql
`,
			lead:   scenario.LeadEnv{ID: 1, Stage: "inquiry", Tags: []string{"webinar"}},
			events: []string{"1h opened m1", "2h clicked m1 other", "3h clicked m1 key"},
			sent:   []string{"m1"}, ended: scenario.ExitCompleted, stage: "mql", tags: []string{"webinar", "opened-all"},
			lines: []string{"o1: opened m1 → yes (next step)", "updates the lead (tags +opened-all, +10 points)", "clicked_key: clicked m1 (link key) → yes (to_sales)"},
		},
		{
			name: "AWaitThatNeverEndsRunsToTheHorizon",
			src: `
trigger: { event: manual }
steps:
  - id: again
    wait: 30d
  - goto: again
`,
			lead: scenario.LeadEnv{ID: 1}, sent: []string{}, ended: "",
			lines: []string{"still running at"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := mustParse(t, cmpOr(tt.src, followup))
			var events []scenario.TestEvent
			for _, e := range tt.events {
				events = append(events, ev(e))
			}
			sim, err := scenario.Simulate(s, tt.lead, scenario.EventEnv{}, events, tt.opt)
			require.NoError(t, err)
			var timeline strings.Builder
			require.NoError(t, sim.WriteTimeline(&timeline))
			require.Equal(t, tt.sent, append([]string{}, sim.SentSteps()...), timeline.String())
			if tt.sentAt != nil {
				var at []string
				for _, m := range sim.Sends {
					at = append(at, sim.Offset(m.At))
				}
				require.Equal(t, tt.sentAt, at, timeline.String())
			}
			require.Equal(t, tt.ended, sim.Ended, timeline.String())
			if tt.stage != "" {
				require.Equal(t, tt.stage, sim.Lead.Stage, timeline.String())
			}
			require.Equal(t, tt.escalate, len(sim.Escalations) > 0, timeline.String())
			if tt.tags != nil {
				require.Equal(t, tt.tags, sim.Lead.Tags)
			}
			for _, line := range tt.lines {
				require.Contains(t, timeline.String(), line)
			}
			if !strings.Contains(tt.name, "Problem") {
				require.Empty(t, sim.Problems)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestSimulateIsDeterministicAndStablePerLead(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `
trigger: { event: manual }
steps:
  - id: hello
    variants:
      - { template: course/day1, weight: 50, name: a }
      - { template: course/day2, weight: 50, name: b }
  - id: route
    split:
      - { weight: 50, next: left, name: left }
      - { weight: 50, next: right, name: right }
  - id: left
    update: { tags: [left] }
    next: end
  - id: right
    update: { tags: [right] }
`)
	seen := map[string]bool{}
	for id := int64(1); id <= 40; id++ {
		lead := scenario.LeadEnv{ID: id}
		first, err := scenario.Simulate(s, lead, scenario.EventEnv{}, nil, scenario.SimOptions{})
		require.NoError(t, err)
		again, err := scenario.Simulate(s, lead, scenario.EventEnv{}, nil, scenario.SimOptions{})
		require.NoError(t, err)
		require.Equal(t, first.Lines, again.Lines, "the same lead sees the same side every time")
		require.Equal(t, first.Sends, again.Sends)
		seen[first.Sends[0].Variant+"/"+first.Lead.Tags[0]] = true
	}
	require.Len(t, seen, 4, "40 leads land on both variants and both paths: %v", seen)
}

func TestSimulateChecksTheTrigger(t *testing.T) {
	t.Parallel()
	s := mustParse(t, followup)
	lead := scenario.LeadEnv{ID: 1, Stage: "inquiry"}
	opt := scenario.SimOptions{CheckTrigger: true}

	sim, err := scenario.Simulate(s, lead, scenario.EventEnvOf("form_submitted", time.Time{}, map[string]any{"form": "seminar"}), nil, opt)
	require.NoError(t, err)
	require.False(t, sim.Enrolled)
	require.Empty(t, sim.Sends)
	require.Contains(t, sim.Lines[0].Text, `not enrolled: the trigger's condition is false: event.form == "whitepaper"`)

	sim, err = scenario.Simulate(s, lead, scenario.EventEnvOf("form_submitted", time.Time{}, map[string]any{"form": "whitepaper"}), nil, opt)
	require.NoError(t, err)
	require.True(t, sim.Enrolled)
	require.Equal(t, []string{"thanks", "case", "reminder"}, sim.SentSteps())

	t.Run("AScheduleStartsAtItsFirstFiring", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, `
trigger: { schedule: "0 10 1 * *", if: 'lead.grade == "cold"' }
send_window: { hours: "09:00-18:00", timezone: Asia/Tokyo }
steps:
  - send: reengage/monthly
`)
		sim, err := scenario.Simulate(s, scenario.LeadEnv{ID: 1, Grade: "cold"}, scenario.EventEnv{}, nil, scenario.SimOptions{})
		require.NoError(t, err)
		require.Equal(t, "2026-05-01 10:00", sim.Start.Format("2006-01-02 15:04"))
		require.Len(t, sim.Sends, 1)

		sim, err = scenario.Simulate(s, scenario.LeadEnv{ID: 1, Grade: "warm"}, scenario.EventEnv{}, nil, scenario.SimOptions{})
		require.NoError(t, err)
		require.False(t, sim.Enrolled)
	})
}

func TestParseEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want scenario.TestEvent
		err  string
	}{
		{in: "2d1h clicked case", want: scenario.TestEvent{After: 49 * time.Hour, Engage: scenario.Clicked, Ref: "case"}},
		{in: "3d clicked day3 key", want: scenario.TestEvent{After: 72 * time.Hour, Engage: scenario.Clicked, Ref: "day3", Link: "key"}},
		{in: "1h opened thanks", want: scenario.TestEvent{After: time.Hour, Engage: scenario.Opened, Ref: "thanks"}},
		{in: "3d form_submitted form=demo-request", want: scenario.TestEvent{After: 72 * time.Hour, Type: "form_submitted", Props: map[string]any{"form": "demo-request"}}},
		{in: "0s unsubscribed", want: scenario.TestEvent{Type: "unsubscribed"}},
		{in: "clicked case", err: `"clicked"`},
		{in: "2d", err: "an event is"},
		{in: "2d clicked", err: "name the send step"},
		{in: "2d opened case key", err: "too many words"},
		{in: "2d form_submitted demo", err: `"demo" is not key=value`},
		{in: "2d form=demo", err: "is not an event type"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := scenario.ParseEvent(tt.in)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLeadFromMap(t *testing.T) {
	t.Parallel()
	now := scenario.DefaultSimStart
	l, err := scenario.LeadFromMap(map[string]any{
		"email": "a@example.com", "last_name": "山田", "title": "部長", "employees": int64(2000),
		"score": float64(55), "tags": []any{"展示会"}, "attributes": map[string]any{"予算": "あり"},
		"created_at": "120d ago", "stage_changed_at": "2026-01-05",
	}, now)
	require.NoError(t, err)
	require.Equal(t, 2000, l.Employees)
	require.Equal(t, 55, l.Score)
	require.Equal(t, "inquiry", l.Stage, "a new lead's stage")
	require.Equal(t, []string{"展示会"}, l.Tags)
	require.Equal(t, now.Add(-120*24*time.Hour), l.CreatedAt)
	require.Equal(t, 2026, l.StageChangedAt.Year())
	require.NotZero(t, l.ID, "an id is made from the email")

	_, err = scenario.LeadFromMap(map[string]any{"employees": "many", "stage": "hot", "owner_id": int64(3)}, now)
	require.ErrorContains(t, err, "lead employees: must be a whole number")
	require.ErrorContains(t, err, `lead stage: unknown stage "hot"`)
	require.ErrorContains(t, err, "lead owner_id: is not something scenario conditions see")

	_, err = scenario.LeadFromMap(map[string]any{"compnay": "x", "created_at": "yesterday"}, now)
	require.ErrorContains(t, err, `lead compnay: is not something scenario conditions see (did you mean "company"?); known: id, email,`)
	ja := lang.Join(lang.Japanese, err.(interface{ Unwrap() []error }).Unwrap()...)
	require.Contains(t, ja, `lead の compnay: シナリオの条件で使える項目ではありません（もしかして "company"?）。使える項目: id, email,`)
	require.Contains(t, ja, `lead の created_at: "yesterday" は日時ではありません`)
}

func TestRunTests(t *testing.T) {
	t.Parallel()
	s := mustParse(t, followup+`
tests:
  - name: a clicker is escalated
    lead: { email: a@example.com, score: 60 }
    event: { form: whitepaper }
    events: [ { after: 2d1h, clicked: case } ]
    expect: { sent: [thanks, case], escalated: true, stage: mql, exit: completed }
  - name: wrong on purpose
    lead: { email: b@example.com }
    events: [ { after: 2d1h, clicked: case } ]
    expect: { sent: [thanks, case, reminder], escalated: true, stage: sql, exit: goal, tags: [hot] }
  - name: another form does not enroll
    lead: { email: c@example.com }
    event: { form: seminar }
    expect: { sent: [thanks] }
  - name: a click too early
    lead: { email: d@example.com, employees: many }
    expect: { sent: [] }
`)
	res := s.RunTests()
	require.Len(t, res, 4)
	require.True(t, res[0].Passed(), res[0].String())

	require.False(t, res[1].Passed())
	require.Equal(t, []string{
		"expected sent [thanks case reminder], got [thanks case]",
		"expected the lead to be escalated, but it was not",
		"expected stage sql, got inquiry",
		"expected it to reach the goal, but it completed at +2d01h",
		"expected tags [hot], the lead has []",
	}, res[1].Failures)

	require.Equal(t, []string{`expected sent [thanks], got [] (not enrolled: the trigger's condition is false: event.form == "whitepaper")`}, res[2].Failures)

	require.Len(t, res[3].Failures, 1)
	require.Regexp(t, `^test.yaml:\d+:\d+: the test's lead employees: must be a whole number`, res[3].Failures[0])

	t.Run("FailuresInJapanese", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, res[1].Failures, res[1].FailuresIn(lang.English))
		require.Equal(t, []string{
			"送信の期待は [thanks case reminder]、実際は [thanks case] です",
			"営業への引き渡し（escalate）があるはずですが、ありませんでした",
			"ステージの期待は sql、実際は inquiry です",
			"終わり方の期待は「ゴールに達する」ですが、実際は「+2d01h に完了」でした",
			"タグ [hot] があるはずですが、リードのタグは [] です",
		}, res[1].FailuresIn(lang.Japanese))
		require.Equal(t, []string{`送信の期待は [thanks]、実際は [] です（シナリオに入りません: trigger の条件が偽です: event.form == "whitepaper"）`},
			res[2].FailuresIn(lang.Japanese))
		require.Regexp(t, `^test.yaml:\d+:\d+: テストの lead の employees: 整数で書きます（many ではなく）$`, res[3].FailuresIn(lang.Japanese)[0])
	})
}

func TestSimulateShowsSubjects(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `
trigger: { event: form_submitted }
steps:
  - id: thanks
    send: whitepaper/thanks
  - id: case
    send: whitepaper/case-study
    subject: 事例のご紹介（件名を変えた版）
  - id: broken
    send: whitepaper/broken
`)
	var asked []string
	opt := scenario.SimOptions{Subject: func(template string, l scenario.LeadEnv) (string, error) {
		asked = append(asked, template)
		if template == "whitepaper/broken" {
			return "", errors.New("no such template")
		}
		return l.LastName + " 様、資料をお送りします", nil
	}}
	sim, err := scenario.Simulate(s, scenario.LeadEnv{Email: "a@example.com", LastName: "山田"}, scenario.EventEnv{}, nil, opt)
	require.NoError(t, err)
	require.Equal(t, []string{"whitepaper/thanks", "whitepaper/broken"}, asked, "a step's own subject is not rendered")
	require.Equal(t, "山田 様、資料をお送りします", sim.Sends[0].Subject)
	require.Equal(t, "事例のご紹介（件名を変えた版）", sim.Sends[1].Subject)
	var b strings.Builder
	require.NoError(t, sim.WriteTimeline(&b))
	require.Contains(t, b.String(), "thanks: sends whitepaper/thanks\n")
	require.Contains(t, b.String(), `thanks: subject "山田 様、資料をお送りします"`)
	require.Equal(t, "thanks: sends whitepaper/thanks", sim.Lines[1].Text)
	require.Equal(t, `thanks: subject "山田 様、資料をお送りします"`, sim.Lines[2].Text, "the subject follows its send")
	require.Contains(t, b.String(), `case: subject "事例のご紹介（件名を変えた版）"`)
	require.Contains(t, b.String(), "broken: the subject of whitepaper/broken could not be made: no such template")
	require.Empty(t, sim.Problems, "a subject that cannot be made is not a test's problem")
	var lines []string
	for _, l := range sim.Lines {
		lines = append(lines, l.In(lang.Japanese))
	}
	require.Contains(t, lines, `thanks: 件名 "山田 様、資料をお送りします"`)

	sim, err = scenario.Simulate(s, scenario.LeadEnv{Email: "a@example.com"}, scenario.EventEnv{}, nil, scenario.SimOptions{})
	require.NoError(t, err)
	require.Empty(t, sim.Sends[0].Subject, "no subjects without SimOptions.Subject")
}

func TestHistoryFunctions(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `
trigger: { event: form_submitted, if: event.form == "seminar" }
steps:
  - id: thanks
    send: seminar/thanks
  - wait: 3d
  - id: interested
    if: 'visited("/pricing", "7d") || submitted("demo-request") || opened_count("30d") >= 2'
    yes: call
    no: end
  - id: call
    escalate: 料金ページ閲覧・デモ申込・開封2回のいずれか
tests:
  - name: a pricing visit within the week
    lead: { email: a@example.com }
    event: { form: seminar }
    events: [ { after: 1d, type: page_visited, props: { url: "https://x.jp/pricing" } } ]
    expect: { escalated: true }
  - name: a demo request
    lead: { email: b@example.com }
    event: { form: seminar }
    events: [ { after: 2d, type: form_submitted, props: { form: demo-request } } ]
    expect: { escalated: true }
  - name: two opens
    lead: { email: c@example.com }
    event: { form: seminar }
    events: [ { after: 1h, opened: thanks }, { after: 2h, opened: thanks } ]
    expect: { escalated: true }
  - name: nothing
    lead: { email: d@example.com }
    event: { form: seminar }
    events: [ { after: 1h, opened: thanks }, { after: 1d, type: page_visited, props: { url: "https://x.jp/about" } } ]
    expect: { escalated: false }
`)
	res := s.RunTests()
	require.Len(t, res, 4)
	for _, r := range res {
		require.True(t, r.Passed(), r.String())
	}
}

func TestStepConditionsCannotNameTheEvent(t *testing.T) {
	t.Parallel()
	_, err := scenario.Parse("test.yaml", []byte(`
trigger: { event: form_submitted }
steps:
  - id: check
    if: event.form == "seminar"
    yes: end
`), scenario.Options{})
	require.ErrorContains(t, err, `test.yaml:5:9: a step's condition sees the lead, not an event`)
	_, err = scenario.Parse("test.yaml", []byte("trigger: { event: manual }\nsteps:\n  - if: 'visited(3)'\n    yes: end\n"), scenario.Options{})
	require.ErrorContains(t, err, "does not compile")
}

func TestLeadEnvLeadIsTheInverseOfLeadEnvOf(t *testing.T) {
	t.Parallel()
	env, err := scenario.LeadFromMap(map[string]any{
		"email": "a@example.com", "last_name": "山田", "company": "サンプル株式会社", "employees": 300,
		"tags": []any{"展示会"}, "attributes": map[string]any{"業種": "製造"}, "bant": map[string]any{"budget": "あり"},
		"created_at": "2026-01-05",
	}, scenario.DefaultSimStart)
	require.NoError(t, err)
	l := env.Lead()
	require.Equal(t, "山田", l.LastName)
	require.Equal(t, 300, *l.Employees)
	require.Equal(t, "あり", l.BANT.Budget)
	require.Equal(t, env, scenario.LeadEnvOf(l))
	require.Nil(t, scenario.LeadEnv{}.Lead().Employees, "no employees is not known")
}
