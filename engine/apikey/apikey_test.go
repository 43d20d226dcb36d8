package apikey_test

import (
	"context"
	"fmt"
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
		created, secret, err := apikey.Create(ctx, pool, "crm-sync")
		require.NoError(t, err)
		require.Equal(t, "crm-sync", created.Name)
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

	t.Run("RevokedBootstrapKeyStaysRevoked", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		const secret = "leaked-secret-0123456789"
		require.NoError(t, apikey.Ensure(ctx, pool, apikey.BootstrapName, secret))
		require.NoError(t, apikey.Revoke(ctx, pool, apikey.BootstrapName))

		// What serve does at every start-up.
		require.ErrorIs(t, apikey.Ensure(ctx, pool, apikey.BootstrapName, secret), apikey.ErrRevoked)
		_, err := apikey.Verify(ctx, pool, secret)
		require.ErrorIs(t, err, apikey.ErrInvalid, "a restart does not undo the revocation")

		// A new secret is a rotation, and works.
		require.NoError(t, apikey.Ensure(ctx, pool, apikey.BootstrapName, "fresh-secret-0123456789"))
		_, err = apikey.Verify(ctx, pool, "fresh-secret-0123456789")
		require.NoError(t, err)
		_, err = apikey.Verify(ctx, pool, secret)
		require.ErrorIs(t, err, apikey.ErrInvalid)
	})

	t.Run("ListsAndRevokesByID", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		require.NoError(t, apikey.Ensure(ctx, pool, apikey.BootstrapName, "bootstrap-secret-0123456789"))
		named, _, err := apikey.Create(ctx, pool, "crm-sync")
		require.NoError(t, err)
		unnamed, secret, err := apikey.Create(ctx, pool, "")
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("key-%d", unnamed.ID), unnamed.Name)
		_, _, err = apikey.Create(ctx, pool, "crm-sync")
		require.ErrorContains(t, err, "exists already")
		_, _, err = apikey.Create(ctx, pool, "Bootstrap")
		require.ErrorContains(t, err, "kept for NURTURE_API_KEY")

		keys, err := apikey.List(ctx, pool)
		require.NoError(t, err)
		require.Len(t, keys, 3)
		require.Equal(t, []string{apikey.BootstrapName, "crm-sync", unnamed.Name}, []string{keys[0].Name, keys[1].Name, keys[2].Name})
		for _, k := range keys {
			require.Nil(t, k.RevokedAt)
		}

		k, err := apikey.RevokeByID(ctx, pool, unnamed.ID)
		require.NoError(t, err)
		require.NotNil(t, k.RevokedAt)
		again, err := apikey.RevokeByID(ctx, pool, unnamed.ID)
		require.ErrorIs(t, err, apikey.ErrRevoked)
		require.Equal(t, *k.RevokedAt, *again.RevokedAt, "revoking twice keeps the first time")
		_, err = apikey.Verify(ctx, pool, secret)
		require.ErrorIs(t, err, apikey.ErrInvalid)
		_, err = apikey.RevokeByID(ctx, pool, named.ID+100)
		require.ErrorIs(t, err, apikey.ErrNotFound)
	})
}
