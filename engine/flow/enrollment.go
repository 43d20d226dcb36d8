package flow

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Enrollment is a lead's run through a scenario, as the API and console show it.
type Enrollment struct {
	ID       int64  `json:"id"`
	Scenario string `json:"scenario"`
	Version  string `json:"version"`
	// Step is where it stands ("" once it ended); WakeAt is when it next moves on
	// its own (a wait's end, a wait_until's deadline).
	Step       string     `json:"step"`
	WaitingOn  string     `json:"waiting_on,omitempty"`
	WakeAt     *time.Time `json:"wake_at"`
	StartedAt  time.Time  `json:"started_at"`
	EndedAt    *time.Time `json:"ended_at"`
	ExitReason *string    `json:"exit_reason"`
}

// Querier runs queries: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// FindEnrollments returns a lead's enrollments, newest first.
func FindEnrollments(ctx context.Context, db Querier, leadID int64) ([]Enrollment, error) {
	rows, err := db.Query(ctx, `SELECT id, scenario_id, version, step, waiting_on, wake_at, started_at, ended_at, exit_reason
		FROM enrollments WHERE lead_id = $1 ORDER BY started_at DESC, id DESC LIMIT 100`, leadID)
	if err != nil {
		return nil, fmt.Errorf("enrollments of lead %d: %w", leadID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Enrollment])
	if err != nil {
		return nil, fmt.Errorf("enrollments of lead %d: %w", leadID, err)
	}
	return out, nil
}
