package flow_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/track"
)

// benchLeads is how many leads go through the scenario, and how many no-op jobs the
// River baseline drains.
const benchLeads = 10_000

// benchClickLeads is how many leads the click latency is measured on.
const benchClickLeads = 50

const threeSends = `
id: three
trigger: { event: form_submitted, if: event.form == "three" }
steps:
  - id: thanks
    send: whitepaper/thanks
  - id: case-study
    send: whitepaper/case-study
  - id: reminder
    send: whitepaper/reminder
`

const clickWait = `
id: click
trigger: { event: form_submitted, if: event.form == "click" }
steps:
  - id: thanks
    send: whitepaper/thanks
  - wait_until: { clicked: thanks, link: download, within: 1h }
    yes: hot
    no: end
  - id: hot
    send: whitepaper/case-study
`

// BenchmarkFlow runs benchLeads leads through a scenario of three sends with no wait
// (one step job each, three send jobs) into an in-process SMTP sink, and reports step
// jobs and messages per second next to River's own rate for as many no-op jobs on the
// same queue, measured first in the same run. It then measures how long a human click
// takes to bring the next mail of a wait_until step (p50 and p90).
//
//	go test -run '^$' -bench Flow -benchtime 1x ./engine/flow/
func BenchmarkFlow(b *testing.B) {
	for b.Loop() {
		e := newBenchEngine(b)
		noop := e.drainNoops(b)
		steps, msgs := e.throughput(b)
		p50, p90 := e.clickLatency(b)
		b.ReportMetric(noop, "noop_jobs/s")
		b.ReportMetric(steps, "step_jobs/s")
		b.ReportMetric(3*steps, "steps/s")
		b.ReportMetric(100*steps/noop, "step_jobs_%_of_noop")
		b.ReportMetric(100*3*steps/noop, "steps_%_of_noop")
		b.ReportMetric(msgs, "msgs/s")
		b.ReportMetric(float64(p50.Milliseconds()), "click_to_mail_p50_ms")
		b.ReportMetric(float64(p90.Milliseconds()), "click_to_mail_p90_ms")
	}
}

// benchEngine is an engine with both benchmark scenarios, wired as `nurture serve`
// wires one (default worker counts), with clicks believed at once.
type benchEngine struct{ *testBundle }

func newBenchEngine(b *testing.B) *benchEngine {
	b.Helper()
	return &benchEngine{newBundle(b, map[string]string{"three.yaml": threeSends, "click.yaml": clickWait}, nil)}
}

