package main

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCheckRefusesHostileFiles runs `nurture check` on each file of
// testdata/hostile, files that once took the server or check down: each is refused
// with its position, within hangBound (a second is the target, logged) and 100 MB.
func TestCheckRefusesHostileFiles(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"repeat-bomb.yaml":         `repeat-bomb\.yaml:4:11: if does not compile: repeat\(\) cannot be used in a condition`,
		"doubling-text.yaml":       `doubling-text\.yaml:4:3: exit_if does not compile: the condition needs more than its budget: more than 1048576 bytes of text made`,
		"nested-loops.yaml":        `nested-loops\.yaml:3:7: goal does not compile: the condition needs more than its budget: more than 10000 loop iterations`,
		"deep-flow.yaml":           `deep-flow\.yaml:3:27: lists and mappings are nested more than 20 levels deep here`,
		"deep-flow-mappings.yaml":  `deep-flow-mappings\.yaml:2:81: lists and mappings are nested more than 20 levels deep here`,
		"deep-block.yaml":          `deep-block\.yaml:3:41: lists and mappings are nested more than 20 levels deep here`,
		"deep-block-mappings.yaml": `deep-block-mappings\.yaml:22:41: lists and mappings are nested more than 20 levels deep here`,
		"oversized.yaml":           `oversized\.yaml:1:1: the file is larger than 262144 bytes`,
	}
	files, err := filepath.Glob("testdata/hostile/*.yaml")
	require.NoError(t, err)
	require.Len(t, files, len(want))
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			// Not parallel: the allocation measured is the whole process's.
			vars := map[string]string{"NURTURE_TEMPLATES_DIR": "../../templates"}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			stdout, _, err := runCommand(t, vars, "check", file)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, errRejected)
			require.Regexp(t, want[filepath.Base(file)], stdout)
			t.Logf("refused in %s", took)
			require.Less(t, took, hangBound)
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(100<<20))
		})
	}
}
