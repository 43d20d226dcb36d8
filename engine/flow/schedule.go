package flow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/scenario"
)

// ScheduleArgs looks at the scheduled triggers: each firing due since the last one
// enrolls the leads its condition admits.
type ScheduleArgs struct{}

// Kind is the job kind of ScheduleArgs.
func (ScheduleArgs) Kind() string { return "schedule_tick" }

// ScheduleWorker works ScheduleArgs jobs.
type ScheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	engine *Engine
}

// maxCatchUp bounds how many missed firings of one scenario a tick makes up for
// (after a long stop, say); older ones are skipped.
const maxCatchUp = 3

// maxLate is how long after it fell due a firing is still made up for.
const maxLate = 24 * time.Hour

// Timeout bounds a tick below the time after which River takes a running job for a
// dead process's (NURTURE_JOB_RESCUE); a firing it cuts short is carried on by the
// next tick, from the page it reached.
func (w *ScheduleWorker) Timeout(*river.Job[ScheduleArgs]) time.Duration { return 4 * time.Minute }

// Work fires every scheduled trigger that is due.
func (w *ScheduleWorker) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	return w.engine.Tick(ctx)
}

// Tick fires every scheduled trigger due since its last firing (within the last
// ScheduleTick for one that never fired). Each firing happens once, whichever process
// ticks, however often: a one-off schedule (at:) fires once in all, and a schedule
// with an end (until:) not after it.
func (e *Engine) Tick(ctx context.Context) error {
	now := e.cfg.Now()
	var errs []error
	for _, sc := range e.registry.Current() {
		if sc.Trigger.Cron == nil {
			continue
		}
		var last *time.Time
		if err := e.cfg.Pool.QueryRow(ctx, `SELECT max(fire_at) FROM schedule_firings WHERE scenario_id = $1`, sc.ID).Scan(&last); err != nil {
			return err
		}
		// From the last firing, so that a tick that comes late (a restart, a busy
		// queue, a new leader) still fires what fell due meanwhile, but no further back
		// than maxLate; a schedule that never fired starts one tick ago.
		from := now.Add(-e.cfg.ScheduleTick)
		if last != nil {
			from = *last
			if oldest := now.Add(-maxLate); from.Before(oldest) {
				from = oldest
			}
		}
		// A one-off schedule (at:) or one past its end (until:) has no next firing:
		// Next returns the zero time.
		var due []time.Time
		for t := sc.Trigger.Cron.Next(from); !t.IsZero() && !t.After(now); t = sc.Trigger.Cron.Next(t) {
			due = append(due, t)
		}
		if len(due) > maxCatchUp {
			due = due[len(due)-maxCatchUp:]
		}
		// Firings a crash or a timeout left unfinished are carried on first.
		rows, err := e.cfg.Pool.Query(ctx, `SELECT fire_at FROM schedule_firings WHERE scenario_id = $1 AND NOT done ORDER BY fire_at`, sc.ID)
		if err != nil {
			return err
		}
		unfinished, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
		if err != nil {
			return err
		}
		for _, at := range append(unfinished, due...) {
			if err := e.fire(ctx, sc, at, now); err != nil {
				// The other scenarios still fire; this one is tried again next tick.
				errs = append(errs, fmt.Errorf("scheduled trigger of %s at %s: %w", sc.ID, at.Format(time.RFC3339), err))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// fire runs one firing of a scheduled trigger, once whichever process gets to it. The
// firing's row is written first; then each page of leads is read and enrolled in a
// transaction that moves the row's cursor past it, under the row's lock, so that no
// lead is enrolled twice by one firing and a firing cut short carries on where it was.
func (e *Engine) fire(ctx context.Context, sc *scenario.Scenario, at, now time.Time) error {
	if _, err := e.cfg.Pool.Exec(ctx, `INSERT INTO schedule_firings (scenario_id, fire_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, sc.ID, at); err != nil {
		return err
	}
	for {
		done, err := e.firePage(ctx, sc, at, now)
		if err != nil || done {
			return err
		}
	}
}

// firePage enrolls the next page of leads of a firing and reports whether the firing
// is done.
func (e *Engine) firePage(ctx context.Context, sc *scenario.Scenario, at, now time.Time) (done bool, err error) {
	var enrolled int
	finished := false
	err = pgx.BeginFunc(ctx, e.cfg.Pool, func(tx pgx.Tx) error {
		var after int64
		err := tx.QueryRow(ctx, `SELECT after_lead, enrolled, done FROM schedule_firings WHERE scenario_id = $1 AND fire_at = $2 FOR UPDATE`,
			sc.ID, at).Scan(&after, &enrolled, &done)
		if err != nil || done {
			return err // done already, by this process or another
		}
		leads, err := lead.FindLeads(ctx, tx, lead.Filter{AfterID: after, Limit: e.cfg.SchedulePage, Subscribed: true})
		if err != nil {
			return err
		}
		var admitted []*lead.Lead
		for _, l := range leads {
			after = l.ID
			ok, err := sc.Admits(scenario.LeadEnvOf(l).WithHistory(lead.NewHistory(ctx, tx, l.ID)), scenario.EventEnv{Type: "schedule", At: at}, now)
			if err != nil {
				e.log.Warn("trigger condition failed; lead not enrolled", "scenario", sc.ID, "lead_id", l.ID, "error", err)
				continue
			}
			if ok {
				admitted = append(admitted, l)
			}
		}
		r, err := e.newEnroller(ctx, tx, now, admitted)
		if err != nil {
			return err
		}
		for _, l := range admitted {
			r.add(sc, l, 0)
		}
		n, err := r.flush(ctx)
		if err != nil {
			return err
		}
		enrolled += n
		done = len(leads) < e.cfg.SchedulePage
		finished = done
		_, err = tx.Exec(ctx, `UPDATE schedule_firings SET after_lead = $3, enrolled = $4, done = $5 WHERE scenario_id = $1 AND fire_at = $2`,
			sc.ID, at, after, enrolled, done)
		return err
	})
	if err == nil && finished {
		e.log.Info("scheduled trigger fired", "scenario", sc.ID, "fire_at", at, "enrolled", enrolled)
	}
	return done, err
}
