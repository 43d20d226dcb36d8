package lead_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lead"
)

func TestSearchLeads(t *testing.T) {
	t.Parallel()

	t.Run("PagesThroughTiesOnce", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var in []lead.Input
		for i := range 7 {
			in = append(in, lead.Input{Email: fmt.Sprintf("l%d@example.co.jp", i), LastName: ptr("鈴木")})
		}
		b.upsert(t, in...)
		// Equal scores and equal creation times: the ID breaks the tie.
		_, err := b.pool.Exec(b.ctx, `UPDATE leads SET score = CASE WHEN id % 2 = 0 THEN 10 ELSE 20 END, created_at = '2026-04-01'`)
		require.NoError(t, err)
		for _, sort := range []string{lead.SortScore, lead.SortCreated} {
			seen := map[int64]bool{}
			after := ""
			pages := 0
			for {
				p, err := lead.SearchLeads(b.ctx, b.pool, lead.Search{Text: "鈴木", Sort: sort, After: after, Limit: 3})
				require.NoError(t, err)
				pages++
				for _, l := range p.Leads {
					require.False(t, seen[l.ID], "%s: lead %d twice", sort, l.ID)
					seen[l.ID] = true
				}
				if after = p.Next; after == "" {
					break
				}
			}
			require.Len(t, seen, 7, sort)
			require.Equal(t, 3, pages, sort)
		}
	})

	t.Run("RefusesWhatIsNotAllowed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, s := range []lead.Search{{Sort: "score;DROP TABLE leads"}, {Stage: "x"}, {Grade: "lukewarm"}, {After: "!!"}} {
			_, err := lead.SearchLeads(b.ctx, b.pool, s)
			var fe *lead.FieldError
			require.ErrorAs(t, err, &fe, "%+v", s)
		}
	})
}
