package mail_test

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/track"
)

// TestRecordLater hands in opens from many goroutines without waiting for them, and
// checks that Close records every one of them exactly once (the flush on shutdown),
// drops the ones for messages that no longer exist, and refuses hits after it.
func TestRecordLater(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{outbox: true})
	ctx, pool, mailer := b.ctx, b.pool, b.mailer

	const messages, perMessage = 50, 20
	inputs := make([]lead.Input, messages)
	for i := range inputs {
		inputs[i] = lead.Input{Email: fmt.Sprintf("reader%d@example.com", i)}
	}
	_, err := lead.Upsert(ctx, pool, "test", inputs)
	require.NoError(t, err)
	rows, err := pool.Query(ctx, `INSERT INTO messages (lead_id, purpose, template, to_email, message_id, status, attempts, sent_at)
		SELECT id, 'test', 'whitepaper/thanks', email, 'm-' || id || '@example.com', 'sent', 1, now() - interval '1 hour'
		FROM leads RETURNING id`)
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	var gone int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO messages (lead_id, purpose, template, to_email, message_id)
		SELECT id, 'gone', 'whitepaper/thanks', email, 'u@example.com' FROM leads LIMIT 1 RETURNING id`).Scan(&gone))
	_, err = pool.Exec(ctx, `DELETE FROM messages WHERE id = $1`, gone)
	require.NoError(t, err)

	rec := mailer.NewHitRecorder(pool, 1)
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			for range perMessage {
				hit := track.Hit{At: time.Now(), Method: "GET", UserAgent: "Mozilla/5.0", IP: netip.MustParseAddr("203.0.113.9")}
				require.NoError(t, rec.RecordLater(track.Token{Kind: track.Open, MessageID: id}, hit))
			}
		})
	}
	require.NoError(t, rec.RecordLater(track.Token{Kind: track.Open, MessageID: gone}, track.Hit{At: time.Now(), Method: "GET"}))
	wg.Wait()
	rec.Close()

	var opens, ofGone int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE properties->>'message_id' = $1::bigint::text)
		FROM events WHERE type = 'email_opened'`, gone).Scan(&opens, &ofGone))
	require.Equal(t, messages*perMessage, opens, "every hit handed in is recorded by Close")
	require.Zero(t, ofGone, "a hit on a message that no longer exists is dropped")
	require.ErrorIs(t, rec.RecordLater(track.Token{Kind: track.Open, MessageID: ids[0]}, track.Hit{At: time.Now()}), mail.ErrRecorderClosed)
}
