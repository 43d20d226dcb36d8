package schema_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/schema"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	t.Run("UpOnAnEmptyDatabaseTwiceFromManyProcesses", func(t *testing.T) {
		t.Parallel()
		pool := emptyDatabase(t)

		// Processes starting together must not trip over each other.
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { errs[i] = schema.Migrate(ctx, pool, quiet) })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		require.NoError(t, schema.Migrate(ctx, pool, quiet))

		current, latest, err := schema.Version(ctx, pool)
		require.NoError(t, err)
		require.Equal(t, latest, current)
		require.Positive(t, latest)

		for _, table := range []string{"leads", "events", "api_keys", "river_job", "river_leader"} {
			var n int
			require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n), table)
		}
	})

	t.Run("EmailIsUniqueWhateverItsCase", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		_, err := pool.Exec(ctx, "INSERT INTO leads (email) VALUES ('Taro@Example.com')")
		require.NoError(t, err)
		_, err = pool.Exec(ctx, "INSERT INTO leads (email) VALUES ('taro@example.COM')")
		require.ErrorContains(t, err, "leads_email_key")
	})
}

// emptyDatabase is a fresh database with no schema at all: a test database with every
// table dropped.
func emptyDatabase(t *testing.T) *pgxpool.Pool {
	pool := dbtest.New(t)
	_, err := pool.Exec(context.Background(), "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
	require.NoError(t, err)
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n))
	require.Zero(t, n)
	return pool
}
