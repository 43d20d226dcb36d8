package web_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStageAPI(t *testing.T) {
	t.Parallel()

	// create makes a lead through the API and returns its ID.
	create := func(t *testing.T, b *testBundle, email string) string {
		t.Helper()
		res := b.do(t, "POST", "/api/v1/leads", testKey, "application/json", `{"email": "`+email+`", "last_name": "山田"}`)
		require.Equal(t, http.StatusCreated, res.Status, res.Body)
		return strconv.FormatInt(int64(res.Body["id"].(float64)), 10)
	}
	stage := func(t *testing.T, b *testBundle, id, body string) response {
		t.Helper()
		return b.do(t, "POST", "/api/v1/leads/"+id+"/stage", testKey, "application/json", body)
	}

	t.Run("AllowedMovesAreRecordedWithWhoAndWhy", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := create(t, b, "stage@example.co.jp")
		for _, to := range []string{"mql", "sal", "sql", "won"} {
			res := stage(t, b, id, `{"stage": "`+to+`", "reason": "商談化"}`)
			require.Equal(t, http.StatusOK, res.Status, res.Body)
			require.Equal(t, to, res.Body["stage"])
		}
		res := b.do(t, "GET", "/api/v1/leads/"+id, testKey, "", "")
		require.Empty(t, res.Body["next_stages"], "won is the end")
		var n int
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT count(*) FROM events WHERE lead_id = $1 AND type = 'stage_changed'
			AND properties->>'by' = 'api_key:bootstrap' AND properties->>'reason' = '商談化'`, id).Scan(&n))
		require.Equal(t, 4, n)
	})

	t.Run("RefusedMovesNameTheAllowedOnes", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := create(t, b, "refused@example.co.jp")
		for _, tc := range []struct{ body, field, want string }{
			{`{"stage": "won"}`, "stage", "a lead at inquiry cannot move to won; it may move to mql, sal, sgl, lost, recycled"},
			{`{"stage": "hot"}`, "stage", `"hot" is not a stage`},
			{`{"stage": "recycled"}`, "reason", "is required to move a lead to recycled"},
			{`{}`, "stage", "stage: is required"},
		} {
			res := stage(t, b, id, tc.body)
			require.Equal(t, http.StatusUnprocessableEntity, res.Status, tc.body)
			require.Equal(t, tc.field, res.Body["field"])
			require.Contains(t, res.Body["error"], tc.want)
		}
		require.Equal(t, http.StatusNotFound, stage(t, b, "999999", `{"stage": "mql"}`).Status)
		require.Equal(t, http.StatusUnauthorized, b.do(t, "POST", "/api/v1/leads/"+id+"/stage", "", "application/json", `{"stage": "mql"}`).Status)
	})

	t.Run("BANTMergesThroughTheLeadAPI", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		create(t, b, "bant@example.co.jp")
		res := b.do(t, "POST", "/api/v1/leads", testKey, "application/json", `{"email": "bant@example.co.jp", "bant": {"budget": "500万円", "authority": "部長決裁"}}`)
		require.Equal(t, http.StatusOK, res.Status, res.Body)
		res = b.do(t, "POST", "/api/v1/leads", testKey, "application/json", `{"email": "bant@example.co.jp", "bant": {"need": "勤怠管理の刷新", "timeframe": "2027年4月", "authority": null}}`)
		require.Equal(t, http.StatusOK, res.Status, res.Body)
		require.Equal(t, map[string]any{"budget": "500万円", "need": "勤怠管理の刷新", "timeframe": "2027年4月", "authority": ""}, res.Body["bant"])
		res = b.do(t, "POST", "/api/v1/leads", testKey, "application/json", `{"email": "bant@example.co.jp", "bant": {"price": "x"}}`)
		require.Equal(t, http.StatusUnprocessableEntity, res.Status)
		require.Equal(t, "bant", res.Body["field"])
	})

	t.Run("TheFunnelCountsStagesAndConversions", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		a, c := create(t, b, "a@example.co.jp"), create(t, b, "c@example.co.jp")
		create(t, b, "d@example.co.jp")
		for _, to := range []string{"mql", "sal"} {
			require.Equal(t, http.StatusOK, stage(t, b, a, `{"stage": "`+to+`"}`).Status)
		}
		require.Equal(t, http.StatusOK, stage(t, b, c, `{"stage": "mql"}`).Status)
		res := b.do(t, "GET", "/api/v1/funnel", testKey, "", "")
		require.Equal(t, http.StatusOK, res.Status, res.Body)
		require.EqualValues(t, 3, res.Body["total"])
		stages := map[string]map[string]any{}
		for _, s := range res.Body["stages"].([]any) {
			m := s.(map[string]any)
			stages[m["stage"].(string)] = m
		}
		require.EqualValues(t, 1, stages["inquiry"]["current"])
		require.EqualValues(t, 3, stages["inquiry"]["entered"])
		require.EqualValues(t, 2, stages["mql"]["entered"])
		require.EqualValues(t, 1, stages["sal"]["current"])
		require.NotNil(t, stages["inquiry"]["median_days_in_stage"])
		first := res.Body["conversions"].([]any)[0].(map[string]any)
		require.Equal(t, "inquiry", first["from"])
		require.InDelta(t, 2.0/3, first["rate"], 0.001)
		require.Equal(t, http.StatusBadRequest, b.do(t, "GET", "/api/v1/funnel?from=yesterday", testKey, "", "").Status)
	})
}
