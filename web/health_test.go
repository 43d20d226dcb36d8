package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/apikey"
	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/web"
)

// queueCounter counts the queries that read the job table's backlog.
type queueCounter struct{ n atomic.Int64 }

func (q *queueCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "FROM river_job WHERE state = 'available'") {
		q.n.Add(1)
	}
	return ctx
}

func (q *queueCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

type healthBundle struct {
	*testBundle
	queries *queueCounter
	server  *web.Server
}

// setupHealth is a server whose pool counts backlog queries, checking health every
// interval.
func setupHealth(t *testing.T, interval time.Duration) *healthBundle {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dbtest.NewURL(t))
	require.NoError(t, err)
	queries := &queueCounter{}
	cfg.ConnConfig.Tracer = queries
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, apikey.Ensure(ctx, pool, apikey.BootstrapName, testKey))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	client, err := queue.New(pool, queue.NewWorkers(), queue.Config{Role: queue.RoleWeb, Logger: quiet})
	require.NoError(t, err)
	s := web.New(web.Config{HealthInterval: interval}, web.Deps{Pool: pool, Queue: client, Logger: quiet})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, s.Shutdown(ctx))
	})
	return &healthBundle{testBundle: &testBundle{ctx: ctx, pool: pool, srv: srv}, queries: queries, server: s}
}

func TestHealth(t *testing.T) {
	t.Parallel()

	t.Run("AnswersFromTheLatestCheckNotTheDatabase", func(t *testing.T) {
		t.Parallel()
		b := setupHealth(t, time.Hour)
		for i := range 50 {
			key := ""
			if i%2 == 0 {
				key = testKey
			}
			res := b.do(t, http.MethodGet, "/healthz", key, "", "")
			require.Equal(t, http.StatusOK, res.Status, res.Body)
			require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
		}
		require.Equal(t, int64(1), b.queries.n.Load(), "50 requests, one look at the job table")
	})

	t.Run("RefreshesInTheBackground", func(t *testing.T) {
		t.Parallel()
		b := setupHealth(t, 10*time.Millisecond)
		require.Equal(t, http.StatusOK, b.do(t, http.MethodGet, "/healthz", "", "", "").Status)
		require.Eventually(t, func() bool { return b.queries.n.Load() >= 3 }, 10*time.Second, 5*time.Millisecond,
			"checks go on with no request")

		b.pool.Close()
		require.Eventually(t, func() bool {
			res, err := http.Get(b.srv.URL + "/healthz")
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == http.StatusServiceUnavailable
		}, 10*time.Second, 5*time.Millisecond, "the next check saw the database go")
		res := b.do(t, http.MethodGet, "/healthz", "", "", "")
		require.Equal(t, http.StatusServiceUnavailable, res.Status)
		require.Equal(t, map[string]any{"status": "unavailable", "database": map[string]any{"ok": false},
			"queue": map[string]any{"ok": false}}, res.Body)
	})

	t.Run("ShowsDetailsOnlyWithAnAPIKey", func(t *testing.T) {
		t.Parallel()
		b := setupHealth(t, time.Hour)
		res := b.do(t, http.MethodGet, "/healthz", "", "", "")
		require.Equal(t, http.StatusOK, res.Status, res.Body)
		require.Equal(t, map[string]any{"status": "ok", "database": map[string]any{"ok": true},
			"queue": map[string]any{"ok": true}}, res.Body, "the public answer says only whether it works")

		res = b.do(t, http.MethodGet, "/healthz", testKey, "", "")
		require.Equal(t, http.StatusOK, res.Status, res.Body)
		require.Equal(t, "ok", res.Body["status"])
		db := res.Body["database"].(map[string]any)
		require.Equal(t, true, db["ok"])
		require.Contains(t, db, "latency_ms")
		q := res.Body["queue"].(map[string]any)
		require.Equal(t, map[string]any{"ok": true, "working": false, "available": float64(0), "oldest_seconds": float64(0)}, q)

		res = b.do(t, http.MethodGet, "/healthz", "wrong-key-0123456789", "", "")
		require.Equal(t, http.StatusUnauthorized, res.Status, "a wrong key is refused, not shown the public answer")
	})
}
