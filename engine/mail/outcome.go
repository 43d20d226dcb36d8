package mail

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// outcome is a delivered (or outboxed) message to record.
type outcome struct {
	p          *pending
	attempt    int
	status     string
	html, text string // kept for the outbox only
}

// writeOutcomes marks the messages sent (or kept in the outbox), with what was
// rendered, and records their email_sent events, in one statement. A message
// recorded already (a job run twice at once) gets no second event.
func writeOutcomes(ctx context.Context, pool *pgxpool.Pool, group []*outcome) error {
	n := len(group)
	ids, attempts, sets := make([]int64, n), make([]int32, n), make([]int64, n)
	statuses, subjects, emails, htmls, texts, props := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, o := range group {
		p := o.p
		e := map[string]any{"message_id": p.ID, "template": p.Template, "subject": p.Rendered.Subject}
		if o.status == StatusOutbox {
			e["outbox"] = true
		}
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		ids[i], attempts[i], sets[i] = p.ID, int32(o.attempt), p.LinkSet
		statuses[i], subjects[i], emails[i], htmls[i], texts[i], props[i] = o.status, p.Rendered.Subject, p.Lead.Email, o.html, o.text, string(b)
	}
	_, err := pool.Exec(ctx, `WITH o AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
			AS o(id, status, attempts, link_set, subject, email, html, text, props)),
		u AS (UPDATE messages m SET status = o.status, sent_at = now(), error = '', attempts = o.attempts, link_set_id = nullif(o.link_set, 0),
				subject = o.subject, to_email = o.email, html = o.html, text_body = o.text
			FROM o WHERE m.id = o.id AND m.status = 'queued' RETURNING m.id, m.lead_id)
		INSERT INTO events (lead_id, type, properties) SELECT u.lead_id, 'email_sent', o.props::jsonb FROM u JOIN o ON o.id = u.id`,
		ids, statuses, attempts, sets, subjects, emails, htmls, texts, props)
	if err != nil {
		return fmt.Errorf("record %d sends: %w", n, err)
	}
	return nil
}
