package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/apikey"
	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/sales"
	"github.com/nurture-dev/nurture/web"
)

// salesBundle is a web-only server with the sales hand-off: leads are handed to reps
// by calling the hand-off directly, and its jobs (alerts, SLA checks) are only
// inserted, never worked.
type salesBundle struct {
	*testBundle
	sales  *sales.Sales
	client *queue.Client
}

func setupSales(t *testing.T) *salesBundle {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.New(t)
	require.NoError(t, apikey.Ensure(ctx, pool, apikey.BootstrapName, testKey))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	set, err := message.Load("../templates")
	require.NoError(t, err)
	mailer := mail.New(mail.Config{BaseURL: "http://nurture.test", From: "Marketing <marketing@example.com>",
		Templates: func() *message.Set { return set }, Logger: quiet})
	s, err := sales.New(sales.Config{Pool: pool, Mailer: mailer, Secret: []byte("web-sales-test-secret-0123456789abcdef"),
		BaseURL: "http://nurture.test", Logger: quiet})
	require.NoError(t, err)
	// The workers are registered as serve registers them, and never run: a web-only
	// client inserts jobs and works none.
	workers := queue.NewWorkers()
	river.AddWorker(workers, &mail.SendWorker{Mailer: mailer, Pool: pool})
	s.AddWorkers(workers)
	client, err := queue.New(pool, workers, queue.Config{Role: queue.RoleWeb, Logger: quiet})
	require.NoError(t, err)
	srv := httptest.NewServer(web.New(web.Config{}, web.Deps{Pool: pool, Queue: client, Logger: quiet, Sales: s}).Handler())
	t.Cleanup(srv.Close)
	return &salesBundle{testBundle: &testBundle{ctx: ctx, pool: pool, srv: srv}, sales: s, client: client}
}

func (b *salesBundle) rep(t *testing.T, email, name string) *sales.User {
	t.Helper()
	u, err := sales.AddUser(b.ctx, b.pool, sales.NewUser{Email: email, Name: name, Role: sales.RoleSales})
	require.NoError(t, err)
	return u
}

// handOff makes a lead and hands it to a rep; the rep who gets it is the one whose
// turn it is (round robin), or the lead's owner when it has one.
func (b *salesBundle) handOff(t *testing.T, email string, owner *sales.User) (leadID int64, a *sales.Assignment) {
	t.Helper()
	out, err := lead.Upsert(b.ctx, b.pool, "test", []lead.Input{{Email: email, Company: new("株式会社サンプル")}})
	require.NoError(t, err)
	leadID = out[0].ID
	require.NoError(t, pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error {
		if owner != nil {
			if _, err := lead.SetOwner(b.ctx, tx, leadID, owner.ID); err != nil {
				return err
			}
		}
		a, err = b.sales.Assign(b.ctx, tx, b.client, sales.AssignArgs{LeadID: leadID, Reason: "テスト"})
		return err
	}))
	require.NotNil(t, a)
	return leadID, a
}

func (b *salesBundle) stage(t *testing.T, leadID int64) string {
	t.Helper()
	l, err := lead.FindLeadByID(b.ctx, b.pool, leadID)
	require.NoError(t, err)
	return l.Stage
}

