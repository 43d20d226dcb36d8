package flow_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	netmail "net/mail"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/flow"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/mail/mailtest"
	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/track"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const (
	testSecret   = "flow-test-secret-0123456789abcdefghij"
	browserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
)

type testBundle struct {
	ctx    context.Context
	pool   *pgxpool.Pool
	sink   *mailtest.Server
	mailer *mail.Mailer
	engine *flow.Engine
	client *queue.Client
	dir    string
}

// quickRetry retries failed jobs at once, so a test does not wait for backoff.
type quickRetry struct{}

func (quickRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(100 * time.Millisecond)
}

// setup runs an engine on a fresh database with the scenario files given (name →
// content), real River workers and an in-process SMTP server, tuned for tests: new
// events are looked for every 50ms and failed jobs retried at once.
func setup(t *testing.T, files map[string]string) *testBundle {
	t.Helper()
	return newBundle(t, files, func(fc *flow.Config, qc *queue.Config) {
		fc.DispatchInterval = 50 * time.Millisecond
		qc.RetryPolicy = quickRetry{}
	})
}

// newBundle runs an engine as setup does, with the settings tune changes; a nil tune
// leaves them as `nurture serve` has them. The mailer keeps to the frequency cap
// given, or to none.
func newBundle(t testing.TB, files map[string]string, tune func(*flow.Config, *queue.Config), frequencyCap ...mail.FrequencyCap) *testBundle {
	t.Helper()
	return newBundleWith(t, files, tune, nil, frequencyCap...)
}