// drainNoops inserts benchLeads no-op jobs on the step queue in one transaction and
// returns how many River works per second.
func (e *benchEngine) drainNoops(b *testing.B) float64 {
	b.Helper()
	params := make([]river.InsertManyParams, benchLeads)
	for i := range params {
		params[i] = river.InsertManyParams{Args: queue.NoopArgs{}, InsertOpts: &river.InsertOpts{Queue: queue.Step}}
	}
	start := time.Now()
	err := pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error {
		_, err := e.client.InsertManyTx(e.ctx, tx, params)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	e.waitCount(b, `SELECT count(*) FROM river_job WHERE kind = 'noop' AND state = 'completed'`, benchLeads, time.Minute)
	return benchLeads / time.Since(start).Seconds()
}

// throughput records benchLeads form submissions in one statement and returns the
// step jobs and messages per second, each from that statement to its last one.
func (e *benchEngine) throughput(b *testing.B) (steps, msgs float64) {
	b.Helper()
	inputs := make([]lead.Input, benchLeads)
	for i := range inputs {
		last := "山田"
		inputs[i] = lead.Input{Email: fmt.Sprintf("bench%05d@example.com", i), LastName: &last}
	}
	if _, err := lead.Upsert(e.ctx, e.pool, "bench", inputs); err != nil {
		b.Fatal(err)
	}
	e.waitCount(b, `SELECT count(*) FROM event_queue`, 0, time.Minute) // the lead_created events
	start := time.Now()
	if _, err := e.pool.Exec(e.ctx, `INSERT INTO events (lead_id, type, properties)
		SELECT id, 'form_submitted', '{"form": "three"}' FROM leads WHERE email LIKE 'bench%'`); err != nil {
		b.Fatal(err)
	}
	e.waitCount(b, `SELECT count(*) FROM enrollments WHERE scenario_id = 'three' AND exit_reason = 'completed'`, benchLeads, 3*time.Minute)
	stepTime := time.Since(start)
	e.waitCount(b, `SELECT count(*) FROM messages WHERE status = 'sent'`, 3*benchLeads, 3*time.Minute)
	msgTime := time.Since(start)
	var jobs int
	if err := e.pool.QueryRow(e.ctx, `SELECT count(*) FROM river_job WHERE kind = 'step'`).Scan(&jobs); err != nil {
		b.Fatal(err)
	}
	if got := len(e.sink.Messages()); got != 3*benchLeads {
		b.Fatalf("sink got %d messages, want %d", got, 3*benchLeads)
	}
	b.Logf("%d leads: %d step jobs in %s, %d messages in %s", benchLeads, jobs, stepTime.Round(time.Millisecond),
		3*benchLeads, msgTime.Round(time.Millisecond))
	return float64(jobs) / stepTime.Seconds(), 3 * benchLeads / msgTime.Seconds()
}

// clickLatency enrolls benchClickLeads leads in a wait_until scenario and, one lead at
// a time, clicks the first mail and times the arrival of the next in the sink.
func (e *benchEngine) clickLatency(b *testing.B) (p50, p90 time.Duration) {
	b.Helper()
	ids := make([]int64, benchClickLeads)
	for i := range ids {
		out, _, err := lead.RecordClientEvent(e.ctx, e.pool, "bench", lead.Input{Email: fmt.Sprintf("click%02d@example.com", i)},
			lead.ClientEvent{Type: lead.TypeFormSubmitted, Properties: map[string]any{"form": "click"}}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = out.ID
	}
	e.waitCount(b, `SELECT count(*) FROM messages m JOIN enrollments en ON en.id = m.enrollment_id
		WHERE en.scenario_id = 'click' AND m.step = 'thanks' AND m.status = 'sent'`, benchClickLeads, time.Minute)
	var took []time.Duration
	for _, id := range ids {
		var msg int64
		if err := e.pool.QueryRow(e.ctx, `SELECT id FROM messages WHERE lead_id = $1 AND step = 'thanks'`, id).Scan(&msg); err != nil {
			b.Fatal(err)
		}
		// As flow_test's click: delivered a minute ago, so the click is a person's.
		if _, err := e.pool.Exec(e.ctx, `UPDATE messages SET sent_at = sent_at - interval '1 minute' WHERE id = $1`, msg); err != nil {
			b.Fatal(err)
		}
		var index int
		var set int64
		if err := e.pool.QueryRow(e.ctx, `SELECT (l->>'index')::int, s.id FROM messages m JOIN link_sets s ON s.id = m.link_set_id,
			jsonb_array_elements(s.links) l WHERE m.id = $1 AND l->>'name' = 'download'`, msg).Scan(&index, &set); err != nil {
			b.Fatal(err)
		}
		before := len(e.sink.Messages())
		start := time.Now()
		res, err := e.mailer.RecordHit(e.ctx, e.pool, track.Token{Kind: track.Click, MessageID: msg, Link: index, LinkSet: set},
			track.Hit{At: time.Now(), Method: "GET", UserAgent: browserAgent, IP: netip.MustParseAddr("203.0.113.7")})
		if err != nil {
			b.Fatal(err)
		}
		if res.Judgement.Verdict != track.Human {
			b.Fatalf("click judged %s", res.Judgement.Verdict)
		}
		e.sink.Wait(b, before+1, 10*time.Second)
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	return took[len(took)/2], took[len(took)*9/10]
}

// waitCount polls query until it returns want.
func (e *benchEngine) waitCount(b *testing.B, query string, want int, within time.Duration) {
	b.Helper()
	deadline := time.Now().Add(within)
	for {
		var n int
		if err := e.pool.QueryRow(e.ctx, query).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d after %s, want %d", query, n, within, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The load and the probes of BenchmarkEventToStage.
const (
	stageProbes    = 200  // leads timed, one after another
	stageLoadLeads = 2000 // leads the load's events fall on
	stageLoadRate  = 200  // load events a second, from stagePosters posters
	stagePosters   = 4
)

// stageLoad is what the load posts, in turn, to each of its leads.
var stageLoad = []lead.ClientEvent{
	{Type: lead.TypePageVisited, Properties: map[string]any{"url": "https://example.co.jp/pricing"}},
	{Type: lead.TypePageVisited, Properties: map[string]any{"url": "https://example.co.jp/case/1"}},
	{Type: lead.TypeFormSubmitted, Properties: map[string]any{"form": "whitepaper"}},
	{Type: lead.TypePageVisited, Properties: map[string]any{"url": "https://example.co.jp/blog"}},
	{Type: lead.TypeFormSubmitted, Properties: map[string]any{"form": "document-request"}},
}

// BenchmarkEventToStage times, under a steady load of client events on
// stageLoadLeads leads (stageLoadRate a second, posted concurrently through
// lead.RecordClientEvent as the API does), how long a form submission takes from
// being recorded to the stage_changed it causes: each probe lead is a 部長 of a
// company of 1,200 (30 profile points with the shipped scenarios/scoring.yaml), and
// an inquiry (20 points) takes it to the MQL threshold of 50. The same-run baseline
// is an engine without a scoring model under the same load: the time from recording
// the same submission to the dispatcher having shown it to the scenarios (its
// event_queue row gone), which is the floor the scored path stands on, since the
// stage change commits in the dispatch transaction of the event that caused it.
//
//	go test -run '^$' -bench EventToStage -benchtime 1x ./engine/flow/
func BenchmarkEventToStage(b *testing.B) {
	src, err := os.ReadFile("../../scenarios/scoring.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		off := (&benchEngine{newBundle(b, nil, nil)}).stageLatency(b, false)
		on := (&benchEngine{newBundle(b, map[string]string{"scoring.yaml": string(src)}, nil)}).stageLatency(b, true)
		b.ReportMetric(ms(off.p50), "unscored_dispatch_p50_ms")
		b.ReportMetric(ms(off.p99), "unscored_dispatch_p99_ms")
		b.ReportMetric(ms(on.p50), "event_to_stage_p50_ms")
		b.ReportMetric(ms(on.p99), "event_to_stage_p99_ms")
		b.ReportMetric(on.p50.Seconds()/off.p50.Seconds(), "p50_x_unscored")
		b.ReportMetric(on.p99.Seconds()/off.p99.Seconds(), "p99_x_unscored")
		b.ReportMetric(off.load, "unscored_load_events/s")
		b.ReportMetric(on.load, "scored_load_events/s")
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// stageTimes are a run's percentiles and the load it achieved.
type stageTimes struct {
	p50, p99 time.Duration
	load     float64
}

// stageLatency loads the leads, starts the load and times stageProbes probes one
// after another: to the stage change when scoring, else to the dispatch.
func (e *benchEngine) stageLatency(b *testing.B, scoring bool) stageTimes {
	b.Helper()
	title, employees := "情報システム部長", 1200
	inputs := make([]lead.Input, stageLoadLeads+stageProbes)
	for i := range inputs {
		inputs[i] = lead.Input{Email: fmt.Sprintf("load%04d@example.co.jp", i)}
		if i >= stageLoadLeads {
			inputs[i] = lead.Input{Email: fmt.Sprintf("probe%03d@example.co.jp", i-stageLoadLeads), Title: &title, Employees: &employees}
		}
	}
	if _, err := lead.Upsert(e.ctx, e.pool, "bench", inputs); err != nil {
		b.Fatal(err)
	}
	e.waitCount(b, `SELECT count(*) FROM event_queue`, 0, time.Minute) // the lead_created events
	if scoring {
		e.waitCount(b, `SELECT count(*) FROM leads WHERE email LIKE 'probe%' AND score = 30`, stageProbes, time.Minute)
	}

	ctx, stop := context.WithCancel(e.ctx)
	var posted atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for p := range stagePosters {
		wg.Go(func() {
			tick := time.NewTicker(stagePosters * time.Second / stageLoadRate)
			defer tick.Stop()
			for i := p; ; i += stagePosters {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				in := lead.Input{Email: fmt.Sprintf("load%04d@example.co.jp", i%stageLoadLeads)}
				if _, _, err := lead.RecordClientEvent(ctx, e.pool, "bench", in, stageLoad[(i/stageLoadLeads)%len(stageLoad)], time.Now()); err != nil {
					if ctx.Err() == nil {
						b.Error(err)
					}
					return
				}
				posted.Add(1)
			}
		})
	}

	took := make([]time.Duration, 0, stageProbes)
	for i := range stageProbes {
		in := lead.Input{Email: fmt.Sprintf("probe%03d@example.co.jp", i)}
		sent := time.Now()
		_, ev, err := lead.RecordClientEvent(e.ctx, e.pool, "bench", in,
			lead.ClientEvent{Type: lead.TypeFormSubmitted, Properties: map[string]any{"form": "inquiry"}}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		query, arg := `SELECT NOT EXISTS (SELECT 1 FROM event_queue WHERE event_id = $1)`, ev.ID
		if scoring {
			query, arg = `SELECT EXISTS (SELECT 1 FROM events WHERE lead_id = $1 AND type = 'stage_changed')`, ev.LeadID
		}
		for done := false; !done; {
			if err := e.pool.QueryRow(e.ctx, query, arg).Scan(&done); err != nil {
				b.Fatal(err)
			}
			if time.Since(sent) > time.Minute {
				b.Fatalf("probe %d: nothing after a minute", i)
			}
			if !done {
				time.Sleep(2 * time.Millisecond)
			}
		}
		took = append(took, time.Since(sent))
	}
	stop()
	wg.Wait()
	load := float64(posted.Load()) / time.Since(start).Seconds()
	var queued int
	if err := e.pool.QueryRow(e.ctx, `SELECT count(*) FROM event_queue`).Scan(&queued); err != nil {
		b.Fatal(err)
	}
	slices.Sort(took)
	b.Logf("scoring %t: %d load events in %s (%.0f/s), %d still queued at the end; probes p50 %s, p99 %s, max %s",
		scoring, posted.Load(), time.Since(start).Round(time.Millisecond), load, queued, took[len(took)/2], took[len(took)*99/100], took[len(took)-1])
	if scoring {
		var mql int
		if err := e.pool.QueryRow(e.ctx, `SELECT count(*) FROM leads WHERE email LIKE 'probe%' AND stage = 'mql'`).Scan(&mql); err != nil {
			b.Fatal(err)
		}
		if mql != stageProbes {
			b.Fatalf("%d probe leads reached MQL, want %d", mql, stageProbes)
		}
	}
	return stageTimes{p50: took[len(took)/2], p99: took[len(took)*99/100], load: load}
}
