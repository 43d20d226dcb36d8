package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/sales"
	"github.com/nurture-dev/nurture/engine/session"
	"github.com/nurture-dev/nurture/engine/testlog"
)

func TestUserCommand(t *testing.T) {
	t.Parallel()

	t.Run("AddsListsAndDisables", func(t *testing.T) {
		t.Parallel()
		url := dbtest.NewURL(t)
		vars := map[string]string{"NURTURE_DATABASE_URL": url}
		stdout, stderr, err := runCommand(t, vars, "user", "add", "--email", "Boss@Example.com", "--name", "部長", "--role", "admin")
		require.NoError(t, err, stderr)
		require.Equal(t, "added user 1 Boss@Example.com (admin)\n", stdout)

		// The password comes from stdin, and is never printed.
		const password = "correct horse battery staple"
		var out, errOut testlog.Buffer
		c := &cli{stdin: strings.NewReader(password + "\n"), stdout: &out, stderr: &errOut, getenv: env(vars)}
		err = c.run(context.Background(), []string{"user", "add", "--email", "rep@example.com", "--name", "営業 太郎",
			"--role", "sales", "--manager", "boss@example.com", "--territory", `lead.country == "JP"`, "--capacity", "5", "--password-stdin"})
		require.NoError(t, err, errOut.String())
		require.NotContains(t, out.String()+errOut.String(), password)

		stdout, _, err = runCommand(t, vars, "user", "list")
		require.NoError(t, err)
		require.Regexp(t, `(?m)^ID +EMAIL +NAME +ROLE +MANAGER +TERRITORY +CAPACITY +LOGIN +STATUS$`, stdout)
		require.Regexp(t, `(?m)^1 +Boss@Example.com +部長 +admin +- +- +- +no +active$`, stdout)
		require.Regexp(t, `(?m)^2 +rep@example.com +営業 太郎 +sales +Boss@Example.com +lead.country == "JP" +5 +yes +active$`, stdout)
		require.NotContains(t, stdout, "argon2id", "no hash is listed")

		stdout, _, err = runCommand(t, vars, "user", "disable", "--email", "REP@example.com")
		require.NoError(t, err)
		require.Contains(t, stdout, "disabled user 2 rep@example.com")
		stdout, _, err = runCommand(t, vars, "user", "disable", "--email", "rep@example.com")
		require.NoError(t, err, "disabling twice is harmless")
		require.Contains(t, stdout, "was disabled already")
		stdout, _, err = runCommand(t, vars, "user", "list")
		require.NoError(t, err)
		require.Regexp(t, `(?m)^2 +rep@example.com .* disabled \S+ \S+$`, stdout)
	})

	t.Run("PasswdEndsTheUsersSessions", func(t *testing.T) {
		t.Parallel()
		url := dbtest.NewURL(t)
		vars := map[string]string{"NURTURE_DATABASE_URL": url}
		_, stderr, err := runCommand(t, vars, "user", "add", "--email", "boss@example.com", "--name", "部長", "--role", "admin")
		require.NoError(t, err, stderr)
		ctx := context.Background()
		pool, err := pgxpool.New(ctx, url)
		require.NoError(t, err)
		defer pool.Close()
		for range 2 {
			_, _, err := session.Create(ctx, pool, session.Config{}, 1, "", "", time.Now())
			require.NoError(t, err)
		}

		passwd := func(stdin string) (string, error) {
			var out, errOut testlog.Buffer
			c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: env(vars)}
			err := c.run(ctx, []string{"user", "passwd", "--email", "BOSS@example.com", "--password-stdin"})
			return out.String() + errOut.String(), err
		}
		_, err = passwd("short\n")
		require.ErrorContains(t, err, "at least 12 characters")
		out, err := passwd("a long new password\n")
		require.NoError(t, err, out)
		require.Contains(t, out, "set the password of user 1 boss@example.com; ended 2 console sessions\n")
		require.NotContains(t, out, "a long new password")
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM sessions`).Scan(&n))
		require.Zero(t, n)
		_, err = sales.Authenticate(ctx, pool, "boss@example.com", "a long new password")
		require.NoError(t, err)

		_, _, err = runCommand(t, vars, "user", "passwd", "--email", "boss@example.com")
		require.ErrorContains(t, err, "needs --email and --password-stdin")
	})

	t.Run("RefusesBadInput", func(t *testing.T) {
		t.Parallel()
		vars := map[string]string{"NURTURE_DATABASE_URL": dbtest.NewURL(t)}
		tests := []struct {
			name string
			args []string
			want string
		}{
			{"NoSubcommand", []string{"user"}, "needs a subcommand"},
			{"MissingFlags", []string{"user", "add", "--email", "a@example.com"}, "needs --email, --name and --role"},
			{"BadRole", []string{"user", "add", "--email", "a@example.com", "--name", "A", "--role", "boss"}, "role: must be admin, marketer or sales"},
			{"BadTerritory", []string{"user", "add", "--email", "a@example.com", "--name", "A", "--role", "sales", "--territory", "lead.country =="}, "territory"},
			{"UnknownManager", []string{"user", "add", "--email", "a@example.com", "--name", "A", "--role", "sales", "--manager", "x@example.com"}, "no user has the email"},
			{"DisableUnknown", []string{"user", "disable", "--email", "x@example.com"}, "no user has the email"},
		}
		for _, tt := range tests {
			_, _, err := runCommand(t, vars, tt.args...)
			require.ErrorContains(t, err, tt.want, tt.name)
		}
	})
}