// newBundleWith is newBundle with more job workers: addWorkers, when not nil, adds
// them after the engine's (the sales hand-off's, as serve does).
func newBundleWith(t testing.TB, files map[string]string, tune func(*flow.Config, *queue.Config), addWorkers func(*river.Workers), frequencyCap ...mail.FrequencyCap) *testBundle {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pool := dbtest.New(t)
	sink := mailtest.NewServer(t)
	set, err := message.Load("../../templates")
	require.NoError(t, err)
	signer, err := track.NewSigner([]byte(testSecret))
	require.NoError(t, err)
	cfg, err := mail.ParseSMTPURL(sink.URL())
	require.NoError(t, err)
	sender := mail.NewSMTPSender(cfg)
	t.Cleanup(func() { _ = sender.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	templates := func() *message.Set { return set }
	mc := mail.Config{BaseURL: "http://nurture.test", From: "Marketing <marketing@example.com>",
		Templates: templates, Signer: signer, Sender: sender, Logger: quiet}
	if len(frequencyCap) > 0 {
		mc.Cap = frequencyCap[0]
	}
	mailer := mail.New(mc)
	dir := t.TempDir()
	b := &testBundle{ctx: ctx, pool: pool, sink: sink, mailer: mailer, dir: dir}
	for name, src := range files {
		b.write(t, name, src)
	}
	fc := flow.Config{Pool: pool, Mailer: mailer, ScenariosDir: dir, Templates: templates, Logger: quiet, WatchInterval: -1}
	qc := queue.Config{Logger: quiet}
	if tune != nil {
		tune(&fc, &qc)
	}
	b.engine = flow.New(fc)
	require.NoError(t, b.engine.Load(ctx))
	workers := queue.NewWorkers()
	river.AddWorker(workers, &mail.SendWorker{Mailer: mailer, Pool: pool})
	b.engine.AddWorkers(workers)
	if addWorkers != nil {
		addWorkers(workers)
	}
	qc.PeriodicJobs = append(b.engine.PeriodicJobs(), qc.PeriodicJobs...)
	client, err := queue.New(pool, workers, qc)
	require.NoError(t, err)
	b.client = client
	require.NoError(t, client.Start(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { _ = b.engine.Run(ctx, client) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		stopCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		_ = client.Stop(stopCtx)
	})
	return b
}

func (b *testBundle) write(t testing.TB, name, src string) {
	t.Helper()
	require.NoError(t, writeWhole(filepath.Join(b.dir, name), src))
}

// submit records a form submission for email, as the API does.
func (b *testBundle) submit(t *testing.T, email, form string) int64 {
	t.Helper()
	out, _, err := lead.RecordClientEvent(b.ctx, b.pool, "test", lead.Input{Email: email},
		lead.ClientEvent{Type: lead.TypeFormSubmitted, Properties: map[string]any{"form": form}}, time.Now())
	require.NoError(t, err)
	return out.ID
}

// message waits for the message a step sent the lead and returns its ID.
func (b *testBundle) message(t *testing.T, leadID int64, step string, within time.Duration) int64 {
	t.Helper()
	var id int64
	require.Eventually(t, func() bool {
		err := b.pool.QueryRow(b.ctx, `SELECT id FROM messages WHERE lead_id = $1 AND step = $2 AND status = 'sent'`, leadID, step).Scan(&id)
		return err == nil
	}, within, 20*time.Millisecond, "lead %d never got the message of step %s; sent: %v", leadID, step, b.sentSteps(t, leadID))
	return id
}

// sentSteps lists the steps that sent the lead mail, in order.
func (b *testBundle) sentSteps(t *testing.T, leadID int64) []string {
	t.Helper()
	rows, err := b.pool.Query(b.ctx, `SELECT step FROM messages WHERE lead_id = $1 AND status IN ('sent', 'queued') ORDER BY id`, leadID)
	require.NoError(t, err)
	steps, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return steps
}

// click records a human click on a message's link named name; the message is made to
// look delivered a minute ago, so the click is not taken for a link scanner's.
func (b *testBundle) click(t *testing.T, messageID int64, name string, method string) track.Judgement {
	t.Helper()
	_, err := b.pool.Exec(b.ctx, `UPDATE messages SET sent_at = sent_at - interval '1 minute' WHERE id = $1`, messageID)
	require.NoError(t, err)
	var index int
	var set int64
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT (l->>'index')::int, s.id FROM messages m JOIN link_sets s ON s.id = m.link_set_id,
		jsonb_array_elements(s.links) l WHERE m.id = $1 AND l->>'name' = $2`, messageID, name).Scan(&index, &set))
	res, err := b.mailer.RecordHit(b.ctx, b.pool, track.Token{Kind: track.Click, MessageID: messageID, Link: index, LinkSet: set},
		track.Hit{At: time.Now(), Method: method, UserAgent: browserAgent, IP: netip.MustParseAddr("203.0.113.7")})
	require.NoError(t, err)
	return res.Judgement
}

type enrollmentRow struct {
	ID         int64
	Version    string
	Step       string
	ExitReason *string
}

func (b *testBundle) enrollments(t *testing.T, leadID int64) []enrollmentRow {
	t.Helper()
	rows, err := b.pool.Query(b.ctx, `SELECT id, version, step, exit_reason FROM enrollments WHERE lead_id = $1 ORDER BY id`, leadID)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[enrollmentRow])
	require.NoError(t, err)
	return out
}

// ended waits for the lead's only enrollment to end and returns why.
func (b *testBundle) ended(t *testing.T, leadID int64, within time.Duration) string {
	t.Helper()
	var reason string
	require.Eventually(t, func() bool {
		ens := b.enrollments(t, leadID)
		if len(ens) != 1 || ens[0].ExitReason == nil {
			return false
		}
		reason = *ens[0].ExitReason
		return true
	}, within, 20*time.Millisecond, "enrollment of lead %d did not end: %+v", leadID, b.enrollments(t, leadID))
	return reason
}

// followupWithin is a scenario that waits window for a click on its first mail; the
// tests that need the window to close give it seconds, the others an hour, so that
// only the event under test can end the wait however slow the machine is.
func followupWithin(window string) string {
	return strings.Replace(followup, "within: 3s", "within: "+window, 1)
}

// settled waits until none of the lead's step and send jobs can still run: each has
// reached a final state (a timeout job that found its enrollment ended, say). It is the
// positive signal that whatever might have mailed the lead had its chance.
func (b *testBundle) settled(t *testing.T, leadID int64, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool {
		var pending int
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT count(*) FROM river_job j
			WHERE j.state NOT IN ('completed', 'cancelled', 'discarded') AND (
			  (j.kind = 'step' AND (j.args->>'enrollment_id')::bigint IN (SELECT id FROM enrollments WHERE lead_id = $1))
			  OR (j.kind = 'send' AND (j.args->>'message_id')::bigint IN (SELECT id FROM messages WHERE lead_id = $1)))`,
			leadID).Scan(&pending))
		return pending == 0
	}, within, 20*time.Millisecond, "jobs of lead %d still pending", leadID)
}

const followup = `
id: followup
name: テスト用フォロー
trigger:
  event: form_submitted
  if: event.form == "whitepaper"
goal: event.type == "form_submitted" && event.form == "demo-request"
steps:
  - id: thanks
    send: whitepaper/thanks
  - id: clicked
    wait_until: { clicked: thanks, link: download, within: 3s }
    yes: hot
    no: reminder
  - id: reminder
    send: whitepaper/reminder
    next: end
  - id: hot
    send: whitepaper/case-study
`

