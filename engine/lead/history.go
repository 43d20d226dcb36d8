package lead

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// History answers what a lead did before, for conditions (visited, submitted,
// opened_count…): each question is one query over the lead's events, on the
// (lead_id, type, occurred_at) index.
type History struct {
	ctx    context.Context
	db     DB
	leadID int64
}

// NewHistory is the history of a lead, read through db (a pool or the caller's
// transaction, which then sees its own writes).
func NewHistory(ctx context.Context, db DB, leadID int64) *History {
	return &History{ctx: ctx, db: db, leadID: leadID}
}

// Count counts the lead's events of kind since a time (zero: ever): page visits whose
// URL contains match, form submissions of the form match ("" for any), and opens and
// clicks made by a person.
func (h *History) Count(kind, match string, since time.Time) (int, error) {
	var cond string
	args := []any{h.leadID, kind, since}
	switch kind {
	case TypePageVisited:
		cond = `AND properties->>'url' LIKE '%' || $4 || '%' ESCAPE '\'`
		args = append(args, likeEscaper.Replace(match))
	case TypeFormSubmitted:
		if match != "" {
			cond = `AND properties->>'form' = $4`
			args = append(args, match)
		}
	case "email_opened", "email_clicked":
		cond = `AND properties->>'verdict' = 'human'`
	default:
		return 0, fmt.Errorf("no history of %s", kind)
	}
	var n int
	err := h.db.QueryRow(h.ctx, `SELECT count(*) FROM events WHERE lead_id = $1 AND type = $2 AND occurred_at >= $3 `+cond, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("history of lead %d: %w", h.leadID, err)
	}
	return n, nil
}

// likeEscaper makes text match itself in a LIKE pattern.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
