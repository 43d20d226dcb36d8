package sales

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/rivertype"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/queue"
)

// ErrHandoffNotFound is returned when a hand-off does not exist.
var ErrHandoffNotFound = errors.New("hand-off not found")

// ErrDecided is returned when a hand-off was decided (or taken back) already; the
// Handoff returned with it says by whom and when.
var ErrDecided = errors.New("the hand-off was decided already")

// Handoff is a hand-off as the accept page and the API show it.
type Handoff struct {
	ID           int64      `json:"id"`
	LeadID       int64      `json:"lead_id"`
	Company      string     `json:"company"`
	LeadName     string     `json:"lead_name"`
	Score        int        `json:"score"`
	Grade        string     `json:"grade"`
	Stage        string     `json:"stage"`
	UserID       int64      `json:"user_id"`
	UserName     string     `json:"user_name"`
	How          string     `json:"how"`
	Reason       string     `json:"reason"`
	CreatedAt    time.Time  `json:"created_at"`
	Decision     string     `json:"decision,omitempty"`
	DecidedAt    *time.Time `json:"decided_at,omitempty"`
	DecidedBy    string     `json:"decided_by,omitempty"`
	RejectReason string     `json:"reject_reason,omitempty"`
	EndedAt      *time.Time `json:"ended_at,omitempty"`
	EndedReason  string     `json:"ended_reason,omitempty"`
	slaJobs      []int64
}

// Open reports whether the hand-off waits for its rep.
func (h *Handoff) Open() bool { return h.DecidedAt == nil && h.EndedAt == nil }

const handoffColumns = `a.id, a.lead_id, l.company, trim(l.last_name || ' ' || l.first_name), l.score, l.grade, l.stage,
	a.user_id, u.name, a.how, a.reason, a.created_at, coalesce(a.decision, ''), a.decided_at, a.decided_by,
	a.reject_reason, a.ended_at, a.ended_reason, a.sla_job_ids`

func scanHandoff(row pgx.Row) (*Handoff, error) {
	var h Handoff
	err := row.Scan(&h.ID, &h.LeadID, &h.Company, &h.LeadName, &h.Score, &h.Grade, &h.Stage, &h.UserID, &h.UserName,
		&h.How, &h.Reason, &h.CreatedAt, &h.Decision, &h.DecidedAt, &h.DecidedBy, &h.RejectReason, &h.EndedAt,
		&h.EndedReason, &h.slaJobs)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrHandoffNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("hand-off: %w", err)
	}
	return &h, nil
}

// FindHandoff returns a hand-off.
func FindHandoff(ctx context.Context, db lead.DB, id int64) (*Handoff, error) {
	return scanHandoff(db.QueryRow(ctx, `SELECT `+handoffColumns+` FROM assignments a
		JOIN leads l ON l.id = a.lead_id JOIN users u ON u.id = a.user_id WHERE a.id = $1`, id))
}

// lockHandoff locks and returns a hand-off in tx.
func lockHandoff(ctx context.Context, tx pgx.Tx, id int64) (*Handoff, error) {
	if _, err := tx.Exec(ctx, `SELECT id FROM assignments WHERE id = $1 FOR UPDATE`, id); err != nil {
		return nil, fmt.Errorf("lock hand-off %d: %w", id, err)
	}
	return FindHandoff(ctx, tx, id)
}

// OpenHandoff returns the hand-off of a lead that waits for its rep, or
// ErrHandoffNotFound.
func OpenHandoff(ctx context.Context, db lead.DB, leadID int64) (*Handoff, error) {
	var id int64
	err := db.QueryRow(ctx, `SELECT id FROM assignments WHERE lead_id = $1 AND decided_at IS NULL AND ended_at IS NULL`, leadID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrHandoffNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("open hand-off of lead %d: %w", leadID, err)
	}
	return FindHandoff(ctx, db, id)
}

