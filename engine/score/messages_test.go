package score_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lang/langtest"
)

// TestMessagesHaveJapanese holds every message the package writes about a scoring
// model and its tests to having a Japanese translation: a message added in English
// only fails here.
func TestMessagesHaveJapanese(t *testing.T) {
	t.Parallel()

	formats, err := langtest.Formats(".", "errorAt", "problem", "scenario.Errorf", "Errorf", "lang.New", "lang.Errorf")
	require.NoError(t, err)
	require.Greater(t, len(formats), 30, "the walk finds the package's messages")
	require.Empty(t, langtest.Missing(formats), "messages with no Japanese in messages_ja.go")
}
