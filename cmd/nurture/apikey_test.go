package main

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
)

func TestAPIKeyCommand(t *testing.T) {
	t.Parallel()

	t.Run("CreatesListsAndRevokes", func(t *testing.T) {
		t.Parallel()
		vars := map[string]string{"NURTURE_DATABASE_URL": dbtest.NewURL(t)}
		stdout, stderr, err := runCommand(t, vars, "apikey", "create", "--name", "crm-sync")
		require.NoError(t, err, stderr)
		secret := strings.TrimSpace(stdout)
		require.Regexp(t, `^nk_[A-Za-z0-9_-]{43}$`, secret, "stdout is the key alone, for scripts")
		require.Contains(t, stderr, `created API key 1 "crm-sync"; it is not shown again`)

		stdout, _, err = runCommand(t, vars, "apikey", "create")
		require.NoError(t, err)
		require.NotEqual(t, secret, strings.TrimSpace(stdout))

		stdout, _, err = runCommand(t, vars, "apikey", "list")
		require.NoError(t, err)
		require.Regexp(t, `(?m)^ID +NAME +CREATED +LAST USED +STATUS\n1 +crm-sync +\S+ \S+ +never +active\n2 +key-2 +.* active\n$`, stdout)
		require.NotContains(t, stdout, secret, "a secret is never listed")

		stdout, _, err = runCommand(t, vars, "apikey", "revoke", "1")
		require.NoError(t, err)
		require.Equal(t, "revoked API key 1 \"crm-sync\"\n", stdout)
		stdout, _, err = runCommand(t, vars, "apikey", "revoke", "1")
		require.NoError(t, err, "revoking twice is harmless")
		require.Contains(t, stdout, "was revoked already")
		stdout, _, err = runCommand(t, vars, "apikey", "list")
		require.NoError(t, err)
		require.Regexp(t, `(?m)^1 +crm-sync .* revoked \S+ \S+$`, stdout)

		_, _, err = runCommand(t, vars, "apikey", "revoke", "99")
		require.ErrorContains(t, err, "no API key has ID 99")
		require.Equal(t, 1, exitCode(io.Discard, err))
	})

	t.Run("RefusesBadCommandLines", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			args []string
			want string
		}{
			{"NoSubcommand", []string{"apikey"}, "needs a subcommand"},
			{"UnknownSubcommand", []string{"apikey", "delete", "1"}, `unknown apikey subcommand "delete"`},
			{"RevokeWithoutID", []string{"apikey", "revoke"}, "takes one key ID"},
			{"RevokeByName", []string{"apikey", "revoke", "crm-sync"}, `"crm-sync" is not a key ID`},
			{"CreateWithArgument", []string{"apikey", "create", "crm-sync"}, "use --name"},
		}
		for _, tt := range tests {
			_, _, err := runCommand(t, nil, tt.args...)
			require.ErrorContains(t, err, tt.want, tt.name)
			require.Equal(t, 2, exitCode(io.Discard, err), tt.name)
		}
		for _, args := range [][]string{{"apikey", "--help"}, {"help", "apikey"}, {"apikey", "create", "--help"}} {
			_, stderr, err := runCommand(t, nil, args...)
			require.ErrorIs(t, err, flagErrHelp(), args)
			require.Contains(t, stderr, "Usage: nurture apikey", args)
		}
	})

	t.Run("RevokedBootstrapKeyStaysRevokedAcrossRestarts", func(t *testing.T) {
		t.Parallel()
		vars := map[string]string{"NURTURE_DATABASE_URL": dbtest.NewURL(t), "NURTURE_API_KEY": testAPIKey}
		srv := startServer(t, vars)
		status, _ := srv.request(t, "GET", "/api/v1/leads/1", "")
		require.Equal(t, 404, status, "the bootstrap key works")
		require.NoError(t, srv.stop())

		stdout, _, err := runCommand(t, vars, "apikey", "list")
		require.NoError(t, err)
		id := regexp.MustCompile(`(?m)^(\d+) +bootstrap `).FindStringSubmatch(stdout)
		require.NotNil(t, id, stdout)
		_, _, err = runCommand(t, vars, "apikey", "revoke", id[1])
		require.NoError(t, err)

		srv = startServer(t, vars)
		status, body := srv.request(t, "GET", "/api/v1/leads/1", "")
		require.Equal(t, 401, status, "a restart did not bring the key back: %v", body)
		require.Contains(t, srv.logs.String(), "NURTURE_API_KEY was revoked and stays revoked")

		vars["NURTURE_API_KEY"] = "rotated-key-0123456789abcdef"
		require.NoError(t, srv.stop())
		srv = startServer(t, vars)
		status, _ = srv.requestWithKey(t, "rotated-key-0123456789abcdef", "GET", "/api/v1/leads/1", "")
		require.Equal(t, 404, status, "a new NURTURE_API_KEY replaces the revoked one")
	})
}
