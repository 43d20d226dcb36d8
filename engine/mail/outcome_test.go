package mail

import (
	"context"
	"errors"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/message"
)

// TestARecordedSendStaysRecorded checks the two ways a message run twice at once (a
// job rescued while its first run still works) could be recorded wrongly: its send
// recorded twice in one batch, and a failed late run undoing the recorded send,
// which would have the next retry mail it again.
func TestARecordedSendStaysRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	out, err := lead.Upsert(ctx, pool, "test", []lead.Input{{Email: "twice@example.com"}})
	require.NoError(t, err)
	var id int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO messages (lead_id, purpose, template, to_email, message_id)
		VALUES ($1, 'test', 'whitepaper/thanks', 'twice@example.com', 'twice@example.com') RETURNING id`, out[0].ID).Scan(&id))
	p := &pending{ID: id, LeadID: out[0].ID, Template: "whitepaper/thanks", Lead: &lead.Lead{Email: "twice@example.com"},
		Rendered: &message.Rendered{Subject: "件名"}}

	require.NoError(t, writeOutcomes(ctx, pool, []*outcome{{p: p, attempt: 1, status: StatusSent}, {p: p, attempt: 2, status: StatusSent}}))
	count := func(sql string) (n int) {
		require.NoError(t, pool.QueryRow(ctx, sql, id).Scan(&n))
		return n
	}
	require.Equal(t, 1, count(`SELECT count(*) FROM events WHERE type = 'email_sent' AND properties->>'message_id' = $1::bigint::text`))

	job := &river.Job[SendArgs]{JobRow: &rivertype.JobRow{Attempt: 2, MaxAttempts: 12}, Args: SendArgs{MessageID: id}}
	for _, status := range []string{StatusQueued, StatusFailed, StatusBounced} {
		_, err := recordAttempt(ctx, pool, job, p, status, errors.New("451 try again"))
		require.NoError(t, err)
		var got, errText string
		require.NoError(t, pool.QueryRow(ctx, `SELECT status, error FROM messages WHERE id = $1`, id).Scan(&got, &errText))
		require.Equal(t, StatusSent, got, "a late run's %s does not undo the send", status)
		require.Empty(t, errText)
	}
}
