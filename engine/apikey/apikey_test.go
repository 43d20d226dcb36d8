package apikey_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/apikey"
	"github.com/nurture-dev/nurture/engine/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestAPIKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CreatedKeyVerifiesUntilRevoked", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		secret, err := apikey.Create(ctx, pool, "crm-sync")
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(secret, "nk_"))
		k, err := apikey.Verify(ctx, pool, secret)
		require.NoError(t, err)
		require.Equal(t, "crm-sync", k.Name)

		var stored []byte
		require.NoError(t, pool.QueryRow(ctx, "SELECT hash FROM api_keys WHERE name = 'crm-sync'").Scan(&stored))
		require.NotContains(t, string(stored), secret, "only a hash is stored")
		var used bool
		require.NoError(t, pool.QueryRow(ctx, "SELECT last_used_at IS NOT NULL FROM api_keys").Scan(&used))
		require.True(t, used)

		_, err = apikey.Verify(ctx, pool, secret+"x")
		require.ErrorIs(t, err, apikey.ErrInvalid)
		require.NoError(t, apikey.Revoke(ctx, pool, "crm-sync"))
		_, err = apikey.Verify(ctx, pool, secret)
		require.ErrorIs(t, err, apikey.ErrInvalid)
	})

	t.Run("EnsureRotatesTheBootstrapKey", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		require.Error(t, apikey.Ensure(ctx, pool, apikey.BootstrapName, "short"))
		require.NoError(t, apikey.Ensure(ctx, pool, apikey.BootstrapName, "first-secret-0123456789"))
		_, err := apikey.Verify(ctx, pool, "first-secret-0123456789")
		require.NoError(t, err)
		require.NoError(t, apikey.Ensure(ctx, pool, apikey.BootstrapName, "second-secret-0123456789"))
		_, err = apikey.Verify(ctx, pool, "first-secret-0123456789")
		require.ErrorIs(t, err, apikey.ErrInvalid)
		_, err = apikey.Verify(ctx, pool, "second-secret-0123456789")
		require.NoError(t, err)
	})
}
