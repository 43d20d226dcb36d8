package mail

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5/pgconn"
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
// rendered, and records their email_sent events (alert_sent for internal mail, which
// is not the lead's; none for a digest, which is about no one lead), in one statement. A message
// recorded already, or twice in the group (a job run twice at once), gets one event.
//
// Every message of the group has gone out: a failed write would have every one of
// their jobs send again. So the rows are updated in ID order, the order in which the
// hit recorder locks them, and a deadlock or serialization failure is tried again.
func writeOutcomes(ctx context.Context, pool *pgxpool.Pool, group []*outcome) error {
	group = slices.Clone(group)
	slices.SortStableFunc(group, func(a, b *outcome) int { return cmp.Compare(a.p.ID, b.p.ID) })
	group = slices.CompactFunc(group, func(a, b *outcome) bool { return a.p.ID == b.p.ID })
	n := len(group)
	ids, attempts, sets := make([]int64, n), make([]int32, n), make([]int64, n)
	statuses, subjects, emails, htmls, texts, props := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, o := range group {
		p := o.p
		e := map[string]any{"message_id": p.ID, "template": p.Template, "subject": p.Rendered.Subject}
		if p.Internal {
			e["to"] = p.To
		}
		if o.status == StatusOutbox {
			e["outbox"] = true
		}
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		ids[i], attempts[i], sets[i] = p.ID, int32(o.attempt), p.LinkSet
		statuses[i], subjects[i], emails[i], htmls[i], texts[i], props[i] = o.status, p.Rendered.Subject, p.recipient(), o.html, o.text, string(b)
	}
	const q = `WITH o AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
			AS o(id, status, attempts, link_set, subject, email, html, text, props)),
		u AS (UPDATE messages m SET status = o.status, sent_at = now(), error = '', attempts = o.attempts, link_set_id = nullif(o.link_set, 0),
				subject = o.subject, to_email = o.email, html = o.html, text_body = o.text
			FROM o WHERE m.id = o.id AND m.status = 'queued' RETURNING m.id, m.lead_id, m.internal)
		INSERT INTO events (lead_id, type, properties)
		SELECT u.lead_id, CASE WHEN u.internal THEN 'alert_sent' ELSE 'email_sent' END, o.props::jsonb FROM u JOIN o ON o.id = u.id
		WHERE u.lead_id IS NOT NULL`
	for attempt := 1; ; attempt++ {
		_, err := pool.Exec(ctx, q, ids, statuses, attempts, sets, subjects, emails, htmls, texts, props)
		var pgErr *pgconn.PgError
		if err == nil {
			return nil
		}
		if attempt == 5 || !errors.As(err, &pgErr) || (pgErr.Code != "40P01" && pgErr.Code != "40001") {
			return fmt.Errorf("record %d sends: %w", n, err)
		}
	}
}
