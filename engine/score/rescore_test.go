package score_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/score"
)

func TestResum(t *testing.T) {
	t.Parallel()

	t.Run("LosesNoPointsAddedWhileItRuns", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		pool := dbtest.New(t)
		m, err := score.Parse("scoring.yaml", []byte("behavior:\n  - { on: email_opened, points: 3 }\n"))
		require.NoError(t, err)
		const leads = 200
		_, err = pool.Exec(ctx, `INSERT INTO leads (email) SELECT 'r' || g || '@example.com' FROM generate_series(1, $1::int) g`, leads)
		require.NoError(t, err)
		_, err = pool.Exec(ctx, `INSERT INTO score_ledger (lead_id, kind, rule, awarded, points, at)
			SELECT id, 'behavior', 'email_opened', 3, 3, now() FROM leads, generate_series(1, 5)`)
		require.NoError(t, err)
		// Each round re-values the ledger, so that the re-sum rewrites every lead,
		// while writers add points to the same leads as the dispatcher does: a
		// ledger row and lead.AddPoints in one transaction.
		for round := range 3 {
			v := float64(4 + round)
			_, err := pool.Exec(ctx, `UPDATE score_ledger SET points = $1`, v)
			require.NoError(t, err)
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					for i := range 25 {
						id := int64(1 + (w*25+i*7)%leads)
						err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
							if _, err := tx.Exec(ctx, `INSERT INTO score_ledger (lead_id, kind, rule, awarded, points, at)
								VALUES ($1, 'behavior', 'email_opened', $2, $2, now())`, id, v); err != nil {
								return err
							}
							_, err := lead.AddPoints(ctx, tx, id, lead.PointsChange{Behavior: v, At: time.Now(), Grades: m.Grades})
							return err
						})
						require.NoError(t, err)
					}
				})
			}
			_, err = score.Resum(ctx, pool, m, time.Now())
			require.NoError(t, err)
			wg.Wait()
			var wrong int
			require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM leads l
				JOIN (SELECT lead_id, sum(points) AS points FROM score_ledger GROUP BY lead_id) s ON s.lead_id = l.id
				WHERE abs(l.behavior_score - s.points) > 0.001 OR l.score <> round(s.points)`).Scan(&wrong))
			require.Zero(t, wrong, "round %d: leads whose score is not their ledger's", round)
		}
	})
}
