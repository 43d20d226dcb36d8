package sales

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/scenario"
)

// How a rep was chosen.
const (
	HowKept       = "kept"
	HowTerritory  = "territory"
	HowRoundRobin = "round_robin"
)

// ErrNoRep means no active sales rep can take the lead now (none, or all at
// capacity): the lead waits and is tried again.
var ErrNoRep = errors.New("no active sales rep can take the lead")

// AssignArgs hands a lead to a rep. Exclude is a rep not to choose (the one who let
// the SLA run out).
type AssignArgs struct {
	LeadID  int64  `json:"lead_id"`
	EventID int64  `json:"event_id,omitempty"`
	Reason  string `json:"reason"`
	Exclude int64  `json:"exclude,omitempty"`
}

// Kind is the job kind of AssignArgs.
func (AssignArgs) Kind() string { return "sales_assign" }

// InsertOpts: an assignment is retried for a long time; a missing rep snoozes it
// without counting an attempt.
func (AssignArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Default, MaxAttempts: 25}
}

// AssignWorker works AssignArgs jobs.
type AssignWorker struct {
	river.WorkerDefaults[AssignArgs]
	sales *Sales
}

// Work hands the lead over in one transaction with the job's completion. With no
// rep free it records assignment_pending (once) and snoozes: the lead is never
// dropped.
func (w *AssignWorker) Work(ctx context.Context, job *river.Job[AssignArgs]) error {
	s := w.sales
	rc := river.ClientFromContext[pgx.Tx](ctx)
	err := pgx.BeginFunc(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		if _, err := s.Assign(ctx, tx, rc, job.Args); err != nil {
			return err
		}
		_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	})
	if !errors.Is(err, ErrNoRep) {
		return err
	}
	s.log.Warn("no sales rep can take the lead; trying again later", "lead_id", job.Args.LeadID, "retry_in", s.cfg.RetryAfter.String())
	// Recorded once a job, however often it snoozes.
	err = pgx.BeginFunc(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM events WHERE lead_id = $1 AND type = $2
			AND properties->>'job_id' = $3`, job.Args.LeadID, TypeAssignmentPending, fmt.Sprint(job.ID)).Scan(&n); err != nil || n > 0 {
			return err
		}
		return lead.AppendEvent(ctx, tx, job.Args.LeadID, TypeAssignmentPending, map[string]any{
			"reason": "no active sales rep under capacity", "job_id": job.ID})
	})
	if err != nil {
		return fmt.Errorf("record pending hand-off of lead %d: %w", job.Args.LeadID, err)
	}
	return river.JobSnooze(s.cfg.RetryAfter)
}

// Assignment is a lead handed to a rep.
type Assignment struct {
	ID        int64     `json:"id"`
	LeadID    int64     `json:"lead_id"`
	UserID    int64     `json:"user_id"`
	How       string    `json:"how"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
}

// assignLockClass keys the advisory lock that makes choosing a rep one at a time:
// two escalations at once never both take the same "next" rep, and a rep's
// capacity is counted with every hand-off before it committed.
const assignLockClass = 0x6e73 // "ns"

