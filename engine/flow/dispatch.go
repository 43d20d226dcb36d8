package flow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/scenario"
	"github.com/nurture-dev/nurture/engine/score"
)

// dispatchBatch is how many events one dispatch transaction takes.
const dispatchBatch = 500

// maxDispatchAttempts is how many times the dispatcher tries an event before it sets
// it aside in event_quarantine: an event that fails (or takes the process down) each
// time it is dispatched must not hold back the events after it for ever.
const maxDispatchAttempts = 5

// dispatchLock is held by the process dispatching: events are shown to the scenarios
// in order, one batch at a time, whichever process does it. Bulk scoring takes it too
// (see score.DispatchLock), and the dispatcher waits its turn.
const dispatchLock = score.DispatchLock

// dispatchLoop dispatches new events until ctx is done: at once when the database
// says events arrived, and every DispatchInterval in case a notification was missed.
func (e *Engine) dispatchLoop(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	go e.listen(ctx, wake)
	t := time.NewTicker(e.cfg.DispatchInterval)
	defer t.Stop()
	for {
		for {
			n, err := e.DispatchOnce(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				e.log.Error("dispatching events failed; will try again", "error", err)
				break
			}
			if n == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-t.C:
		}
	}
}

// listen turns the events trigger's notifications into wake-ups.
func (e *Engine) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		err := func() error {
			conn, err := e.cfg.Pool.Acquire(ctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			if _, err := conn.Exec(ctx, "LISTEN nurture_events"); err != nil {
				return err
			}
			defer conn.Exec(context.WithoutCancel(ctx), "UNLISTEN nurture_events") //nolint:errcheck
			for {
				if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
					return err
				}
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}()
		if ctx.Err() != nil {
			return
		}
		e.log.Warn("listening for events failed; polling until it works again", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// DispatchOnce shows a batch of new events to the scenarios and reports how many it
// took off the queue: an event may end running enrollments (unsubscribes, bounces,
// goals, exits), wake an enrollment waiting on an open or click, and enroll the lead
// in scenarios whose trigger it matches. The batch leaves the queue in the same
// transaction, so a crash dispatches it again from the start.
//
// Each try is counted on the events before it is made. An event tried before is
// dispatched alone, so that the one that fails is found and the others go on; one
// tried maxDispatchAttempts times is set aside in event_quarantine, and logged.
func (e *Engine) DispatchOnce(ctx context.Context) (int, error) {
	if _, err := e.queue(ctx); err != nil {
		return 0, err
	}
	var n int
	var batch []int64
	err := pgx.BeginFunc(ctx, e.cfg.Pool, func(tx pgx.Tx) error {
		var mine bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, dispatchLock).Scan(&mine); err != nil || !mine {
			return err
		}
		var quarantined int
		var err error
		batch, quarantined, err = e.takeBatch(ctx, tx)
		if err != nil || len(batch) == 0 {
			n = quarantined
			return err
		}
		// Counted on a connection of its own, so that it stays counted if this try
		// never ends.
		if _, err := e.cfg.Pool.Exec(ctx, `UPDATE event_queue SET attempts = attempts + 1 WHERE event_id = ANY($1)`, batch); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `WITH batch AS (DELETE FROM event_queue WHERE event_id = ANY($1) RETURNING event_id)
			SELECT e.id, e.lead_id, e.type, e.occurred_at, e.properties FROM events e JOIN batch b ON b.event_id = e.id
			ORDER BY e.id`, batch)
		if err != nil {
			return err
		}
		events, err := pgx.CollectRows(rows, pgx.RowToStructByPos[queuedEvent])
		if err != nil {
			return err
		}
		n = quarantined + len(batch)
		if len(events) == 0 {
			return nil
		}
		d := &dispatch{e: e, tx: tx, now: e.cfg.Now(), leads: map[int64]*lead.Lead{}, running: map[int64][]*enrollment{}}
		if err := d.load(ctx, events); err != nil {
			return err
		}
		for _, ev := range events {
			if err := d.event(ctx, ev); err != nil {
				return fmt.Errorf("event %d (%s): %w", ev.ID, ev.Type, err)
			}
		}
		_, err = d.enroller.flush(ctx)
		return err
	})
	if err != nil && len(batch) > 0 && ctx.Err() == nil {
		if _, uerr := e.cfg.Pool.Exec(ctx, `UPDATE event_queue SET last_error = $2 WHERE event_id = ANY($1)`, batch, err.Error()); uerr != nil {
			e.log.Error("recording a failed dispatch failed", "error", uerr)
		}
	}
	return n, err
}

