package flow_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/flow"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/queue"
)

// virtualClock is an engine clock the test moves.
type virtualClock struct{ now atomic.Int64 }

func (c *virtualClock) set(t time.Time)  { c.now.Store(t.UnixNano()) }
func (c *virtualClock) Now() time.Time   { return time.Unix(0, c.now.Load()) }
func newClock(t time.Time) *virtualClock { c := &virtualClock{}; c.set(t); return c }

// stepJob is the step job of an enrollment at seq.
func (b *testBundle) stepJob(t *testing.T, enrollmentID int64, seq int) (job struct {
	ID          int64
	ScheduledAt time.Time
}) {
	t.Helper()
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT id, scheduled_at FROM river_job WHERE kind = 'step'
		AND (args->>'enrollment_id')::bigint = $1 AND (args->>'seq')::int = $2`, enrollmentID, seq).Scan(&job.ID, &job.ScheduledAt))
	return job
}

// aYearOn is a minute a year from now in Tokyo, written as a scenario writes a date
// without an offset, and the instant it names: a date that is always in the future
// for River's real clock, so that a job scheduled for it waits until the test runs it.
func aYearOn() (string, time.Time) {
	tokyo := time.FixedZone("JST", 9*60*60)
	at := time.Now().In(tokyo).AddDate(1, 0, 0).Truncate(time.Minute)
	return at.Format("2006-01-02T15:04"), at
}

func TestDates(t *testing.T) {
	t.Parallel()

	t.Run("AOneOffScheduleFiresOnce", func(t *testing.T) {
		t.Parallel()
		written, at := aYearOn()
		clock := newClock(at.Add(-30 * time.Second))
		b := newBundle(t, nil, func(fc *flow.Config, qc *queue.Config) {
			fc.DispatchInterval = 50 * time.Millisecond
			fc.Now = clock.Now
			qc.RetryPolicy = quickRetry{}
		})
		out, err := lead.Upsert(b.ctx, b.pool, "test", []lead.Input{{Email: "once@example.com", Tags: []string{"cold"}}})
		require.NoError(t, err)
		b.write(t, "once.yaml", fmt.Sprintf(`
id: once
trigger: { schedule: { at: %s }, if: 'has_tag("cold")' }
reenroll: always
steps:
  - id: monthly
    send: reengage/monthly
`, written))
		require.NoError(t, b.engine.Load(b.ctx))
		firings := func() []time.Time {
			rows, err := b.pool.Query(b.ctx, `SELECT fire_at FROM schedule_firings WHERE scenario_id = 'once' ORDER BY fire_at`)
			require.NoError(t, err)
			got, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
			require.NoError(t, err)
			return got
		}

		require.NoError(t, b.engine.Tick(b.ctx))
		require.Empty(t, firings(), "not yet")

		clock.set(at.Add(30 * time.Second))
		require.NoError(t, b.engine.Tick(b.ctx))
		require.NoError(t, b.engine.Tick(b.ctx))
		got := firings()
		require.Len(t, got, 1)
		require.True(t, at.Equal(got[0]), "fired at %s, want %s", got[0], at)
		b.message(t, out[0].ID, "monthly", 10*time.Second)

		// A day on, and a year on: a one-off schedule never fires again, even for a
		// scenario that lets a lead in again.
		for _, later := range []time.Duration{24 * time.Hour, 366 * 24 * time.Hour} {
			clock.set(at.Add(later))
			require.NoError(t, b.engine.Tick(b.ctx))
			require.Len(t, firings(), 1)
		}
		require.Len(t, b.enrollments(t, out[0].ID), 1)
	})

	t.Run("AWaitForADateWakesAtIt", func(t *testing.T) {
		t.Parallel()
		written, at := aYearOn()
		clock := newClock(at.Add(-time.Hour))
		b := newBundle(t, nil, func(fc *flow.Config, qc *queue.Config) {
			fc.DispatchInterval = 50 * time.Millisecond
			fc.Now = clock.Now
			qc.RetryPolicy = quickRetry{}
		})
		b.write(t, "dated.yaml", fmt.Sprintf(`
id: dated
trigger: { event: form_submitted, if: event.form == "dated" }
steps:
  - id: until
    wait: { until: %s, if_past: skip }
  - id: reminder
    send: whitepaper/reminder
`, written))
		require.NoError(t, b.engine.Load(b.ctx))
		leadID := b.submit(t, "dated@example.com", "dated")

		// The enrollment waits for the date, with its step job scheduled then.
		type waiting struct {
			ID     int64
			Seq    int
			WakeAt *time.Time
		}
		find := func() waiting {
			var w waiting
			require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT id, seq, wake_at FROM enrollments WHERE lead_id = $1`, leadID).
				Scan(&w.ID, &w.Seq, &w.WakeAt))
			return w
		}
		require.Eventually(t, func() bool {
			var n int
			err := b.pool.QueryRow(b.ctx, `SELECT count(*) FROM enrollments WHERE lead_id = $1 AND wake_at IS NOT NULL`, leadID).Scan(&n)
			return err == nil && n == 1
		}, 10*time.Second, 20*time.Millisecond, "the enrollment never waited")
		w := find()
		require.True(t, at.Equal(*w.WakeAt), "wakes at %s, want %s", w.WakeAt, at)
		job := b.stepJob(t, w.ID, w.Seq)
		require.True(t, at.Equal(job.ScheduledAt), "the step job is scheduled at %s, want %s", job.ScheduledAt, at)

		// Run early (a minute before), the job sends nothing and waits again.
		clock.set(at.Add(-time.Minute))
		_, err := b.client.JobRetry(b.ctx, job.ID)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return find().Seq > w.Seq }, 10*time.Second, 20*time.Millisecond)
		require.Empty(t, b.sentSteps(t, leadID))
		w = find()
		require.True(t, at.Equal(*w.WakeAt))

		// At the date, the reminder goes.
		clock.set(at.Add(time.Second))
		_, err = b.client.JobRetry(b.ctx, b.stepJob(t, w.ID, w.Seq).ID)
		require.NoError(t, err)
		b.message(t, leadID, "reminder", 10*time.Second)
		require.Equal(t, "completed", b.ended(t, leadID, 10*time.Second))
	})
}
