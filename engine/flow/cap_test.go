package flow_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/flow"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/queue"
)

// setupCapped runs an engine as setup does, its sends kept to frequencyCap.
func setupCapped(t *testing.T, files map[string]string, frequencyCap mail.FrequencyCap) *testBundle {
	t.Helper()
	return newBundle(t, files, func(fc *flow.Config, qc *queue.Config) {
		fc.DispatchInterval = 50 * time.Millisecond
		qc.RetryPolicy = quickRetry{}
	}, frequencyCap)
}

// sends is a scenario, started by a form_submitted event for form, whose steps send
// templates one after the other: step i is named "<id>_<i>".
func sends(id, form string, templates ...string) string {
	src := fmt.Sprintf("id: %s\ntrigger:\n  event: form_submitted\n  if: event.form == %q\nsteps:\n", id, form)
	for i, name := range templates {
		src += fmt.Sprintf("  - id: %s_%d\n    send: %s\n", id, i+1, name)
	}
	return src
}

// capEnrollment is an enrollment as the frequency cap leaves it.
type capEnrollment struct {
	ID       int64
	Scenario string
	Step     string
	Seq      int
	WakeAt   *time.Time
	Ended    bool
}

// moved waits until each of the lead's n enrollments has had its first step job run
// (its seq moved on), and returns them by scenario.
func (b *testBundle) moved(t *testing.T, leadID int64, n int) map[string]capEnrollment {
	t.Helper()
	var out map[string]capEnrollment
	require.Eventually(t, func() bool {
		rows, err := b.pool.Query(b.ctx, `SELECT id, scenario_id, step, seq, wake_at, ended_at IS NOT NULL
			FROM enrollments WHERE lead_id = $1`, leadID)
		if err != nil {
			return false
		}
		defer rows.Close()
		out = map[string]capEnrollment{}
		for rows.Next() {
			var en capEnrollment
			if rows.Scan(&en.ID, &en.Scenario, &en.Step, &en.Seq, &en.WakeAt, &en.Ended) != nil || en.Seq == 0 {
				return false
			}
			out[en.Scenario] = en
		}
		return rows.Err() == nil && len(out) == n
	}, 10*time.Second, 20*time.Millisecond, "the lead's %d enrollments never all ran a step", n)
	return out
}

// requireHeld checks that en waits at step for the frequency cap to free a place
// about a day from now, its step job scheduled then (not dropped, not failed), and
// returns the job's ID.
func (b *testBundle) requireHeld(t *testing.T, en capEnrollment, step string) int64 {
	t.Helper()
	require.False(t, en.Ended, "the held enrollment goes on")
	require.Equal(t, step, en.Step, "the enrollment waits at its send step")
	require.NotNil(t, en.WakeAt)
	require.WithinRange(t, *en.WakeAt, time.Now().Add(23*time.Hour), time.Now().Add(25*time.Hour))
	var jobID int64
	var at time.Time
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT id, scheduled_at FROM river_job
		WHERE kind = 'step' AND state = 'scheduled' AND (args->>'enrollment_id')::bigint = $1`, en.ID).Scan(&jobID, &at))
	require.WithinDuration(t, *en.WakeAt, at, time.Second)
	return jobID
}

func TestFrequencyCap(t *testing.T) {
	t.Parallel()

	t.Run("TheThirdMailOfTheDayFromAnotherScenarioWaitsForTheNextDay", func(t *testing.T) {
		t.Parallel()
		b := setupCapped(t, map[string]string{
			"course.yaml": sends("course", "a", "course/day1", "course/day2"),
			"news.yaml":   sends("news", "b", "course/day3"),
		}, mail.FrequencyCap{PerDay: 2, PerWeek: 5})
		leadID := b.submit(t, "busy@example.com", "a")
		b.message(t, leadID, "course_1", 10*time.Second)
		b.message(t, leadID, "course_2", 10*time.Second)
		b.submit(t, "busy@example.com", "b")
		news := b.moved(t, leadID, 2)["news"]
		job := b.requireHeld(t, news, "news_1")
		require.Equal(t, []string{"course_1", "course_2"}, b.sentSteps(t, leadID))

		// A day passes: the first two mails are more than 24 hours old, and the held
		// step's time has come.
		_, err := b.pool.Exec(b.ctx, `UPDATE messages SET created_at = created_at - interval '1 day' WHERE lead_id = $1`, leadID)
		require.NoError(t, err)
		_, err = b.client.JobRetry(b.ctx, job)
		require.NoError(t, err)
		b.message(t, leadID, "news_1", 10*time.Second)
		require.Equal(t, []string{"course_1", "course_2", "news_1"}, b.sentSteps(t, leadID))
	})

	t.Run("TransactionalMailNeitherCountsNorWaits", func(t *testing.T) {
		t.Parallel()
		b := setupCapped(t, map[string]string{
			// whitepaper/thanks is marked transactional; the course is marketing.
			"mixed.yaml": sends("mixed", "c", "whitepaper/thanks", "course/day1", "whitepaper/thanks", "course/day2"),
		}, mail.FrequencyCap{PerDay: 1})
		leadID := b.submit(t, "asked@example.com", "c")
		b.message(t, leadID, "mixed_3", 10*time.Second)
		b.requireHeld(t, b.moved(t, leadID, 1)["mixed"], "mixed_4")
		require.Equal(t, []string{"mixed_1", "mixed_2", "mixed_3"}, b.sentSteps(t, leadID))
	})

	t.Run("SendsRacingForTheLastPlaceLetOneThrough", func(t *testing.T) {
		t.Parallel()
		// One event starts eight scenarios at once: their first steps run side by
		// side, each wanting the lead's one place of the day.
		files := map[string]string{}
		for i := range 8 {
			id := fmt.Sprintf("race%d", i)
			files[id+".yaml"] = sends(id, "r", "course/day1")
		}
		b := setupCapped(t, files, mail.FrequencyCap{PerDay: 1})
		leadID := b.submit(t, "raced@example.com", "r")
		ens := b.moved(t, leadID, 8)
		var sent, held int
		for id, en := range ens {
			if en.Ended {
				sent++
				continue
			}
			b.requireHeld(t, en, id+"_1")
			held++
		}
		require.Equal(t, 1, sent, "one scenario sent")
		require.Equal(t, 7, held, "the others wait for the next day")
		require.Len(t, b.sentSteps(t, leadID), 1, "the lead got one mail")
	})
}
