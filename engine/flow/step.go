package flow

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/scenario"
)

// StepArgs runs an enrollment's steps from where it stands. Seq is the enrollment's
// seq when the job was made: a job for an older seq (the loser of a race between a
// click and a timeout, say) does nothing.
type StepArgs struct {
	EnrollmentID int64 `json:"enrollment_id"`
	Seq          int   `json:"seq"`
}

// Kind is the job kind of StepArgs.
func (StepArgs) Kind() string { return "step" }

// InsertOpts puts steps in their own queue.
func (StepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Step, MaxAttempts: 25}
}

// StepWorker works StepArgs jobs.
type StepWorker struct {
	river.WorkerDefaults[StepArgs]
	engine *Engine
}

// Work runs the steps in one transaction with the job's completion: the effects, the
// enrollment's new place and the next job commit together or not at all.
func (w *StepWorker) Work(ctx context.Context, job *river.Job[StepArgs]) error {
	err := pgx.BeginFunc(ctx, w.engine.cfg.Pool, func(tx pgx.Tx) error {
		if err := w.engine.step(ctx, tx, job.Args); err != nil {
			return err
		}
		_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	})
	if err != nil && job.Attempt >= job.MaxAttempts {
		// Out of attempts (a template gone for good, say): end the enrollment with the
		// reason rather than leave it running for ever, holding the lead's place.
		w.engine.log.Error("step failed for good; enrollment ended", "enrollment_id", job.Args.EnrollmentID, "error", err)
		if endErr := pgx.BeginFunc(context.WithoutCancel(ctx), w.engine.cfg.Pool, func(tx pgx.Tx) error {
			en, lerr := lockEnrollment(ctx, tx, job.Args.EnrollmentID)
			if lerr != nil || en.Ended || en.Seq != job.Args.Seq {
				return nil
			}
			return w.engine.end(ctx, tx, en, scenario.ExitExit, "error: "+err.Error())
		}); endErr != nil {
			return errors.Join(err, endErr)
		}
	}
	return err
}

// enrollment is an enrollment row as a step needs it.
type enrollment struct {
	ID         int64
	LeadID     int64
	ScenarioID string
	Version    string
	Step       string
	StepAt     time.Time
	Seq        int
	StartedAt  time.Time
	Ended      bool
}

func lockEnrollment(ctx context.Context, tx pgx.Tx, id int64) (*enrollment, error) {
	var en enrollment
	err := tx.QueryRow(ctx, `SELECT id, lead_id, scenario_id, version, step, step_at, seq, started_at, ended_at IS NOT NULL
		FROM enrollments WHERE id = $1 FOR UPDATE`, id).Scan(&en.ID, &en.LeadID, &en.ScenarioID, &en.Version,
		&en.Step, &en.StepAt, &en.Seq, &en.StartedAt, &en.Ended)
	if err != nil {
		return nil, err
	}
	return &en, nil
}

