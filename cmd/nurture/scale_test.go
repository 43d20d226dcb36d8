package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail/mailtest"
)

const scaleScenario = `
id: scale
trigger: { event: form_submitted, if: event.form == "scale" }
steps:
  - id: thanks
    send: whitepaper/thanks
  - id: case-study
    send: whitepaper/case-study
`

const scaleScheduled = `
id: cold
trigger: { schedule: "* * * * *", if: 'has_tag("cold")' }
steps:
  - id: monthly
    send: reengage/monthly
`

const (
	// scaleLeads is how many leads the web process records form submissions for.
	scaleLeads = 10_000
	// coldLeads is how many leads the scheduled trigger admits.
	coldLeads = 5
)

// TestServeScalesOutOverOneDatabase runs two worker processes and one web process on
// one database: scaleLeads form submissions come in through the web process's API,
// and every message goes out exactly once, whichever worker ran its jobs. The
// scheduled trigger fires once per period, however many processes tick.
func TestServeScalesOutOverOneDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bin := buildNurture(t)
	dbURL := dbtest.NewURL(t)
	pool := openPool(t, dbURL)
	sink := mailtest.NewServer(t)
	cold := make([]lead.Input, coldLeads)
	for i := range cold {
		cold[i] = lead.Input{Email: fmt.Sprintf("cold%d@example.com", i), Tags: []string{"cold"}}
	}
	_, err := lead.Upsert(ctx, pool, "test", cold)
	require.NoError(t, err)

	env := childEnv(t, dbURL, sink, scenarioDir(t, map[string]string{"scale.yaml": scaleScenario, "cold.yaml": scaleScheduled}))
	envFor := func(role string) map[string]string {
		e := map[string]string{"NURTURE_ROLE": role}
		for k, v := range env {
			if _, ok := e[k]; !ok {
				e[k] = v
			}
		}
		return e
	}
	start := time.Now()
	workers := []*child{startChild(t, bin, "worker1", envFor("worker")), startChild(t, bin, "worker2", envFor("worker"))}
	web := startChild(t, bin, "web", envFor("web"))

	// The form submissions, 32 requests at a time.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Go(func() {
			for i := w; i < scaleLeads; i += 32 {
				body := fmt.Sprintf(`{"email": "scale%05d@example.com", "type": "form_submitted", "form": "scale"}`, i)
				req, _ := http.NewRequest("POST", web.URL+"/api/v1/events", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+testAPIKey)
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					t.Errorf("POST /api/v1/events: %s", res.Status)
					return
				}
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())
	posted := time.Since(start)

	want := 2*scaleLeads + coldLeads
	sink.Wait(t, want, 3*time.Minute)
	mailed := time.Since(start)
	require.Eventually(t, func() bool {
		return count(t, pool, `SELECT count(*) FROM enrollments WHERE ended_at IS NOT NULL`) == scaleLeads+coldLeads
	}, 10*time.Second, 50*time.Millisecond)
	t.Logf("%d events posted in %s; %d messages delivered %s after the start", scaleLeads, posted.Round(time.Millisecond),
		want, mailed.Round(time.Millisecond))

	// Each message exactly once: in the database and at the sink.
	require.Equal(t, scaleLeads, count(t, pool, `SELECT count(*) FROM enrollments WHERE scenario_id = 'scale' AND exit_reason = 'completed'`))
	// The sink has a message a moment before its outcome commits (outcomes are
	// written in batches after the server's 250).
	require.Eventually(t, func() bool {
		return count(t, pool, `SELECT count(*) FROM messages WHERE status = 'sent'`) == want
	}, 30*time.Second, 50*time.Millisecond, "every delivered message recorded as sent")
	require.Equal(t, want, count(t, pool, `SELECT count(DISTINCT (enrollment_id, step)) FROM messages`))
	// Once no send job can run again, anything sent twice has reached the sink.
	require.Eventually(t, func() bool {
		return count(t, pool, `SELECT count(*) FROM river_job WHERE kind = 'send' AND state NOT IN ('completed', 'cancelled', 'discarded')`) == 0
	}, time.Minute, 50*time.Millisecond, "send jobs still pending")
	msgs := sink.Messages()
	require.Len(t, msgs, want, "the sink received each message once")
	ids := messageIDs(t, msgs)
	require.Len(t, ids, want, "no Message-ID twice")
	require.Zero(t, duplicates(ids))

	// Both workers took steps; one dispatched at a time.
	require.Equal(t, 2, count(t, pool, `SELECT count(DISTINCT attempted_by[1]) FROM river_job WHERE kind = 'step'`),
		"both worker processes ran step jobs")

	// The scheduled trigger: every firing once, each admitted lead enrolled once, one
	// tick job per period however many processes run.
	elapsed := time.Since(start)
	require.Equal(t, coldLeads, count(t, pool, `SELECT count(*) FROM enrollments WHERE scenario_id = 'cold'`))
	require.Equal(t, coldLeads, count(t, pool, `SELECT count(DISTINCT lead_id) FROM enrollments WHERE scenario_id = 'cold'`))
	firings := count(t, pool, `SELECT count(*) FROM schedule_firings WHERE scenario_id = 'cold'`)
	require.Equal(t, coldLeads, count(t, pool, `SELECT sum(enrolled) FROM schedule_firings WHERE scenario_id = 'cold'`),
		"the first firing enrolled the cold leads, later ones nobody new")
	periods := int(elapsed/time.Minute) + 1
	ticks := count(t, pool, `SELECT count(*) FROM river_job WHERE kind = 'schedule_tick'`)
	t.Logf("after %s: %d schedule_tick jobs, %d firings of the scheduled trigger", elapsed.Round(time.Second), ticks, firings)
	require.GreaterOrEqual(t, firings, 1)
	require.LessOrEqual(t, firings, periods)
	require.GreaterOrEqual(t, ticks, 1)
	require.LessOrEqual(t, ticks, periods, "one tick per period, not one per process")
	// River logs at error level when its notification that jobs were inserted times
	// out on a busy database; that notification is a hint (workers poll for jobs
	// anyway, and every message above arrived once), so it is the one error allowed.
	const insertHint = `msg="Client: Failed to send job insert notification"`
	for _, w := range workers {
		var errs []string
		for line := range strings.SplitSeq(w.logLines("level=ERROR"), "\n") {
			if line != "" && !strings.Contains(line, insertHint) {
				errs = append(errs, line)
			}
		}
		require.Empty(t, errs, "%s logged errors", w.name)
	}
}