// takeBatch sets aside the events at the head of the queue that were tried too
// often, and returns the events to dispatch now: the head alone when it was tried
// before, else the events up to the first that was. It reports how many it set aside.
func (e *Engine) takeBatch(ctx context.Context, tx pgx.Tx) (batch []int64, quarantined int, err error) {
	type queued struct {
		EventID   int64
		LeadID    int64
		Type      string
		Attempts  int
		LastError string
	}
	rows, err := tx.Query(ctx, `SELECT event_id, lead_id, type, attempts, last_error FROM event_queue ORDER BY event_id LIMIT $1`, dispatchBatch)
	if err != nil {
		return nil, 0, err
	}
	head, err := pgx.CollectRows(rows, pgx.RowToStructByPos[queued])
	if err != nil {
		return nil, 0, err
	}
	for len(head) > 0 && head[0].Attempts >= maxDispatchAttempts {
		q := head[0]
		reason := q.LastError
		if reason == "" {
			reason = "its dispatch never finished: the process may have stopped while dispatching it"
		}
		_, err := tx.Exec(ctx, `WITH q AS (DELETE FROM event_queue WHERE event_id = $1 RETURNING event_id, lead_id, type, attempts)
			INSERT INTO event_quarantine (event_id, lead_id, type, attempts, last_error)
			SELECT event_id, lead_id, type, attempts, $2 FROM q
			ON CONFLICT (event_id) DO UPDATE SET attempts = excluded.attempts, last_error = excluded.last_error, quarantined_at = now()`,
			q.EventID, reason)
		if err != nil {
			return nil, 0, fmt.Errorf("quarantine event %d: %w", q.EventID, err)
		}
		e.log.Error("event quarantined: its dispatch failed too often; the events after it go on",
			"event_id", q.EventID, "lead_id", q.LeadID, "type", q.Type, "attempts", q.Attempts, "reason", reason)
		head = head[1:]
		quarantined++
	}
	for i, q := range head {
		if q.Attempts > 0 {
			if i == 0 {
				return []int64{q.EventID}, quarantined, nil
			}
			break
		}
		batch = append(batch, q.EventID)
	}
	return batch, quarantined, nil
}

type queuedEvent struct {
	ID         int64
	LeadID     int64
	Type       string
	OccurredAt time.Time
	Properties map[string]any
}

// dispatch is one batch being dispatched.
type dispatch struct {
	e       *Engine
	tx      pgx.Tx
	now     time.Time
	leads   map[int64]*lead.Lead
	running map[int64][]*enrollment // by lead
	// enroller holds the batch's new enrollments until an event of their lead or the
	// end of the batch needs them written.
	enroller *enroller
}

// load reads the batch's leads, their running enrollments and what enrolling them
// needs, a few queries for the whole batch.
func (d *dispatch) load(ctx context.Context, events []queuedEvent) error {
	var ids []int64
	for _, ev := range events {
		if _, ok := d.leads[ev.LeadID]; !ok {
			d.leads[ev.LeadID] = nil // erased, unless found
			ids = append(ids, ev.LeadID)
		}
	}
	leads, err := lead.FindLeadsByID(ctx, d.tx, ids)
	if err != nil {
		return err
	}
	for _, l := range leads {
		d.leads[l.ID] = l
	}
	if d.enroller, err = d.e.newEnroller(ctx, d.tx, d.now, leads); err != nil {
		return err
	}
	rows, err := d.tx.Query(ctx, `SELECT id, lead_id, scenario_id, version, step, step_at, seq, started_at, false
		FROM enrollments WHERE lead_id = ANY($1) AND ended_at IS NULL ORDER BY id`, ids)
	if err != nil {
		return err
	}
	ens, err := pgx.CollectRows(rows, pgx.RowToAddrOfStructByPos[enrollment])
	if err != nil {
		return err
	}
	for _, en := range ens {
		d.running[en.LeadID] = append(d.running[en.LeadID], en)
	}
	return nil
}