func TestFlow(t *testing.T) {
	t.Parallel()

	t.Run("AClickTakesTheYesBranchAtOnce", func(t *testing.T) {
		t.Parallel()
		// The window is an hour: only the click can end the wait before the test's
		// deadline, so reaching "hot" shows the click took the yes branch at once.
		// How fast it does is measured by BenchmarkFlow, not asserted here.
		b := setup(t, map[string]string{"followup.yaml": followupWithin("1h")})
		leadID := b.submit(t, "clicker@example.com", "whitepaper")
		thanks := b.message(t, leadID, "thanks", 10*time.Second)
		require.Equal(t, track.Human, b.click(t, thanks, "download", "GET").Verdict)
		b.message(t, leadID, "hot", 10*time.Second)
		require.Equal(t, "completed", b.ended(t, leadID, 10*time.Second))
		require.Equal(t, []string{"thanks", "hot"}, b.sentSteps(t, leadID))
	})

	t.Run("NoClickTakesTheNoBranchWhenTheWindowCloses", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"followup.yaml": followup})
		leadID := b.submit(t, "quiet@example.com", "whitepaper")
		b.message(t, leadID, "thanks", 10*time.Second)
		b.message(t, leadID, "reminder", 10*time.Second)
		require.Equal(t, "completed", b.ended(t, leadID, 10*time.Second))
		require.Equal(t, []string{"thanks", "reminder"}, b.sentSteps(t, leadID))
	})

	t.Run("AScannerClickDoesNotCount", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"followup.yaml": followup})
		leadID := b.submit(t, "scanned@example.com", "whitepaper")
		thanks := b.message(t, leadID, "thanks", 10*time.Second)
		require.Equal(t, track.Machine, b.click(t, thanks, "download", "HEAD").Verdict)
		b.message(t, leadID, "reminder", 10*time.Second)
		require.Equal(t, []string{"thanks", "reminder"}, b.sentSteps(t, leadID))
	})

	t.Run("AnUnsubscribeStopsAllFurtherMail", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"followup.yaml": followup})
		leadID := b.submit(t, "leaver@example.com", "whitepaper")
		thanks := b.message(t, leadID, "thanks", 10*time.Second)
		_, err := b.mailer.Unsubscribe(b.ctx, b.pool, thanks, "test")
		require.NoError(t, err)
		require.Equal(t, "suppressed", b.ended(t, leadID, 10*time.Second))
		b.settled(t, leadID, 15*time.Second) // the wait_until timeout ran and did nothing
		require.Equal(t, []string{"thanks"}, b.sentSteps(t, leadID))
		require.Len(t, b.sink.Messages(), 1)
	})

	t.Run("AGoalEventEndsTheEnrollment", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"followup.yaml": followup})
		leadID := b.submit(t, "buyer@example.com", "whitepaper")
		b.message(t, leadID, "thanks", 10*time.Second)
		b.submit(t, "buyer@example.com", "demo-request")
		require.Equal(t, "goal", b.ended(t, leadID, 10*time.Second))
		b.settled(t, leadID, 15*time.Second) // the wait_until timeout ran and did nothing
		require.Equal(t, []string{"thanks"}, b.sentSteps(t, leadID))
	})

	t.Run("ASendStepMayOverrideTheSubject", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"special.yaml": `
trigger: { event: form_submitted, if: event.form == "special" }
steps:
  - id: day1
    send: course/day1
    subject: 【特別講座】第1回のご案内
`})
		leadID := b.submit(t, "special@example.com", "special")
		id := b.message(t, leadID, "day1", 10*time.Second)
		var subject string
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT subject FROM messages WHERE id = $1`, id).Scan(&subject))
		require.Equal(t, "【特別講座】第1回のご案内", subject)
		msgs := b.sink.Messages()
		require.Len(t, msgs, 1)
		msg, err := netmail.ReadMessage(bytes.NewReader(msgs[0].Data))
		require.NoError(t, err)
		got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		require.NoError(t, err)
		require.Equal(t, "【特別講座】第1回のご案内", got, "the mail went out with it")
	})

	t.Run("UpdateStageAndEscalateChangeTheLead", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"qualify.yaml": `
trigger: { event: form_submitted, if: event.form == "qualify" }
steps:
  - update:
      tags: [ホット]
      fields: { employees: "1200", company: 株式会社サンプル, attributes.予算: 確保済み }
      points: 15
  - stage: mql
  - escalate: 予算確保済みの大企業
