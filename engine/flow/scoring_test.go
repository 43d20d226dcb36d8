package flow_test

import (
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/score"
)

// shippedScoring is the scoring model the project ships.
func shippedScoring(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("../../scenarios/scoring.yaml")
	require.NoError(t, err)
	return string(src)
}

// record records a client event for a lead, as the API does.
func (b *testBundle) record(t *testing.T, in lead.Input, typ string, props map[string]any) int64 {
	t.Helper()
	out, _, err := lead.RecordClientEvent(b.ctx, b.pool, "test", in, lead.ClientEvent{Type: typ, Properties: props}, time.Now())
	require.NoError(t, err)
	return out.ID
}

// observe records an event nurture itself observed (an open, a click) for a lead.
func (b *testBundle) observe(t *testing.T, leadID int64, typ string, props map[string]any) {
	t.Helper()
	require.NoError(t, pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error { return lead.AppendEvent(b.ctx, tx, leadID, typ, props) }))
}

// dispatched waits until every event so far, and those the scoring recorded in
// answer, has been dispatched.
func (b *testBundle) dispatched(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		var left int
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT count(*) FROM event_queue`).Scan(&left))
		return left == 0
	}, 15*time.Second, 20*time.Millisecond, "events still queued")
}

func (b *testBundle) lead(t *testing.T, id int64) *lead.Lead {
	t.Helper()
	l, err := lead.FindLeadByID(b.ctx, b.pool, id)
	require.NoError(t, err)
	return l
}

func (b *testBundle) countEvents(t *testing.T, leadID int64, typ string) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT count(*) FROM events WHERE lead_id = $1 AND type = $2`, leadID, typ).Scan(&n))
	return n
}