// Accept records that the rep takes the lead: the lead moves to SAL (cause by, such
// as "user:3" or "api_key:crm"), its owner is confirmed, lead_accepted is recorded
// and the SLA checks are cancelled. A hand-off decided or taken back already is
// ErrDecided, returned with the hand-off as it stands.
func (s *Sales) Accept(ctx context.Context, rc *queue.Client, id int64, by string) (*Handoff, error) {
	return s.decide(ctx, rc, id, func(tx pgx.Tx, h *Handoff) error {
		if _, err := lead.SetStage(ctx, tx, h.LeadID, lead.StageChange{To: lead.StageSAL, Cause: by}); err != nil &&
			!errors.Is(err, lead.ErrStageUnchanged) {
			var se *lead.StageError
			if !errors.As(err, &se) {
				return err
			}
			// Sales qualified it further already: the acceptance stands.
			s.log.Info("accepted lead stays at its stage", "lead_id", h.LeadID, "stage", se.From)
		}
		if _, err := lead.SetOwner(ctx, tx, h.LeadID, h.UserID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE assignments SET decision = 'accepted', decided_at = $2, decided_by = $3 WHERE id = $1`,
			h.ID, s.cfg.Now(), by); err != nil {
			return fmt.Errorf("accept hand-off %d: %w", h.ID, err)
		}
		return lead.AppendEvent(ctx, tx, h.LeadID, TypeAccepted, map[string]any{
			"assignment_id": h.ID, "user_id": h.UserID, "user_name": h.UserName, "by": by})
	})
}

// Reject records that the rep sends the lead back to nurturing, for a reason
// (required): the lead moves to recycled with it, loses its owner, lead_rejected is
// recorded and the SLA checks are cancelled.
func (s *Sales) Reject(ctx context.Context, rc *queue.Client, id int64, by, reason string) (*Handoff, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, &lead.FieldError{Field: "reason", Reason: "is required to reject a lead"}
	}
	return s.decide(ctx, rc, id, func(tx pgx.Tx, h *Handoff) error {
		if _, err := lead.SetStage(ctx, tx, h.LeadID, lead.StageChange{To: lead.StageRecycled, Cause: by, Reason: reason}); err != nil &&
			!errors.Is(err, lead.ErrStageUnchanged) {
			return err
		}
		if _, err := lead.SetOwner(ctx, tx, h.LeadID, 0); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE assignments SET decision = 'rejected', decided_at = $2, decided_by = $3, reject_reason = $4
			WHERE id = $1`, h.ID, s.cfg.Now(), by, reason); err != nil {
			return fmt.Errorf("reject hand-off %d: %w", h.ID, err)
		}
		return lead.AppendEvent(ctx, tx, h.LeadID, TypeRejected, map[string]any{
			"assignment_id": h.ID, "user_id": h.UserID, "user_name": h.UserName, "by": by, "reason": reason})
	})
}

// decide locks an open hand-off, applies f and cancels its SLA jobs, in one
// transaction.
func (s *Sales) decide(ctx context.Context, rc *queue.Client, id int64, f func(pgx.Tx, *Handoff) error) (*Handoff, error) {
	var decided *Handoff
	err := pgx.BeginFunc(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		h, err := lockHandoff(ctx, tx, id)
		if err != nil {
			return err
		}
		if !h.Open() {
			decided = h
			return ErrDecided
		}
		if err := f(tx, h); err != nil {
			return err
		}
		for _, jobID := range h.slaJobs {
			if _, err := rc.JobCancelTx(ctx, tx, jobID); err != nil && !errors.Is(err, rivertype.ErrNotFound) {
				return fmt.Errorf("cancel SLA job %d: %w", jobID, err)
			}
		}
		return nil
	})
	if errors.Is(err, ErrDecided) {
		return decided, err
	}
	if err != nil {
		return nil, err
	}
	return FindHandoff(ctx, s.cfg.Pool, id)
}

// UserCause is the cause of a change a user made, for lead.StageChange.
func UserCause(userID int64) string { return "user:" + strconv.FormatInt(userID, 10) }

// Inbox is a rep's work: the hand-offs waiting for the rep, then the accepted leads
// still open (sal, sgl, sql), latest first.
func Inbox(ctx context.Context, db lead.DB, userID int64) ([]*Handoff, error) {
	rows, err := db.Query(ctx, `SELECT `+handoffColumns+` FROM assignments a
		JOIN leads l ON l.id = a.lead_id JOIN users u ON u.id = a.user_id
		WHERE a.user_id = $1 AND a.ended_at IS NULL
		  AND (a.decided_at IS NULL OR (a.decision = 'accepted' AND l.stage IN ('sal', 'sgl', 'sql')))
		ORDER BY a.decided_at IS NOT NULL, a.created_at DESC LIMIT 500`, userID)
	if err != nil {
		return nil, fmt.Errorf("inbox of user %d: %w", userID, err)
	}
	hs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Handoff, error) { return scanHandoff(r) })
	if err != nil {
		return nil, fmt.Errorf("inbox of user %d: %w", userID, err)
	}
	return hs, nil
}

// Waiting returns the hot leads handed to a rep who has not accepted them yet,
// those waiting longest first, at most limit, and how many there are in all.
func Waiting(ctx context.Context, db lead.DB, limit int) ([]*Handoff, int, error) {
	var total int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM assignments a JOIN leads l ON l.id = a.lead_id
		WHERE a.decided_at IS NULL AND a.ended_at IS NULL AND l.grade = 'hot'`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("hot leads waiting for sales: %w", err)
	}
	rows, err := db.Query(ctx, `SELECT `+handoffColumns+` FROM assignments a
		JOIN leads l ON l.id = a.lead_id JOIN users u ON u.id = a.user_id
		WHERE a.decided_at IS NULL AND a.ended_at IS NULL AND l.grade = 'hot'
		ORDER BY a.created_at, a.id LIMIT $1`, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("hot leads waiting for sales: %w", err)
	}
	hs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Handoff, error) { return scanHandoff(r) })
	if err != nil {
		return nil, 0, fmt.Errorf("hot leads waiting for sales: %w", err)
	}
	return hs, total, nil
}
