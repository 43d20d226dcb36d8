package mail

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-dev/nurture/engine/lead"
)

// Blocked says why a lead may not be mailed (unsubscribed, consent denied, its
// address suppressed), or "" when it may. Scenarios ask before every step; the send
// worker asks again at send time.
func Blocked(ctx context.Context, tx pgx.Tx, l *lead.Lead) (string, error) {
	return blocked(ctx, tx, l)
}

// BlockedLeads says, for each of the leads that may not be mailed, why.
func BlockedLeads(ctx context.Context, db lead.DB, ids []int64) (map[int64]string, error) {
	rows, err := db.Query(ctx, `SELECT id, reason FROM (SELECT l.id, `+blockedSQL+` AS reason FROM leads l WHERE l.id = ANY($1)) x
		WHERE reason <> ''`, ids)
	if err != nil {
		return nil, fmt.Errorf("blocked leads: %w", err)
	}
	out := map[int64]string{}
	var id int64
	var reason string
	_, err = pgx.ForEachRow(rows, []any{&id, &reason}, func() error {
		out[id] = reason
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blocked leads: %w", err)
	}
	return out, nil
}
