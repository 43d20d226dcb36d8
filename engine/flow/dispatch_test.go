package flow_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lead"
)

const welcome = `
id: welcome
trigger: { event: form_submitted }
steps:
  - wait: 1w
`

// quarantined is the row an event set aside has, or nil.
type quarantined struct {
	LeadID    int64
	Type      string
	Attempts  int
	LastError string
}

func (b *testBundle) quarantined(t *testing.T, eventID int64) *quarantined {
	t.Helper()
	var q quarantined
	err := b.pool.QueryRow(b.ctx, `SELECT lead_id, type, attempts, last_error FROM event_quarantine WHERE event_id = $1`, eventID).
		Scan(&q.LeadID, &q.Type, &q.Attempts, &q.LastError)
	if err == pgx.ErrNoRows {
		return nil
	}
	require.NoError(t, err)
	return &q
}

// submitEvent records a form submission and returns the lead's and the event's IDs.
func (b *testBundle) submitEvent(t *testing.T, db lead.DB, email string) (int64, int64) {
	t.Helper()
	out, ev, err := lead.RecordClientEvent(b.ctx, db, "test", lead.Input{Email: email},
		lead.ClientEvent{Type: lead.TypeFormSubmitted, Properties: map[string]any{"form": "whitepaper"}}, time.Now())
	require.NoError(t, err)
	return out.ID, ev.ID
}

func TestDispatchQuarantine(t *testing.T) {
	t.Parallel()

	t.Run("SetsAsideAnEventThatKeepsFailing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"welcome.yaml": welcome})
		// Enrolling this lead fails in the database, every time.
		_, err := b.pool.Exec(b.ctx, `
			CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF EXISTS (SELECT 1 FROM leads WHERE id = NEW.lead_id AND email = 'poison@example.com') THEN
					RAISE EXCEPTION 'poisoned lead';
				END IF;
				RETURN NEW;
			END $$;
			CREATE TRIGGER poison BEFORE INSERT ON enrollments FOR EACH ROW EXECUTE FUNCTION poison();`)
		require.NoError(t, err)

		poisonLead, poisonEvent := b.submitEvent(t, b.pool, "poison@example.com")
		goodLead, _ := b.submitEvent(t, b.pool, "good@example.com")

		require.Eventually(t, func() bool {
			return b.quarantined(t, poisonEvent) != nil && len(b.enrollments(t, goodLead)) == 1
		}, 10*time.Second, 20*time.Millisecond)
		q := b.quarantined(t, poisonEvent)
		require.Equal(t, quarantined{LeadID: poisonLead, Type: lead.TypeFormSubmitted, Attempts: 5}, quarantined{q.LeadID, q.Type, q.Attempts, ""})
		require.Contains(t, q.LastError, "poisoned lead")
		require.Empty(t, b.enrollments(t, poisonLead))

		// Later events still flow.
		laterLead, _ := b.submitEvent(t, b.pool, "later@example.com")
		require.Eventually(t, func() bool { return len(b.enrollments(t, laterLead)) == 1 }, 10*time.Second, 20*time.Millisecond)
	})

	t.Run("SetsAsideAnEventThatTookTheProcessDown", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"welcome.yaml": welcome})
		// An event whose every try so far ended the process: its tries were counted
		// before they were made, and no error came back.
		var crashLead, crashEvent int64
		require.NoError(t, pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error {
			crashLead, crashEvent = b.submitEvent(t, tx, "crash@example.com")
			_, err := tx.Exec(b.ctx, `UPDATE event_queue SET attempts = 5 WHERE event_id = $1`, crashEvent)
			return err
		}))
		goodLead, _ := b.submitEvent(t, b.pool, "good@example.com")

		require.Eventually(t, func() bool {
			return b.quarantined(t, crashEvent) != nil && len(b.enrollments(t, goodLead)) == 1
		}, 10*time.Second, 20*time.Millisecond)
		require.Equal(t, &quarantined{LeadID: crashLead, Type: lead.TypeFormSubmitted, Attempts: 5,
			LastError: "its dispatch never finished: the process may have stopped while dispatching it"}, b.quarantined(t, crashEvent))
		require.Empty(t, b.enrollments(t, crashLead))
	})

	t.Run("RetriesAnEventThatFailedOnceAlone", func(t *testing.T) {
		t.Parallel()
		b := setup(t, map[string]string{"welcome.yaml": welcome})
		// The first try of this lead's enrollment fails, the next works (a sequence
		// counts tries, as it is not rolled back with them).
		_, err := b.pool.Exec(b.ctx, `
			CREATE SEQUENCE tries;
			CREATE FUNCTION trip() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF nextval('tries') = 1 THEN
					RAISE EXCEPTION 'tripped once';
				END IF;
				RETURN NEW;
			END $$;
			CREATE TRIGGER trip BEFORE INSERT ON enrollments FOR EACH ROW EXECUTE FUNCTION trip();`)
		require.NoError(t, err)
		leadID, eventID := b.submitEvent(t, b.pool, "flaky@example.com")
		require.Eventually(t, func() bool { return len(b.enrollments(t, leadID)) == 1 }, 10*time.Second, 20*time.Millisecond)
		require.Nil(t, b.quarantined(t, eventID))
	})
}