// Assign hands a lead to a rep in tx: its owner if an active rep, else the first
// active rep under capacity whose territory matches it, else the active rep under
// capacity whose last hand-off is oldest (round robin). It records lead_assigned,
// queues the alert mail, the webhook and the SLA check. A lead with a hand-off open
// already is left as it is and that hand-off returned; an erased or closed (won,
// lost) lead returns nil. With no rep free it returns ErrNoRep.
func (s *Sales) Assign(ctx context.Context, tx pgx.Tx, rc *queue.Client, args AssignArgs) (*Assignment, error) {
	if _, err := tx.Exec(ctx, `SELECT id FROM leads WHERE id = $1 FOR UPDATE`, args.LeadID); err != nil {
		return nil, fmt.Errorf("lock lead %d: %w", args.LeadID, err)
	}
	l, err := lead.FindLeadByID(ctx, tx, args.LeadID)
	if errors.Is(err, lead.ErrNotFound) {
		return nil, nil // erased meanwhile
	}
	if err != nil {
		return nil, err
	}
	if open, err := openAssignment(ctx, tx, l.ID); err != nil || open != nil {
		return open, err
	}
	if l.Stage == lead.StageWon || l.Stage == lead.StageLost {
		s.log.Info("escalation of a closed lead ignored", "lead_id", l.ID, "stage", l.Stage)
		return nil, nil
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, assignLockClass); err != nil {
		return nil, fmt.Errorf("lock rep choice: %w", err)
	}
	rep, how, err := s.choose(ctx, tx, l, args.Exclude)
	if errors.Is(err, ErrNoRep) && args.Exclude != 0 {
		// Nobody else can take it: the rep who let it wait gets it anew.
		rep, how, err = s.choose(ctx, tx, l, 0)
	}
	if err != nil {
		return nil, err
	}
	a := &Assignment{LeadID: l.ID, UserID: rep.ID, How: how, Reason: args.Reason}
	if err := tx.QueryRow(ctx, `INSERT INTO assignments (lead_id, user_id, how, reason, created_at) VALUES ($1, $2, $3, $4, $5)
		RETURNING id, created_at`, l.ID, rep.ID, how, args.Reason, s.cfg.Now()).Scan(&a.ID, &a.CreatedAt); err != nil {
		return nil, fmt.Errorf("assign lead %d: %w", l.ID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE users SET assign_seq = nextval('users_assign_seq') WHERE id = $1`, rep.ID); err != nil {
		return nil, fmt.Errorf("assign lead %d: %w", l.ID, err)
	}
	if _, err := lead.SetOwner(ctx, tx, l.ID, rep.ID); err != nil {
		return nil, err
	}
	if err := lead.AppendEvent(ctx, tx, l.ID, TypeAssigned, map[string]any{"assignment_id": a.ID,
		"user_id": rep.ID, "user_name": rep.Name, "how": how, "reason": args.Reason}); err != nil {
		return nil, err
	}
	if err := s.alert(ctx, tx, rc, a, rep, alertNew); err != nil {
		return nil, err
	}
	if err := s.queueWebhook(ctx, tx, rc, a.ID, "assigned"); err != nil {
		return nil, err
	}
	if err := s.scheduleSLA(ctx, tx, rc, a.ID, 1); err != nil {
		return nil, err
	}
	return a, nil
}

// openAssignment returns the lead's hand-off that waits for its rep, or nil.
func openAssignment(ctx context.Context, tx pgx.Tx, leadID int64) (*Assignment, error) {
	var a Assignment
	err := tx.QueryRow(ctx, `SELECT id, lead_id, user_id, how, reason, created_at FROM assignments
		WHERE lead_id = $1 AND decided_at IS NULL AND ended_at IS NULL`, leadID).
		Scan(&a.ID, &a.LeadID, &a.UserID, &a.How, &a.Reason, &a.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open hand-off of lead %d: %w", leadID, err)
	}
	return &a, nil
}

// rep is an active sales rep as choosing needs it.
type rep struct {
	ID        int64
	Name      string
	Email     string
	Territory string
	ManagerID *int64
}

// underCapacity is the SQL condition of a rep u who may take one more lead.
const underCapacity = `u.role = 'sales' AND u.active AND (u.capacity = 0 OR (SELECT count(*) FROM assignments a
	WHERE a.user_id = u.id AND a.decided_at IS NULL AND a.ended_at IS NULL) < u.capacity)`

// choose picks the rep for l; the caller holds the rep-choice lock.
func (s *Sales) choose(ctx context.Context, tx pgx.Tx, l *lead.Lead, exclude int64) (*rep, string, error) {
	if l.OwnerID != nil && *l.OwnerID != exclude {
		var r rep
		err := tx.QueryRow(ctx, `SELECT id, name, email, territory, manager_id FROM users u
			WHERE u.id = $1 AND u.role = 'sales' AND u.active`, *l.OwnerID).Scan(&r.ID, &r.Name, &r.Email, &r.Territory, &r.ManagerID)
		if err == nil {
			return &r, HowKept, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, "", fmt.Errorf("owner of lead %d: %w", l.ID, err)
		}
	}
	rows, err := tx.Query(ctx, `SELECT id, name, email, territory, manager_id FROM users u
		WHERE `+underCapacity+` AND u.id <> $1 AND u.territory <> '' ORDER BY u.id`, exclude)
	if err != nil {
		return nil, "", fmt.Errorf("reps with territories: %w", err)
	}
	reps, err := pgx.CollectRows(rows, pgx.RowToStructByPos[rep])
	if err != nil {
		return nil, "", fmt.Errorf("reps with territories: %w", err)
	}
	env := &scenario.Env{Lead: scenario.LeadEnvOf(l), Now: s.cfg.Now()}
	for _, r := range reps {
		x, err := scenario.CompileExpr(r.Territory)
		if err != nil {
			s.log.Warn("territory does not compile; rep skipped for territories", "user_id", r.ID, "error", err)
			continue
		}
		ok, err := x.Bool(env)
		if err != nil {
			s.log.Warn("territory failed on a lead", "user_id", r.ID, "lead_id", l.ID, "error", err)
			continue
		}
		if ok {
			return &r, HowTerritory, nil
		}
	}
	var r rep
	err = tx.QueryRow(ctx, `SELECT id, name, email, territory, manager_id FROM users u
		WHERE `+underCapacity+` AND u.id <> $1 ORDER BY u.assign_seq NULLS FIRST, u.id LIMIT 1`, exclude).
		Scan(&r.ID, &r.Name, &r.Email, &r.Territory, &r.ManagerID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", ErrNoRep
	}
	if err != nil {
		return nil, "", fmt.Errorf("next rep: %w", err)
	}
	return &r, HowRoundRobin, nil
}