// step runs one step job in tx.
func (e *Engine) step(ctx context.Context, tx pgx.Tx, args StepArgs) error {
	en, err := lockEnrollment(ctx, tx, args.EnrollmentID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // the lead was erased
	}
	if err != nil {
		return fmt.Errorf("enrollment %d: %w", args.EnrollmentID, err)
	}
	if en.Ended || en.Seq != args.Seq {
		return nil // overtaken: another job moved the enrollment on
	}
	sc, err := e.registry.Version(ctx, tx, en.ScenarioID, en.Version)
	if err != nil {
		return err
	}
	l, err := lead.FindLeadByID(ctx, tx, en.LeadID)
	if err != nil {
		return err
	}
	now := e.cfg.Now()
	if reason, err := mail.Blocked(ctx, tx, l); err != nil {
		return err
	} else if reason != "" {
		return e.end(ctx, tx, en, scenario.ExitSuppressed, reason)
	}
	le := scenario.LeadEnvOf(l).WithHistory(lead.NewHistory(ctx, tx, l.ID))
	// The cap is shared with the lead's other enrollments: it locks the lead until
	// this transaction, with the messages it queues, commits.
	leadCap := e.cfg.Mailer.Cap(ctx, tx, l.ID)
	in := &scenario.Input{Now: now, Lead: &le, Settle: e.cfg.Settle,
		Engagement: &engagement{ctx: ctx, tx: tx, enrollmentID: en.ID}, Cap: leadCap}
	if l.Timezone != "" {
		if loc, err := time.LoadLocation(l.Timezone); err == nil {
			in.Location = loc
		}
	}
	res, err := sc.Advance(in, scenario.State{Step: en.Step, StepAt: en.StepAt})
	if err != nil {
		return err
	}
	var sent sentMessages
	for _, a := range res.Actions {
		if err := e.apply(ctx, tx, en, sc, l, a, &sent); err != nil {
			return fmt.Errorf("scenario %s, step %s: %w", sc.ID, a.Step, err)
		}
	}
	if err := sent.tag(ctx, tx, en.ID); err != nil {
		return err
	}
	for _, line := range res.Trace {
		e.log.Debug("step", "enrollment_id", en.ID, "lead_id", en.LeadID, "scenario", sc.ID, "trace", line)
	}
	for _, p := range res.Problems {
		e.log.Warn("scenario condition failed for this lead", "enrollment_id", en.ID, "lead_id", en.LeadID,
			"scenario", sc.ID, "version", sc.Version, "problem", p)
	}
	if res.Ended != "" {
		return e.end(ctx, tx, en, res.Ended, "")
	}
	if !leadCap.Held().IsZero() {
		e.log.Info("mail held back by the frequency cap", "lead_id", en.LeadID, "enrollment_id", en.ID,
			"scenario", sc.ID, "step", res.State.Step, "until", res.WakeAt)
	}
	var waitingOn string
	if res.Waiting != nil {
		waitingOn = res.Waiting.Ref
	}
	seq := en.Seq + 1
	if _, err := tx.Exec(ctx, `UPDATE enrollments SET step = $2, step_at = $3, seq = $4, wake_at = $5, waiting_on = $6
		WHERE id = $1`, en.ID, res.State.Step, res.State.StepAt, seq, res.WakeAt, waitingOn); err != nil {
		return err
	}
	c, err := e.queue(ctx)
	if err != nil {
		return err
	}
	_, err = c.InsertTx(ctx, tx, StepArgs{EnrollmentID: en.ID, Seq: seq}, &river.InsertOpts{ScheduledAt: res.WakeAt})
	return err
}

// end ends an enrollment and records why.
func (e *Engine) end(ctx context.Context, tx pgx.Tx, en *enrollment, reason, detail string) error {
	tag, err := tx.Exec(ctx, `UPDATE enrollments SET ended_at = now(), exit_reason = $2, step = '', seq = seq + 1,
		wake_at = NULL, waiting_on = '' WHERE id = $1 AND ended_at IS NULL`, en.ID, reason)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	props := map[string]any{"scenario": en.ScenarioID, "version": en.Version, "enrollment_id": en.ID, "reason": reason}
	if detail != "" {
		props["detail"] = detail
	}
	if en.Step != "" {
		props["step"] = en.Step
	}
	e.log.Info("enrollment ended", "enrollment_id", en.ID, "lead_id", en.LeadID, "scenario", en.ScenarioID, "reason", reason)
	return lead.AppendEvent(ctx, tx, en.LeadID, "scenario_exited", props)
}

// sentMessages are the messages a step job queued, to be tagged with their
// enrollment and step in one statement.
type sentMessages struct {
	ids      []int64
	steps    []string
	subjects []string
}

