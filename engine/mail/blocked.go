package mail

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-dev/nurture/engine/lead"
)

// Blocked says why a lead may not be mailed (unsubscribed, consent denied, its
// address suppressed), or "" when it may. Scenarios ask before every step; the send
// worker asks again at send time.
func Blocked(ctx context.Context, tx pgx.Tx, l *lead.Lead) (string, error) {
	return blocked(ctx, tx, l)
}
