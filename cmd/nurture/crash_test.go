package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail/mailtest"
	"github.com/nurture-dev/nurture/engine/queue"
)

const crashScenario = `
id: crash
trigger: { event: form_submitted, if: event.form == "crash" }
steps:
  - id: thanks
    send: whitepaper/thanks
  - wait: 1s
  - id: case-study
    send: whitepaper/case-study
  - wait: 1s
  - id: reminder
    send: whitepaper/reminder
`

// crashLeads is how many leads run through the scenario when the server is killed.
const crashLeads = 2000

// childEnv is the environment of a `nurture serve` child on dbURL that mails sink and
// runs the scenarios in dir.
func childEnv(t *testing.T, dbURL string, sink *mailtest.Server, dir string) map[string]string {
	t.Helper()
	templates, err := filepath.Abs("../../templates")
	require.NoError(t, err)
	return map[string]string{
		"NURTURE_DATABASE_URL":  dbURL,
		"NURTURE_DATA_DIR":      t.TempDir(),
		"NURTURE_SECRET":        "crash-test-secret-0123456789abcdefghijkl",
		"NURTURE_SMTP_URL":      sink.URL(),
		"NURTURE_SCENARIOS_DIR": dir,
		"NURTURE_TEMPLATES_DIR": templates,
		"NURTURE_CLICK_SETTLE":  "0",
		"NURTURE_HTTP_ADDR":     "127.0.0.1:0",
		"NURTURE_API_KEY":       testAPIKey,
		// Jobs a killed process was running are run again 5s on, not 5m.
		"NURTURE_JOB_RESCUE": "5s",
	}
}

// scenarioDir is a folder holding one scenario file.
func scenarioDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	return dir
}

func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// jobStates counts the jobs of kinds by state.
func jobStates(t *testing.T, pool *pgxpool.Pool, kinds ...string) map[string]int {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT state::text, count(*)::int FROM river_job WHERE kind = ANY($1) GROUP BY state`, kinds)
	require.NoError(t, err)
	out := map[string]int{}
	var state string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&state, &n}, func() error { out[state] = n; return nil })
	require.NoError(t, err)
	return out
}

// TestServeKilledMidScenarioFinishesEveryEnrollmentOnce kills `nurture serve` (SIGKILL)
// while crashLeads leads run through a scenario of three sends, starts it again, and
// checks that every enrollment completes with each message recorded once. The one
// documented window for a second delivery is a crash between the SMTP server's 250
// and the commit that records it: the test counts the messages caught in it at the
// kill, and the sink must see exactly that many duplicates.
func TestServeKilledMidScenarioFinishesEveryEnrollmentOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bin := buildNurture(t)
	dbURL := dbtest.NewURL(t)
	pool := openPool(t, dbURL)
	sink := mailtest.NewServer(t)
	env := childEnv(t, dbURL, sink, scenarioDir(t, map[string]string{"crash.yaml": crashScenario}))

	first := startChild(t, bin, "first", env)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < crashLeads; i += 8 {
				_, _, err := lead.RecordClientEvent(ctx, pool, "test", lead.Input{Email: fmt.Sprintf("crash%04d@example.com", i)},
					lead.ClientEvent{Type: lead.TypeFormSubmitted, Properties: map[string]any{"form": "crash"}}, time.Now())
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())

	// Kill it a third of the way through the mail.
	require.Eventually(t, func() bool { return len(sink.Messages()) >= 3*crashLeads/3 }, 2*time.Minute, 5*time.Millisecond)
	first.kill()
	killedAt := time.Since(start)
	atKill := messageIDs(t, sink.Messages())
	// Delivered but not recorded: the SMTP server said 250, the commit never came.
	rows, err := pool.Query(ctx, `SELECT '<' || message_id || '>' FROM messages WHERE status = 'queued'`)
	require.NoError(t, err)
	queued, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	inFlight := 0
	for _, id := range queued {
		if atKill[id] > 0 {
			inFlight++
		}
	}
	t.Logf("killed after %s: %d messages delivered, %d of them not yet recorded as sent, %d enrollments ended, jobs %v",
		killedAt.Round(time.Millisecond), len(sink.Messages()), inFlight,
		count(t, pool, `SELECT count(*) FROM enrollments WHERE ended_at IS NOT NULL`), jobStates(t, pool, "step", "send"))
	require.Less(t, count(t, pool, `SELECT count(*) FROM messages WHERE status = 'sent'`), 3*crashLeads, "killed before the end")

	// Step jobs the kill interrupted run again once the new leader's rescuer sees them
	// (5s on, checked every 30s); sends only after the send worker's own timeout, 1m.
	startChild(t, bin, "second", env)
	require.Eventually(t, func() bool {
		return count(t, pool, `SELECT count(*) FROM enrollments WHERE ended_at IS NOT NULL`) == crashLeads &&
			count(t, pool, `SELECT count(*) FROM messages WHERE status = 'sent'`) == 3*crashLeads
	}, 4*time.Minute, 200*time.Millisecond, "enrollments or messages unfinished; jobs %v", jobStates(t, pool, "step", "send"))
	t.Logf("all done %s after the restart", (time.Since(start) - killedAt).Round(time.Millisecond))

	require.Equal(t, crashLeads, count(t, pool, `SELECT count(*) FROM enrollments`))
	require.Equal(t, crashLeads, count(t, pool, `SELECT count(*) FROM enrollments WHERE exit_reason = 'completed'`))
	require.Equal(t, 3*crashLeads, count(t, pool, `SELECT count(*) FROM messages`))
	require.Equal(t, crashLeads, count(t, pool, `SELECT count(*) FROM (SELECT enrollment_id FROM messages
		GROUP BY enrollment_id HAVING count(*) = 3 AND count(DISTINCT step) = 3 AND bool_and(status = 'sent')) x`),
		"each enrollment has one sent message per send step")
	require.Eventually(t, func() bool {
		states := jobStates(t, pool, "step", "send")
		return len(states) == 1 && states["completed"] > 0
	}, 10*time.Second, 50*time.Millisecond, "every step and send job completes; none stuck or discarded")

	ids := messageIDs(t, sink.Messages())
	dups := duplicates(ids)
	t.Logf("sink: %d deliveries of %d messages, %d duplicates (%d messages were in flight at the kill)",
		len(sink.Messages()), len(ids), dups, inFlight)
	require.Len(t, ids, 3*crashLeads, "every message reached the sink")
	// At most those: a COMMIT the killed process had sent may still land after the
	// query above, so a message counted in flight need not go out again.
	require.LessOrEqual(t, dups, inFlight, "only messages caught between 250 and commit go out twice")
	require.LessOrEqual(t, dups, queue.DefaultSendWorkers, "no more than the send workers in flight")
}
