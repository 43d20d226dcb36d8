package sales

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/queue"
)

// SLAArgs checks that a hand-off was answered in time. Round 1 comes one SLA after
// the hand-off: the rep is alerted again and the manager told. Round 2 comes one
// SLA later: the lead is handed to another rep.
type SLAArgs struct {
	AssignmentID int64 `json:"assignment_id"`
	Round        int   `json:"round"`
}

// Kind is the job kind of SLAArgs.
func (SLAArgs) Kind() string { return "sales_sla" }

// SLAWorker works SLAArgs jobs.
type SLAWorker struct {
	river.WorkerDefaults[SLAArgs]
	sales *Sales
}

// Work does nothing for a hand-off decided or taken back meanwhile.
func (w *SLAWorker) Work(ctx context.Context, job *river.Job[SLAArgs]) error {
	s := w.sales
	rc := river.ClientFromContext[pgx.Tx](ctx)
	return pgx.BeginFunc(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		if err := s.checkSLA(ctx, tx, rc, job.Args); err != nil {
			return err
		}
		_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	})
}

func (s *Sales) checkSLA(ctx context.Context, tx pgx.Tx, rc *queue.Client, args SLAArgs) error {
	h, err := lockHandoff(ctx, tx, args.AssignmentID)
	if errors.Is(err, ErrHandoffNotFound) {
		return nil
	}
	if err != nil || !h.Open() {
		return err
	}
	var r rep
	var active bool
	if err := tx.QueryRow(ctx, `SELECT id, name, email, territory, manager_id, active FROM users WHERE id = $1`, h.UserID).
		Scan(&r.ID, &r.Name, &r.Email, &r.Territory, &r.ManagerID, &active); err != nil {
		return fmt.Errorf("rep of hand-off %d: %w", h.ID, err)
	}
	if !active {
		args.Round = 2 // a disabled rep is not reminded: the lead goes to another
	}
	if err := lead.AppendEvent(ctx, tx, h.LeadID, TypeSLAMissed, map[string]any{
		"assignment_id": h.ID, "user_id": h.UserID, "round": args.Round}); err != nil {
		return err
	}
	a := &Assignment{ID: h.ID, LeadID: h.LeadID, UserID: h.UserID, How: h.How, Reason: h.Reason, CreatedAt: h.CreatedAt}
	if args.Round == 1 {
		s.log.Warn("hand-off not accepted within the SLA; rep reminded, manager told", "assignment_id", h.ID, "lead_id", h.LeadID, "user_id", h.UserID)
		if err := s.alert(ctx, tx, rc, a, &r, alertReminder); err != nil {
			return err
		}
		if err := s.alert(ctx, tx, rc, a, &r, alertManager); err != nil {
			return err
		}
		return s.scheduleSLA(ctx, tx, rc, h.ID, 2)
	}
	s.log.Warn("hand-off not accepted within twice the SLA; lead handed to another rep", "assignment_id", h.ID, "lead_id", h.LeadID, "user_id", h.UserID)
	if _, err := tx.Exec(ctx, `UPDATE assignments SET ended_at = $2, ended_reason = 'sla' WHERE id = $1`, h.ID, s.cfg.Now()); err != nil {
		return fmt.Errorf("end hand-off %d: %w", h.ID, err)
	}
	_, err = rc.InsertTx(ctx, tx, AssignArgs{LeadID: h.LeadID, Reason: h.Reason, Exclude: h.UserID}, nil)
	return err
}

// scheduleSLA inserts the SLA check of a hand-off for round, one SLA from now, and
// keeps its job ID with the hand-off so that a decision cancels it.
func (s *Sales) scheduleSLA(ctx context.Context, tx pgx.Tx, rc *queue.Client, id int64, round int) error {
	res, err := rc.InsertTx(ctx, tx, SLAArgs{AssignmentID: id, Round: round}, &river.InsertOpts{ScheduledAt: s.cfg.Now().Add(s.sla())})
	if err != nil {
		return fmt.Errorf("schedule SLA of hand-off %d: %w", id, err)
	}
	_, err = tx.Exec(ctx, `UPDATE assignments SET sla_job_ids = sla_job_ids || $2::bigint WHERE id = $1`, id, res.Job.ID)
	return err
}

// ReleaseOpen takes back the hand-offs a user has not decided (the user was
// disabled) and asks for each lead to be handed to another rep, in tx. It returns
// how many it took back.
func ReleaseOpen(ctx context.Context, tx pgx.Tx, rc *queue.Client, userID int64) (int, error) {
	rows, err := tx.Query(ctx, `UPDATE assignments SET ended_at = now(), ended_reason = 'user_disabled'
		WHERE user_id = $1 AND decided_at IS NULL AND ended_at IS NULL RETURNING lead_id, reason`, userID)
	if err != nil {
		return 0, fmt.Errorf("release hand-offs of user %d: %w", userID, err)
	}
	type released struct {
		LeadID int64
		Reason string
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[released])
	if err != nil {
		return 0, fmt.Errorf("release hand-offs of user %d: %w", userID, err)
	}
	for _, r := range rs {
		if _, err := rc.InsertTx(ctx, tx, AssignArgs{LeadID: r.LeadID, Reason: r.Reason, Exclude: userID}, nil); err != nil {
			return 0, fmt.Errorf("hand lead %d to another rep: %w", r.LeadID, err)
		}
	}
	return len(rs), nil
}