func TestScoring(t *testing.T) {
	t.Parallel()

	t.Run("TheSeedExampleScoresAsWrittenAndBecomesMQL", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"scoring.yaml": shippedScoring(t)})
		id := b.record(t, lead.Input{Email: "yamada@example.co.jp", Title: new("情報システム部長"), Employees: new(1200)},
			lead.TypeFormSubmitted, map[string]any{"form": "document-request"})
		b.observe(t, id, "email_opened", map[string]any{"verdict": "human", "message_id": 1})
		b.record(t, lead.Input{Email: "yamada@example.co.jp"}, lead.TypeFormSubmitted, map[string]any{"form": "inquiry"})
		b.dispatched(t)

		l := b.lead(t, id)
		require.Equal(t, 63, l.Score, "部長 10 + 1,000名以上 20 + 資料請求 10 + 開封 3 + 問い合わせ 20")
		require.Equal(t, 30, l.ProfileScore)
		require.Equal(t, "hot", l.Grade)
		require.Equal(t, lead.StageMQL, l.Stage)
		require.Equal(t, 1, b.countEvents(t, id, "stage_changed"))
		require.Equal(t, 1, b.countEvents(t, id, "escalation_requested"), "escalation.when: [mql]")

		bd, err := score.FindBreakdown(b.ctx, b.pool, b.engine.Scorer().Model(), id, time.Now())
		require.NoError(t, err)
		require.Equal(t, 63, bd.Score)
		got := map[string]int{}
		for _, r := range bd.Rules {
			got[r.Name] = int(r.Points + 0.5)
		}
		require.Equal(t, map[string]int{"部長・役員": 10, "従業員1,000名以上": 20, "資料請求": 10, "メール開封": 3, "問い合わせ": 20}, got)
	})

	t.Run("MachineHitsAddNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"scoring.yaml": shippedScoring(t)})
		id := b.record(t, lead.Input{Email: "bot@example.co.jp"}, "newsletter_signup", nil)
		b.observe(t, id, "email_opened", map[string]any{"verdict": "machine", "message_id": 1})
		b.observe(t, id, "email_clicked", map[string]any{"verdict": "machine", "message_id": 1, "url": "https://x.jp/pricing"})
		b.observe(t, id, "email_opened", map[string]any{"verdict": "unknown", "message_id": 1})
		b.dispatched(t)
		require.Zero(t, b.lead(t, id).Score)
		require.Zero(t, b.countEvents(t, id, "score_changed"))
	})

	t.Run("CapsHold", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"scoring.yaml": shippedScoring(t)})
		in := lead.Input{Email: "pricing@example.co.jp"}
		var id int64
		for range 4 {
			id = b.record(t, in, lead.TypePageVisited, map[string]any{"url": "https://example.co.jp/pricing"})
		}
		b.dispatched(t)
		require.Equal(t, 10, b.lead(t, id).Score, "max_per_day: 1")
	})

	t.Run("ALeadCrossesIntoMQLOnceWhenFiftyEventsRace", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"scoring.yaml": shippedScoring(t)})
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				_, _, err := lead.RecordClientEvent(b.ctx, b.pool, "test", lead.Input{Email: "race@example.co.jp"},
					lead.ClientEvent{Type: lead.TypeFormSubmitted, Properties: map[string]any{"form": "inquiry"}}, time.Now())
				require.NoError(t, err)
			})
		}
		wg.Wait()
		b.dispatched(t)
		l, err := lead.FindLeadByEmail(b.ctx, b.pool, "race@example.co.jp")
		require.NoError(t, err)
		require.Equal(t, lead.StageMQL, l.Stage)
		require.Equal(t, 1, b.countEvents(t, l.ID, "stage_changed"))
		require.Equal(t, 1, b.countEvents(t, l.ID, "escalation_requested"))
		require.Equal(t, 50, b.countEvents(t, l.ID, "score_changed"))
		require.InDelta(t, 1000, float64(l.Score), 2, "50 inquiries at 20 points, a few seconds of decay")
	})

	t.Run("DecayHalvesBehaviourPointsAfterOneHalfLife", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"scoring.yaml": shippedScoring(t)})
		id := b.record(t, lead.Input{Email: "fade@example.co.jp", Employees: new(1500)}, lead.TypeFormSubmitted, map[string]any{"form": "inquiry"})
		b.dispatched(t)
		l := b.lead(t, id)
		require.Equal(t, 40, l.Score)
		require.Equal(t, "warm", l.Grade)

		m := b.engine.Scorer().Model()
		n, err := score.Decay(b.ctx, b.pool, m, time.Now().Add(30*24*time.Hour))
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		l = b.lead(t, id)
		require.Equal(t, 30, l.Score, "profile 20 stays, behaviour 20 halves")
		require.InDelta(t, 10, l.BehaviorScore, 0.01)

		n, err = score.Decay(b.ctx, b.pool, m, time.Now().Add(60*24*time.Hour))
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		l = b.lead(t, id)
		require.Equal(t, 25, l.Score)
		require.Equal(t, "cold", l.Grade)
		var from, to, by string
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT properties->>'from', properties->>'to', properties->>'by' FROM events
			WHERE lead_id = $1 AND type = 'grade_changed' ORDER BY id DESC LIMIT 1`, id).Scan(&from, &to, &by))
		require.Equal(t, []string{"warm", "cold", "decay"}, []string{from, to, by})
	})

	t.Run("AModelEditReScoresEveryLead", func(t *testing.T) {
		t.Parallel()
		const v1 = "behavior:\n  - { on: email_opened, points: 3 }\n  - { on: page_visited, points: 1 }\n"
		b := setup(t, map[string]string{"scoring.yaml": v1})
		id := b.record(t, lead.Input{Email: "edit@example.co.jp", Title: new("部長")}, lead.TypePageVisited, map[string]any{"url": "https://x.jp/"})
		b.observe(t, id, "email_opened", map[string]any{"verdict": "human"})
		b.observe(t, id, "email_opened", map[string]any{"verdict": "human"})
		b.dispatched(t)
		require.Equal(t, 7, b.lead(t, id).Score)

		const v2 = "profile:\n  - { if: 'lead.title contains \"部長\"', points: 10 }\nbehavior:\n  - { on: email_opened, points: 5 }\n"
		b.write(t, "scoring.yaml", v2)
		require.NoError(t, b.engine.Load(b.ctx))
		require.Eventually(t, func() bool { return b.lead(t, id).Score == 20 }, 15*time.Second, 20*time.Millisecond,
			"opens re-valued at 5, the visit rule gone, the new profile rule counted: score %d", b.lead(t, id).Score)
		var awarded, rows int
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT sum(awarded)::int, count(*) FROM score_ledger WHERE lead_id = $1 AND kind = 'behavior'`, id).Scan(&awarded, &rows))
		require.Equal(t, 7, awarded, "what was given stays in the ledger")
		require.Equal(t, 3, rows)
		version := b.engine.Scorer().Model().Version
		require.Eventually(t, func() bool {
			var applied bool
			return b.pool.QueryRow(b.ctx, `SELECT applied_at IS NOT NULL FROM score_models WHERE version = $1`, version).Scan(&applied) == nil && applied
		}, 15*time.Second, 20*time.Millisecond, "the re-score succeeded and marked the model applied")
	})

	t.Run("AScenarioTriggeredByStageChangedRuns", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"scoring.yaml": shippedScoring(t), "mql.yaml": `
id: mql-welcome
trigger: { event: stage_changed, if: event.to == "mql" }
steps:
  - id: hello
    send: course/day1
`})
		id := b.record(t, lead.Input{Email: "rising@example.co.jp", Employees: new(5000)}, lead.TypeFormSubmitted, map[string]any{"form": "inquiry"})
		b.record(t, lead.Input{Email: "rising@example.co.jp"}, lead.TypeFormSubmitted, map[string]any{"form": "whitepaper"})
		b.message(t, id, "hello", 30*time.Second)
		require.Equal(t, lead.StageMQL, b.lead(t, id).Stage)
	})

	t.Run("HistoryFunctionsReadTheLeadsEvents", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{
			"scoring.yaml": "behavior:\n  - { id: pricing-thrice, on: page_visited, if: 'visit_count(\"/pricing\", \"30d\") >= 3', points: 25, max_total: 1 }\n",
			"seminar.yaml": `
id: seminar
trigger: { event: form_submitted, if: event.form == "seminar" }
steps:
  - id: priced
    if: 'visited("/pricing") && submitted("seminar")'
    yes: hello
    no: end
  - id: hello
    send: course/day1
`})
		in := lead.Input{Email: "history@example.co.jp"}
		var id int64
		for i := range 3 {
			id = b.record(t, in, lead.TypePageVisited, map[string]any{"url": "https://example.co.jp/pricing?p=" + string(rune('a'+i))})
			b.dispatched(t)
			if i < 2 {
				require.Zero(t, b.lead(t, id).Score, "visit %d", i+1)
			}
		}
		require.Equal(t, 25, b.lead(t, id).Score, "the third visit in 30 days")
		b.record(t, in, lead.TypeFormSubmitted, map[string]any{"form": "seminar"})
		b.message(t, id, "hello", 30*time.Second)

		other := b.record(t, lead.Input{Email: "nohistory@example.co.jp"}, lead.TypeFormSubmitted, map[string]any{"form": "seminar"})
		require.Equal(t, "completed", b.ended(t, other, 15*time.Second))
		require.Empty(t, b.sentSteps(t, other), "no pricing visit: the no branch")
	})

	t.Run("ABrokenModelIsRefusedAndTheRunningOneStays", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"scoring.yaml": shippedScoring(t)})
		before := b.engine.Scorer().Model().Version
		b.write(t, "scoring.yaml", "behavior:\n  - { on: email_opened, pionts: 3 }\n")
		require.ErrorContains(t, b.engine.Load(b.ctx), "scoring.yaml:2:")
		require.Equal(t, before, b.engine.Scorer().Model().Version)
	})
}
