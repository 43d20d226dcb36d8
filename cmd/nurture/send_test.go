package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/mail/mailtest"
)

func TestSendCommand(t *testing.T) {
	t.Parallel()

	t.Run("SendsThroughSMTP", func(t *testing.T) {
		t.Parallel()
		smtp := mailtest.NewServer(t)
		vars := map[string]string{"NURTURE_DATABASE_URL": dbtest.NewURL(t), "NURTURE_SMTP_URL": smtp.URL(),
			"NURTURE_TEMPLATES_DIR": "../../templates", "NURTURE_DATA_DIR": t.TempDir()}
		stdout, stderr, err := runCommand(t, vars, "send", "--template", "whitepaper/thanks", "--to", "marketer@example.co.jp")
		require.NoError(t, err, stderr)
		require.Contains(t, stdout, "sent whitepaper/thanks to marketer@example.co.jp")
		msgs := smtp.Wait(t, 1, 5*time.Second)
		require.Equal(t, []string{"marketer@example.co.jp"}, msgs[0].To)

		// A second test send is a new message, not a duplicate refused.
		_, stderr, err = runCommand(t, vars, "send", "--template", "whitepaper/thanks", "--to", "marketer@example.co.jp")
		require.NoError(t, err, stderr)
		smtp.Wait(t, 2, 5*time.Second)
	})

	t.Run("KeepsMailInTheOutboxWithoutSMTP", func(t *testing.T) {
		t.Parallel()
		vars := map[string]string{"NURTURE_DATABASE_URL": dbtest.NewURL(t), "NURTURE_TEMPLATES_DIR": "../../templates",
			"NURTURE_DATA_DIR": t.TempDir()}
		stdout, stderr, err := runCommand(t, vars, "send", "--template", "whitepaper/thanks", "--to", "a@example.com")
		require.NoError(t, err, stderr)
		require.Contains(t, stdout, "in the outbox")
		require.Contains(t, stderr, "OUTBOX MODE")
	})

	t.Run("RefusesAnUnknownTemplate", func(t *testing.T) {
		t.Parallel()
		vars := map[string]string{"NURTURE_DATABASE_URL": dbtest.NewURL(t), "NURTURE_TEMPLATES_DIR": "../../templates",
			"NURTURE_DATA_DIR": t.TempDir()}
		_, _, err := runCommand(t, vars, "send", "--template", "nope/nothing", "--to", "a@example.com")
		require.ErrorContains(t, err, `no template "nope/nothing"`)
	})
}

func TestCheckCommand(t *testing.T) {
	t.Parallel()
	stdout, _, err := runCommand(t, nil, "check", "../../templates")
	require.NoError(t, err, stdout)
	require.Contains(t, stdout, "0 problems")

	stdout, _, err = runCommand(t, nil, "check", "../../engine/message/testdata/broken")
	require.ErrorIs(t, err, errRejected)
	require.Regexp(t, `testdata/broken/\S+:\d+(:\d+)?: `, stdout, "problems name file:line")
	require.True(t, strings.Count(stdout, "\n") > 3, stdout)
}