`})
		leadID := b.submit(t, "qualified@example.co.jp", "qualify")
		require.Equal(t, "completed", b.ended(t, leadID, 10*time.Second))
		l, err := lead.FindLeadByID(b.ctx, b.pool, leadID)
		require.NoError(t, err)
		require.Contains(t, l.Tags, "ホット")
		require.Equal(t, 1200, *l.Employees)
		require.Equal(t, "株式会社サンプル", l.Company)
		require.Equal(t, "確保済み", l.Attributes["予算"])
		require.Equal(t, 15, l.Score)
		require.Equal(t, "mql", l.Stage)
		evs, err := lead.Timeline(b.ctx, b.pool, leadID, 50)
		require.NoError(t, err)
		var types []string
		for _, e := range evs {
			types = append(types, e.Type)
		}
		require.Subset(t, types, []string{"score_changed", "stage_changed", "escalation_requested", "scenario_exited"})
	})

	t.Run("ALeadEntersOnceUnlessReenrollSaysSo", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"followup.yaml": followup})
		leadID := b.submit(t, "twice@example.com", "whitepaper")
		b.message(t, leadID, "thanks", 10*time.Second)
		b.submit(t, "twice@example.com", "whitepaper")
		b.submit(t, "twice@example.com", "other-form")
		b.ended(t, leadID, 10*time.Second)
		require.Len(t, b.enrollments(t, leadID), 1)
	})

	t.Run("ReenrollDecidesWhetherAFinishedLeadEntersAgain", func(t *testing.T) {
		t.Parallel()
		for policy, want := range map[string]int{"never": 1, "always": 2, "after 1d": 1} {
			b := setup(t, map[string]string{"again.yaml": `
trigger: { event: form_submitted, if: event.form == "again" }
reenroll: ` + policy + `
steps:
  - id: day1
    send: course/day1
