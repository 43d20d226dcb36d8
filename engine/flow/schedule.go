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

// Timeout leaves a firing over many leads time to finish, below the time after which
// River takes a running job for a dead process's (NURTURE_JOB_RESCUE).
func (w *ScheduleWorker) Timeout(*river.Job[ScheduleArgs]) time.Duration { return 4 * time.Minute }

// Work fires every scheduled trigger that is due.
func (w *ScheduleWorker) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	return w.engine.Tick(ctx)
}

// Tick fires every scheduled trigger due since its last firing (within the last
// ScheduleTick for one that never fired). Each firing happens once, whichever process
// ticks, however often.
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
		var due []time.Time
		for t := sc.Trigger.Cron.Next(from); !t.After(now); t = sc.Trigger.Cron.Next(t) {
			due = append(due, t)
		}
		if len(due) > maxCatchUp {
			due = due[len(due)-maxCatchUp:]
		}
		for _, at := range due {
			if err := e.fire(ctx, sc, at, now); err != nil {
				// The other scenarios still fire; this one is tried again next tick.
				errs = append(errs, fmt.Errorf("scheduled trigger of %s at %s: %w", sc.ID, at.Format(time.RFC3339), err))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// schedulePage is how many leads one query of a firing reads.
const schedulePage = 1000

// fire runs one firing of a scheduled trigger, once whichever process gets to it: the
// firing's row and its enrollments commit together.
func (e *Engine) fire(ctx context.Context, sc *scenario.Scenario, at, now time.Time) error {
	return pgx.BeginFunc(ctx, e.cfg.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO schedule_firings (scenario_id, fire_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, sc.ID, at)
		if err != nil || tag.RowsAffected() == 0 {
			return err // fired already
		}
		enrolled := 0
		var after int64
		for {
			leads, err := lead.FindLeads(ctx, tx, lead.Filter{AfterID: after, Limit: schedulePage, Subscribed: true})
			if err != nil {
				return err
			}
			var admitted []*lead.Lead
			for _, l := range leads {
				after = l.ID
				ok, err := sc.Admits(scenario.LeadEnvOf(l), scenario.EventEnv{Type: "schedule", At: at}, now)
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
			if len(leads) < schedulePage {
				break
			}
		}
		e.log.Info("scheduled trigger fired", "scenario", sc.ID, "fire_at", at, "enrolled", enrolled)
		_, err = tx.Exec(ctx, `UPDATE schedule_firings SET enrolled = $3 WHERE scenario_id = $1 AND fire_at = $2`, sc.ID, at, enrolled)
		return err
	})
}