// event dispatches one event.
func (d *dispatch) event(ctx context.Context, ev queuedEvent) error {
	l := d.leads[ev.LeadID]
	if l == nil {
		return nil
	}
	if d.enroller.pendingFor(l.ID) {
		// This event may end or wake the lead's new enrollments: they need their IDs.
		if _, err := d.enroller.flush(ctx); err != nil {
			return err
		}
	}
	// The score first, so that triggers and goals see what the event made of the lead.
	if err := d.e.scorer.Apply(ctx, d.tx, l, score.Event{ID: ev.ID, Type: ev.Type, OccurredAt: ev.OccurredAt, Properties: ev.Properties}); err != nil {
		return fmt.Errorf("score: %w", err)
	}
	if ev.Type == "escalation_requested" && d.e.cfg.OnEscalation != nil {
		rc, err := d.e.queue(ctx)
		if err != nil {
			return err
		}
		if err := d.e.cfg.OnEscalation(ctx, d.tx, rc, l.ID, ev.ID, ev.Properties); err != nil {
			return fmt.Errorf("escalation: %w", err)
		}
	}
	le := scenario.LeadEnvOf(l).WithHistory(lead.NewHistory(ctx, d.tx, l.ID))
	ee := scenario.EventEnvOf(ev.Type, ev.OccurredAt, ev.Properties)
	for _, en := range d.running[ev.LeadID] {
		if en.Ended {
			continue
		}
		if err := d.running1(ctx, en, le, ee, ev); err != nil {
			return err
		}
	}
	for _, sc := range d.e.registry.Current() {
		if sc.Trigger.Event == "" || sc.Trigger.Event != ev.Type {
			continue
		}
		ok, err := sc.Admits(le, ee, d.now)
		if err != nil {
			d.e.log.Warn("trigger condition failed; lead not enrolled", "scenario", sc.ID, "lead_id", l.ID, "error", err)
			continue
		}
		if !ok {
			continue
		}
		if en := d.enroller.add(sc, l, ev.ID); en != nil {
			d.running[l.ID] = append(d.running[l.ID], en)
		}
	}
	return nil
}

// running1 shows an event to one running enrollment of its lead.
func (d *dispatch) running1(ctx context.Context, en *enrollment, le scenario.LeadEnv, ee scenario.EventEnv, ev queuedEvent) error {
	stop := func(reason, detail string) error {
		en.Ended = true
		d.enroller.ended(en)
		return d.e.end(ctx, d.tx, en, reason, detail)
	}
	switch ev.Type {
	case "unsubscribed", "email_complained":
		return stop(scenario.ExitSuppressed, ev.Type)
	case "email_bounced":
		if kind, _ := ev.Properties["kind"].(string); kind == "hard" {
			return stop(scenario.ExitSuppressed, "hard bounce")
		}
	}
	sc, err := d.e.registry.Version(ctx, d.tx, en.ScenarioID, en.Version)
	var broken scenario.Errors
	if errors.As(err, &broken) {
		// One version that no longer parses must not hold up every other event: its
		// own step jobs report it where it belongs.
		d.e.log.Error("scenario version unreadable; event not shown to the enrollment", "enrollment_id", en.ID,
			"scenario", en.ScenarioID, "version", en.Version, "error", err)
		return nil
	}
	if err != nil {
		return err // the database: the batch is dispatched again
	}
	if ok, err := sc.Reaches(le, ee, d.now); err != nil {
		d.e.log.Warn("goal condition failed", "scenario", sc.ID, "enrollment_id", en.ID, "error", err)
	} else if ok {
		return stop(scenario.ExitGoal, ev.Type)
	}
	if ok, err := sc.Exits(le, d.now); err != nil {
		d.e.log.Warn("exit_if failed", "scenario", sc.ID, "enrollment_id", en.ID, "error", err)
	} else if ok {
		return stop(scenario.ExitExit, ev.Type)
	}
	if ev.Type != mail.TypeOpened && ev.Type != mail.TypeClicked {
		return nil
	}
	if verdict, _ := ev.Properties["verdict"].(string); verdict != "human" {
		return nil // bots do not count
	}
	// Wake the enrollment if it waits on the message hit; the step job decides (and
	// waits out the click settle time) with what is recorded by then.
	messageID, ok := ev.Properties["message_id"].(float64) // a JSON number
	if !ok {
		return nil
	}
	// The row is locked and read as it is now, not as the batch found it: a step job
	// may be moving the enrollment into its wait_until this very moment (its look
	// for the hit came too early), and the lock waits for it to commit.
	var seq int
	var waiting bool
	err = d.tx.QueryRow(ctx, `WITH en AS (SELECT id, seq, waiting_on FROM enrollments WHERE id = $1 AND ended_at IS NULL FOR UPDATE)
		SELECT en.seq, en.waiting_on <> '' AND EXISTS (SELECT 1 FROM messages m
			WHERE m.enrollment_id = en.id AND m.step = en.waiting_on AND m.id = $2) FROM en`,
		en.ID, int64(messageID)).Scan(&seq, &waiting)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // it ended meanwhile
	}
	if err != nil || !waiting {
		return err
	}
	_, err = d.e.insertStep(ctx, d.tx, en.ID, seq, time.Time{})
	return err
}

// insertStep enqueues a step job for an enrollment at seq, to run at (zero: now).
func (e *Engine) insertStep(ctx context.Context, tx pgx.Tx, enrollmentID int64, seq int, at time.Time) (bool, error) {
	c, err := e.queue(ctx)
	if err != nil {
		return false, err
	}
	_, err = c.InsertTx(ctx, tx, StepArgs{EnrollmentID: enrollmentID, Seq: seq}, &river.InsertOpts{ScheduledAt: at})
	return err == nil, err
}