`})
			leadID := b.submit(t, "again@example.com", "again")
			b.ended(t, leadID, 10*time.Second)
			b.submit(t, "again@example.com", "again")
			b.submit(t, "again@example.com", "something-else") // a later event, dispatched after the second
			require.Eventually(t, func() bool {
				var left int
				require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT count(*) FROM event_queue`).Scan(&left))
				return left == 0
			}, 10*time.Second, 20*time.Millisecond)
			require.Len(t, b.enrollments(t, leadID), want, "reenroll: %s", policy)
		}
	})

	t.Run("AnEditedScenarioDoesNotDisturbRunningEnrollments", func(t *testing.T) {
		t.Parallel()
		const v1 = `
id: course
trigger: { event: form_submitted, if: event.form == "course" }
steps:
  - id: day1
    send: course/day1
  - wait: 2s
  - id: day2
    send: course/day2
`
		b := setup(t, map[string]string{"course.yaml": v1})
		early := b.submit(t, "early@example.com", "course")
		b.message(t, early, "day1", 10*time.Second)

		b.write(t, "course.yaml", v1+"  - id: day3\n    send: course/day3\n")
		require.NoError(t, b.engine.Load(b.ctx))
		late := b.submit(t, "late@example.com", "course")

		b.ended(t, early, 10*time.Second)
		b.ended(t, late, 10*time.Second)
		require.Equal(t, []string{"day1", "day2"}, b.sentSteps(t, early), "the running enrollment finished on its version")
		require.Equal(t, []string{"day1", "day2", "day3"}, b.sentSteps(t, late), "a new lead starts on the new version")
		require.NotEqual(t, b.enrollments(t, early)[0].Version, b.enrollments(t, late)[0].Version)
	})

	t.Run("ABrokenEditIsRefusedAndTheRunningVersionStays", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"followup.yaml": followup})
		before := b.engine.Registry().Get("followup")
		require.NotNil(t, before)
		b.write(t, "followup.yaml", followup+"  - id: bad\n    wiat: 2d\n")
		err := b.engine.Load(b.ctx)
		require.ErrorContains(t, err, "followup.yaml:")
		require.Equal(t, before.Version, b.engine.Registry().Get("followup").Version)
		leadID := b.submit(t, "still@example.com", "whitepaper")
		b.message(t, leadID, "thanks", 10*time.Second)
	})

	t.Run("AScheduledTriggerFiresOnceForTheLeadsItAdmitsEvenWhenTheTickIsLate", func(t *testing.T) {
		t.Parallel()
		// A daily schedule due this very minute (UTC, as there is no send window).
		if time.Now().Second() >= 50 {
			time.Sleep(time.Duration(61-time.Now().Second()) * time.Second)
		}
		due := time.Now().UTC()
		reengage := fmt.Sprintf(`
id: reengage
trigger: { schedule: "%d %d * * *", if: 'has_tag("cold")' }
steps:
  - id: monthly
    send: reengage/monthly
`, due.Minute(), due.Hour())
		var late atomic.Int64 // how far the engine's clock is ahead
		b := newBundle(t, nil, func(fc *flow.Config, qc *queue.Config) {
			fc.DispatchInterval = 50 * time.Millisecond
			fc.Now = func() time.Time { return time.Now().Add(time.Duration(late.Load())) }
			qc.RetryPolicy = quickRetry{}
		})
		cold := []lead.Input{{Email: "cold1@example.com", Tags: []string{"cold"}}, {Email: "cold2@example.com", Tags: []string{"cold"}}, {Email: "warm@example.com"}}
		out, err := lead.Upsert(b.ctx, b.pool, "test", cold)
		require.NoError(t, err)
		b.write(t, "reengage.yaml", reengage)
		require.NoError(t, b.engine.Load(b.ctx))
		require.NoError(t, b.engine.Tick(b.ctx))
		require.NoError(t, b.engine.Tick(b.ctx), "a second tick fires nothing again")
		b.message(t, out[0].ID, "monthly", 10*time.Second)
		b.message(t, out[1].ID, "monthly", 10*time.Second)
		require.Empty(t, b.enrollments(t, out[2].ID))

		// The next tick comes a day and five minutes on (a stopped server, a busy
		// queue): the firing that fell due meanwhile is still made, once.
		late.Store(int64(24*time.Hour + 5*time.Minute))
		require.NoError(t, b.engine.Tick(b.ctx))
		require.NoError(t, b.engine.Tick(b.ctx))
		rows, err := b.pool.Query(b.ctx, `SELECT fire_at FROM schedule_firings WHERE scenario_id = 'reengage' ORDER BY fire_at`)
		require.NoError(t, err)
		firings, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
		require.NoError(t, err)
		require.Len(t, firings, 2)
		require.Equal(t, 24*time.Hour, firings[1].Sub(firings[0]))
		require.Len(t, b.enrollments(t, out[0].ID), 1, "reenroll: never")
	})

	t.Run("AScheduledFiringEnrollsPageByPageAndCarriesOnWhereItWasCutShort", func(t *testing.T) {
		t.Parallel()
		// The clock stands still half a minute after a firing, so that no other firing
		// falls due during the test.
		at := time.Now().UTC().Truncate(time.Minute)
		b := newBundle(t, nil, func(fc *flow.Config, qc *queue.Config) {
			fc.SchedulePage = 4
			fc.DispatchInterval = 50 * time.Millisecond
			fc.Now = func() time.Time { return at.Add(30 * time.Second) }
		})
		inputs := make([]lead.Input, 11)
		for i := range inputs {
			inputs[i] = lead.Input{Email: fmt.Sprintf("paged%02d@example.com", i), Tags: []string{"cold"}}
		}
		out, err := lead.Upsert(b.ctx, b.pool, "test", inputs)
		require.NoError(t, err)
		ids := make([]int64, len(out))
		for i, o := range out {
			ids[i] = o.ID
		}
		slices.Sort(ids)
		b.write(t, "paged.yaml", `
id: paged
trigger: { schedule: "* * * * *", if: 'has_tag("cold")' }
steps:
  - id: monthly
    send: reengage/monthly
`)
		require.NoError(t, b.engine.Load(b.ctx))
		// A firing a crash cut short after its first page: its row says how far it got.
		_, err = b.pool.Exec(b.ctx, `INSERT INTO schedule_firings (scenario_id, fire_at, after_lead, enrolled) VALUES ('paged', $1, $2, 4)`, at, ids[3])
		require.NoError(t, err)

		require.NoError(t, b.engine.Tick(b.ctx))
		var afterLead int64
		var enrolled int
		var done bool
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT after_lead, enrolled, done FROM schedule_firings WHERE scenario_id = 'paged' AND fire_at = $1`, at).
			Scan(&afterLead, &enrolled, &done))
		require.True(t, done)
		require.Equal(t, 11, enrolled, "the first page's 4 and the 7 enrolled now")
		require.Equal(t, ids[len(ids)-1], afterLead)
		for i, id := range ids {
			want := 1
			if i < 4 {
				want = 0 // the page before the crash: its enrollments are not in this test's database
			}
			require.Len(t, b.enrollments(t, id), want, "lead %d", i)
		}
	})
}
