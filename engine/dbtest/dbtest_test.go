package dbtest_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestNew(t *testing.T) {
	t.Parallel()

	t.Run("MigratedAndOwnedByARoleThatIsNotSuperuser", func(t *testing.T) {
		t.Parallel()
		if os.Getenv(dbtest.EnvURL) != "" {
			t.Skip("the role is the one of " + dbtest.EnvURL)
		}
		pool := dbtest.New(t)
		ctx := context.Background()

		var super bool
		require.NoError(t, pool.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super))
		require.False(t, super, "tests connect as nurture does, without superuser rights")

		// Every table of the migrations (nurture's and River's) belongs to that role, so
		// that later migrations may alter them.
		var foreign int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relowner <> current_user::regrole`).Scan(&foreign))
		require.Zero(t, foreign)
		var tables int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('leads', 'river_job')`).Scan(&tables))
		require.Equal(t, 2, tables)
	})
}
