package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/sales"
	"github.com/nurture-dev/nurture/engine/session"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type testBundle struct {
	ctx  context.Context
	pool *pgxpool.Pool
	user *sales.User
	now  time.Time
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.New(t)
	u, err := sales.AddUser(ctx, pool, sales.NewUser{Email: "a@example.co.jp", Name: "管理者", Role: sales.RoleAdmin, Password: "correct horse battery"})
	require.NoError(t, err)
	return &testBundle{ctx: ctx, pool: pool, user: u, now: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
}

func TestSession(t *testing.T) {
	t.Parallel()
	cfg := session.Config{Idle: time.Hour, Lifetime: 3 * time.Hour}

	t.Run("FoundUntilIdleThenGone", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		secret, s, err := session.Create(b.ctx, b.pool, cfg, b.user.ID, "192.0.2.1", "test", b.now)
		require.NoError(t, err)
		require.Len(t, s.CSRFToken, 43)
		got, err := session.Find(b.ctx, b.pool, cfg, secret, b.now.Add(59*time.Minute))
		require.NoError(t, err)
		require.Equal(t, b.user.ID, got.UserID)
		require.True(t, got.CheckCSRF(s.CSRFToken))
		require.False(t, got.CheckCSRF(""))
		require.False(t, got.CheckCSRF(s.CSRFToken[1:]))
		// Used at 59 minutes, it lives another hour from then.
		_, err = session.Find(b.ctx, b.pool, cfg, secret, b.now.Add(118*time.Minute))
		require.NoError(t, err)
		_, err = session.Find(b.ctx, b.pool, cfg, secret, b.now.Add(177*time.Minute))
		require.NoError(t, err)
		// However used, it ends at its lifetime.
		_, err = session.Find(b.ctx, b.pool, cfg, secret, b.now.Add(3*time.Hour))
		require.ErrorIs(t, err, session.ErrNotFound)
		_, err = session.Find(b.ctx, b.pool, cfg, "not a session", b.now)
		require.ErrorIs(t, err, session.ErrNotFound)
	})

	t.Run("IdleSessionEnds", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		secret, _, err := session.Create(b.ctx, b.pool, cfg, b.user.ID, "", "", b.now)
		require.NoError(t, err)
		_, err = session.Find(b.ctx, b.pool, cfg, secret, b.now.Add(time.Hour))
		require.ErrorIs(t, err, session.ErrNotFound)
		n, err := session.DeleteExpired(b.ctx, b.pool, b.now.Add(time.Hour))
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
	})

	t.Run("EndOthersKeepsOne", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		keep, ks, err := session.Create(b.ctx, b.pool, cfg, b.user.ID, "", "", b.now)
		require.NoError(t, err)
		other, _, err := session.Create(b.ctx, b.pool, cfg, b.user.ID, "", "", b.now)
		require.NoError(t, err)
		require.NoError(t, pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error {
			n, err := session.EndOthers(b.ctx, tx, b.user.ID, ks.Hash)
			require.EqualValues(t, 1, n)
			return err
		}))
		_, err = session.Find(b.ctx, b.pool, cfg, keep, b.now)
		require.NoError(t, err)
		_, err = session.Find(b.ctx, b.pool, cfg, other, b.now)
		require.ErrorIs(t, err, session.ErrNotFound)
		require.NoError(t, session.Delete(b.ctx, b.pool, keep))
		_, err = session.Find(b.ctx, b.pool, cfg, keep, b.now)
		require.ErrorIs(t, err, session.ErrNotFound)
	})
}
