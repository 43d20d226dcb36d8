package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCheckRefusesHostileTemplates runs check on the hostile templates of the
// message package: it finishes, and names each file with its problem.
func TestCheckRefusesHostileTemplates(t *testing.T) {
	t.Parallel()
	const dir = "../../engine/message/testdata/hostile"
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	start := time.Now()
	stdout, _, err := runCommand(t, map[string]string{"NURTURE_SCENARIOS_DIR": t.TempDir()}, "check", dir)
	require.Error(t, err, stdout)
	require.Less(t, time.Since(start), 30*time.Second)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		require.Regexp(t, `(?m)^`+dir+`/`+strings.ReplaceAll(e.Name(), ".", `\.`)+`:.*over the limits of a template run`, stdout)
	}
	require.Contains(t, stdout, dir+"/_layouts/nested_range.html:")
	require.Contains(t, stdout, ": 0 templates good, ")
}
