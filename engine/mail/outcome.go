package mail

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// outcome is a delivered (or outboxed) message to record.
type outcome struct {
	messageID int64
	status    string
	props     map[string]any
}

// writeOutcomes marks the messages sent (or kept in the outbox) and records their
// email_sent events, in one statement.
func writeOutcomes(ctx context.Context, pool *pgxpool.Pool, group []*outcome) error {
	ids := make([]int64, len(group))
	statuses := make([]string, len(group))
	props := make([]string, len(group))
	for i, o := range group {
		b, err := json.Marshal(o.props)
		if err != nil {
			return err
		}
		ids[i], statuses[i], props[i] = o.messageID, o.status, string(b)
	}
	_, err := pool.Exec(ctx, `WITH o AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) AS o(id, status, props)),
		u AS (UPDATE messages m SET status = o.status, sent_at = now(), error = '' FROM o WHERE m.id = o.id RETURNING m.id, m.lead_id)
		INSERT INTO events (lead_id, type, properties) SELECT u.lead_id, 'email_sent', o.props::jsonb FROM u JOIN o ON o.id = u.id`,
		ids, statuses, props)
	if err != nil {
		return fmt.Errorf("record %d sends: %w", len(group), err)
	}
	return nil
}
