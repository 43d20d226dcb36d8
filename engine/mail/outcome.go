package mail

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// outcome is a delivered (or outboxed) message to record.
type outcome struct {
	messageID int64
	status    string
	props     map[string]any
	done      chan error
}

// outcomeWriter records the outcomes of sends in groups: the worker whose outcome
// finds no write under way writes every outcome waiting, its own among them, in one
// statement, and the others wait for that commit (group commit). Every send job
// returns only once its outcome is committed, so nothing is acknowledged that a crash
// could lose, and nothing runs in the background.
type outcomeWriter struct {
	mu       sync.Mutex
	waiting  []*outcome
	flushing bool
}

// outcomeTimeout bounds one group's write; it does not follow a job's context, whose
// cancellation must not fail the other jobs of the group.
const outcomeTimeout = 30 * time.Second

func (w *outcomeWriter) record(ctx context.Context, pool *pgxpool.Pool, o outcome) error {
	o.done = make(chan error, 1)
	w.mu.Lock()
	w.waiting = append(w.waiting, &o)
	if w.flushing {
		w.mu.Unlock()
		return <-o.done
	}
	w.flushing = true
	for len(w.waiting) > 0 {
		group := w.waiting
		w.waiting = nil
		w.mu.Unlock()
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), outcomeTimeout)
		err := writeOutcomes(wctx, pool, group)
		cancel()
		for _, x := range group {
			x.done <- err
		}
		w.mu.Lock()
	}
	w.flushing = false
	w.mu.Unlock()
	return <-o.done
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