func (b *salesBundle) events(t *testing.T, leadID int64, typ string) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT count(*) FROM events WHERE lead_id = $1 AND type = $2`, leadID, typ).Scan(&n))
	return n
}

func path(leadID int64, action string) string {
	return "/api/v1/leads/" + strconv.FormatInt(leadID, 10) + "/" + action
}

func handoffIDs(t *testing.T, res response) []int64 {
	t.Helper()
	hs, ok := res.Body["handoffs"].([]any)
	require.True(t, ok, "handoffs is a list, never null: %v", res.Body)
	var ids []int64
	for _, h := range hs {
		ids = append(ids, int64(h.(map[string]any)["lead_id"].(float64)))
	}
	return ids
}

func TestSalesAPI(t *testing.T) {
	t.Parallel()

	t.Run("InboxListsTheRepsOpenHandoffsThenAccepted", func(t *testing.T) {
		t.Parallel()
		b := setupSales(t)
		taro := b.rep(t, "taro@example.com", "営業 太郎")
		hanako := b.rep(t, "hanako@example.com", "営業 花子")
		accepted, _ := b.handOff(t, "accepted@client.example", taro)
		waiting, _ := b.handOff(t, "waiting@client.example", taro)
		rejected, _ := b.handOff(t, "rejected@client.example", taro)
		others, _ := b.handOff(t, "others@client.example", hanako)
		require.Equal(t, http.StatusOK, b.post(t, path(accepted, "accept"), `{}`).Status)
		require.Equal(t, http.StatusOK, b.post(t, path(rejected, "reject"), `{"reason": "予算なし"}`).Status)

		for _, ref := range []string{"taro@example.com", "TARO@example.com", strconv.FormatInt(taro.ID, 10)} {
			res := b.do(t, http.MethodGet, "/api/v1/sales/inbox?rep="+url.QueryEscape(ref), testKey, "", "")
			require.Equal(t, http.StatusOK, res.Status, res.Body)
			require.Equal(t, "taro@example.com", res.Body["rep"].(map[string]any)["email"])
			require.Equal(t, []int64{waiting, accepted}, handoffIDs(t, res), "open first, then accepted; never rejected or another rep's")
		}
		res := b.do(t, http.MethodGet, "/api/v1/sales/inbox?rep=hanako@example.com", testKey, "", "")
		require.Equal(t, []int64{others}, handoffIDs(t, res))
		first := res.Body["handoffs"].([]any)[0].(map[string]any)
		require.Equal(t, "株式会社サンプル", first["company"])
		require.Equal(t, "営業 花子", first["user_name"])
		require.NotContains(t, first, "decided_at", "open: not decided")

		nobody := b.rep(t, "nobody@example.com", "新人")
		res = b.do(t, http.MethodGet, "/api/v1/sales/inbox?rep="+strconv.FormatInt(nobody.ID, 10), testKey, "", "")
		require.Equal(t, http.StatusOK, res.Status)
		require.Empty(t, handoffIDs(t, res))
	})

	t.Run("InboxRefusesBadRequests", func(t *testing.T) {
		t.Parallel()
		b := setupSales(t)
		for _, tt := range []struct {
			query, key string
			status     int
		}{
			{"", testKey, http.StatusUnprocessableEntity},
			{"?rep=%20", testKey, http.StatusUnprocessableEntity},
			{"?rep=ghost@example.com", testKey, http.StatusNotFound},
			{"?rep=999999", testKey, http.StatusNotFound},
			{"?rep=ghost@example.com", "", http.StatusUnauthorized},
			{"?rep=ghost@example.com", "wrong-key-0123456789abcdef", http.StatusUnauthorized},
		} {
			res := b.do(t, http.MethodGet, "/api/v1/sales/inbox"+tt.query, tt.key, "", "")
			require.Equal(t, tt.status, res.Status, "%s: %v", tt.query, res.Body)
			require.NotEmpty(t, res.Body["error"])
		}
	})

	t.Run("AcceptMovesTheLeadToSALOnce", func(t *testing.T) {
		t.Parallel()
		b := setupSales(t)
		rep := b.rep(t, "rep@example.com", "営業")
		id, a := b.handOff(t, "accept@client.example", nil)

		res := b.post(t, path(id, "accept"), ``)
		require.Equal(t, http.StatusOK, res.Status, res.Body)
		require.Equal(t, float64(a.ID), res.Body["id"])
		require.Equal(t, "accepted", res.Body["decision"])
		require.Equal(t, "api_key:bootstrap", res.Body["decided_by"])
		require.Equal(t, "sal", res.Body["stage"])
		require.Equal(t, lead.StageSAL, b.stage(t, id))
		l, err := lead.FindLeadByID(b.ctx, b.pool, id)
		require.NoError(t, err)
		require.Equal(t, rep.ID, *l.OwnerID)
		var state string
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT state FROM river_job WHERE kind = 'sales_sla'`).Scan(&state))
		require.Equal(t, "cancelled", state, "no SLA reminder for an accepted lead")

		res = b.post(t, path(id, "accept"), `{}`)
		require.Equal(t, http.StatusConflict, res.Status, "no open hand-off any more")
		require.Contains(t, res.Body["error"], "no hand-off waiting")
		require.Equal(t, 1, b.events(t, id, sales.TypeAccepted))
		require.Equal(t, 1, b.events(t, id, lead.TypeStageChanged))
	})

	t.Run("RejectNeedsAReasonAndRecyclesTheLead", func(t *testing.T) {
		t.Parallel()
		b := setupSales(t)
		b.rep(t, "rep@example.com", "営業")
		id, _ := b.handOff(t, "reject@client.example", nil)

		for _, body := range []string{`{}`, `{"reason": ""}`, `{"reason": "   "}`} {
			res := b.post(t, path(id, "reject"), body)
			require.Equal(t, http.StatusUnprocessableEntity, res.Status, "%s: %v", body, res.Body)
			require.Equal(t, "reason", res.Body["field"])
		}
		res := b.post(t, path(id, "reject"), `{"reason": "予算なし", "note": "x"}`)
		require.Equal(t, http.StatusBadRequest, res.Status, "unknown fields are refused")
		res = b.do(t, http.MethodPost, path(id, "reject"), testKey, "text/plain", `reason=予算なし`)
		require.Equal(t, http.StatusUnsupportedMediaType, res.Status)
		require.Zero(t, b.events(t, id, sales.TypeRejected), "nothing refused changed anything")
		require.Equal(t, lead.StageInquiry, b.stage(t, id))

		res = b.post(t, path(id, "reject"), `{"reason": "競合製品を導入済み"}`)
		require.Equal(t, http.StatusOK, res.Status, res.Body)
		require.Equal(t, "rejected", res.Body["decision"])
		require.Equal(t, "競合製品を導入済み", res.Body["reject_reason"])
		require.Equal(t, lead.StageRecycled, b.stage(t, id))
		l, err := lead.FindLeadByID(b.ctx, b.pool, id)
		require.NoError(t, err)
		require.Nil(t, l.OwnerID, "back to nurturing: no owner")

		res = b.post(t, path(id, "reject"), `{"reason": "もう一度"}`)
		require.Equal(t, http.StatusConflict, res.Status)
		require.Equal(t, 1, b.events(t, id, sales.TypeRejected))
	})

	t.Run("NoOpenHandoffIsAConflict", func(t *testing.T) {
		t.Parallel()
		b := setupSales(t)
		out, err := lead.Upsert(b.ctx, b.pool, "test", []lead.Input{{Email: "never@client.example"}})
		require.NoError(t, err)
		for _, action := range []string{"accept", "reject"} {
			res := b.post(t, path(out[0].ID, action), `{"reason": "x"}`)
			require.Equal(t, http.StatusConflict, res.Status, "%s: %v", action, res.Body)
		}
		res := b.post(t, path(999999, "accept"), `{}`)
		require.Equal(t, http.StatusConflict, res.Status, "no lead, no hand-off")
		res = b.post(t, "/api/v1/leads/abc/accept", `{}`)
		require.Equal(t, http.StatusNotFound, res.Status)
		res = b.do(t, http.MethodPost, path(out[0].ID, "accept"), "", "application/json", `{}`)
		require.Equal(t, http.StatusUnauthorized, res.Status)
		require.Equal(t, lead.StageInquiry, b.stage(t, out[0].ID))
	})

	t.Run("ExpiredLinkShowsAPageAndChangesNothing", func(t *testing.T) {
		t.Parallel()
		b := setupSales(t)
		b.rep(t, "rep@example.com", "営業")
		id, a := b.handOff(t, "late@client.example", nil)
		expired := b.srv.URL + "/s/" + b.sales.SignToken(sales.Token{AssignmentID: a.ID, Expires: time.Now().Add(-time.Minute)})
		valid := b.srv.URL + "/s/" + b.sales.SignToken(sales.Token{AssignmentID: a.ID, Expires: time.Now().Add(time.Hour)})

		resp, err := http.Get(expired)
		require.NoError(t, err)
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusGone, resp.StatusCode)
		require.Contains(t, string(page), "有効期限が切れています")
		require.NotContains(t, string(page), "受け付ける", "no buttons on an expired link")
		require.Contains(t, resp.Header.Get("Cache-Control"), "no-store")

		resp, err = http.PostForm(expired, url.Values{"action": {"accept"}})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusGone, resp.StatusCode)
		require.Equal(t, lead.StageInquiry, b.stage(t, id), "an expired link accepts nothing")
		require.Zero(t, b.events(t, id, sales.TypeAccepted))

		// The same hand-off through a link still valid: the page, with its buttons.
		resp, err = http.Get(valid)
		require.NoError(t, err)
		page, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, string(page), "受け付ける")

		// A tampered token is no page at all.
		flip := "A"
		if strings.HasSuffix(valid, "A") {
			flip = "B"
		}
		tampered := valid[:len(valid)-1] + flip
		resp, err = http.Get(tampered)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}