// tag records which enrollment and step sent each message, so that wait_until finds
// it and a click finds the enrollment waiting on it.
func (s *sentMessages) tag(ctx context.Context, tx pgx.Tx, enrollmentID int64) error {
	if len(s.ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE messages m SET enrollment_id = $1, step = x.step, subject_override = x.subject
		FROM unnest($2::bigint[], $3::text[], $4::text[]) AS x(id, step, subject) WHERE m.id = x.id`,
		enrollmentID, s.ids, s.steps, s.subjects)
	return err
}

// apply carries out one action of a step.
func (e *Engine) apply(ctx context.Context, tx pgx.Tx, en *enrollment, sc *scenario.Scenario, l *lead.Lead, a scenario.Action, sent *sentMessages) error {
	by := "scenario:" + sc.ID
	switch a.Kind {
	case scenario.ActSend:
		c, err := e.queue(ctx)
		if err != nil {
			return err
		}
		// The purpose names the enrollment, the step and the enrollment's seq: a job
		// run again sends nothing new, and a loop back to a send sends again.
		purpose := "enrollment:" + strconv.FormatInt(en.ID, 10) + ":" + strconv.Itoa(en.Seq) + ":" + a.Step
		id, created, err := e.cfg.Mailer.Enqueue(ctx, tx, c, en.LeadID, a.Template, purpose)
		if err != nil {
			return err
		}
		if created {
			sent.ids = append(sent.ids, id)
			sent.steps = append(sent.steps, a.Step)
			sent.subjects = append(sent.subjects, a.Subject)
		}
		return nil

	case scenario.ActUpdate:
		u := a.Update
		in := lead.Input{Email: l.Email, Tags: u.AddTags}
		var attrs map[string]any
		for k, v := range u.Fields {
			v := v
			if key, ok := strings.CutPrefix(k, "attributes."); ok {
				if attrs == nil {
					attrs = map[string]any{}
				}
				attrs[key] = v
				continue
			}
			setInput(&in, k, &v)
		}
		in.Attributes = attrs
		if len(in.Tags) > 0 || len(u.Fields) > 0 {
			if _, err := lead.Upsert(ctx, tx, by, []lead.Input{in}); err != nil {
				return err
			}
		}
		if len(u.RemoveTags) > 0 {
			if _, err := lead.RemoveTags(ctx, tx, l.ID, u.RemoveTags, by); err != nil {
				return err
			}
		}
		if u.Points != 0 {
			_, err := e.scorer.AddFixed(ctx, tx, l, by+":"+a.Step, u.Points, e.cfg.Now())
			return err
		}
		return nil

	case scenario.ActStage:
		_, err := lead.SetStage(ctx, tx, l.ID, lead.StageChange{To: a.Stage, Cause: by + ":" + a.Step})
		var se *lead.StageError
		switch {
		case errors.Is(err, lead.ErrStageUnchanged):
			return nil
		case errors.As(err, &se):
			// The lead moved on meanwhile (sales took it, say): a scenario does not
			// pull it back. The step is done; the log says why nothing changed.
			e.log.Warn("stage step skipped: the lifecycle does not allow the move", "scenario", sc.ID, "step", a.Step,
				"lead_id", l.ID, "reason", se.Error())
			return nil
		case err != nil:
			return err
		}
		l.Stage = a.Stage
		return nil

	case scenario.ActEscalate:
		return lead.AppendEvent(ctx, tx, l.ID, "escalation_requested", map[string]any{
			"scenario": sc.ID, "step": a.Step, "reason": a.Reason, "enrollment_id": en.ID})
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

func setInput(in *lead.Input, field string, v *string) {
	switch field {
	case "first_name":
		in.FirstName = v
	case "last_name":
		in.LastName = v
	case "company":
		in.Company = v
	case "department":
		in.Department = v
	case "title":
		in.Title = v
	case "phone":
		in.Phone = v
	case "industry":
		in.Industry = v
	case "country":
		in.Country = v
	case "timezone":
		in.Timezone = v
	case "source":
		in.Source = v
	case "consent":
		in.Consent = v
	case "employees":
		if n, err := strconv.Atoi(*v); err == nil { // checked when the file was loaded
			in.Employees = &n
		}
	}
}

// engagement answers wait_until steps from the lead's recorded hits.
type engagement struct {
	ctx          context.Context
	tx           pgx.Tx
	enrollmentID int64
}

// FirstEngaged finds the latest message the send step ref sent in this enrollment and
// its first human open, or click.
func (g *engagement) FirstEngaged(ref string, kind scenario.EngageKind, link string) (time.Time, bool, error) {
	typ := mail.TypeOpened
	if kind == scenario.Clicked {
		typ = mail.TypeClicked
	}
	var at *time.Time
	err := g.tx.QueryRow(g.ctx, `SELECT min(e.occurred_at) FROM events e
		JOIN (SELECT id, lead_id FROM messages WHERE enrollment_id = $1 AND step = $2 ORDER BY id DESC LIMIT 1) m
		  ON e.lead_id = m.lead_id AND e.properties->>'message_id' = m.id::text
		WHERE e.type = $3 AND e.properties->>'verdict' = 'human'
		  AND ($4 = '' OR e.properties->>'link_name' = $4)`, g.enrollmentID, ref, typ, link).Scan(&at)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("engagement with %s: %w", ref, err)
	}
	if at == nil {
		return time.Time{}, false, nil
	}
	return *at, true, nil
}
