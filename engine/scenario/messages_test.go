package scenario_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lang/langtest"
)

// TestMessagesHaveJapanese holds every message the package writes to having a
// Japanese translation: a message added in English only fails here.
func TestMessagesHaveJapanese(t *testing.T) {
	t.Parallel()

	formats, err := langtest.Formats(".", "errorAt", "errorf", "warnAt", "warnf", "Errorf", "lang.New", "lang.Errorf", "errors.New", "bad")
	require.NoError(t, err)
	require.Greater(t, len(formats), 50, "the walk finds the package's messages")
	require.Empty(t, langtest.Missing(formats), "messages with no Japanese in messages_ja.go")

	phrases, err := langtest.Phrases(".", "object", "text", "integer", "boolean", "list", "texts", "duration", "checkID")
	require.NoError(t, err)
	require.NotEmpty(t, phrases)
	require.Empty(t, langtest.Missing(phrases), "phrases put into messages with no Japanese in messages_ja.go")
}
