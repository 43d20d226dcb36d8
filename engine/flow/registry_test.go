package flow_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/flow"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/testlog"
)

func TestRegistryWatchesTheFolder(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pool := dbtest.New(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "watched.yaml")
	const v1 = "trigger: { event: manual }\nsteps:\n  - send: course/day1\n"
	require.NoError(t, os.WriteFile(file, []byte(v1), 0o644))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var logs testlog.Buffer
	e := flow.New(flow.Config{Pool: pool, ScenariosDir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		WatchInterval: 20 * time.Millisecond})
	require.NoError(t, e.Load(ctx))
	first := e.Registry().Get("watched")
	require.NotNil(t, first)

	client, err := queue.New(pool, queue.NewWorkers(), queue.Config{Role: queue.RoleWeb, Logger: quiet})
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() { _ = e.Run(ctx, client) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	// An edit is picked up without a restart or a signal.
	require.NoError(t, writeWhole(file, v1+"  - wait: 1d\n  - send: course/day2\n"))
	require.Eventually(t, func() bool {
		s := e.Registry().Get("watched")
		return s != nil && s.Version != first.Version && len(s.Steps) == 3
	}, 5*time.Second, 20*time.Millisecond)
	second := e.Registry().Get("watched")

	// A broken edit is refused: the last good version keeps running.
	require.NoError(t, writeWhole(file, v1+"  - wiat: 1d\n"))
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "scenario refused") }, 5*time.Second, 20*time.Millisecond,
		"the watcher read the broken file")
	require.Contains(t, logs.String(), `unknown key \"wiat\"`)
	require.Equal(t, second.Version, e.Registry().Get("watched").Version)

	// Every version is kept, so enrollments on an old one can finish after a restart.
	var versions int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM scenario_versions WHERE scenario_id = 'watched'`).Scan(&versions))
	require.Equal(t, 2, versions)
	// A process that starts while the file is broken runs its last good version.
	restarted := flow.New(flow.Config{Pool: pool, ScenariosDir: dir, Logger: quiet})
	require.Error(t, restarted.Load(ctx))
	require.NotNil(t, restarted.Registry().Get("watched"))
	require.Equal(t, second.Version, restarted.Registry().Get("watched").Version)

	fresh := flow.New(flow.Config{Pool: pool, ScenariosDir: t.TempDir(), Logger: quiet})
	old, err := fresh.Registry().Version(ctx, pool, "watched", first.Version)
	require.NoError(t, err)
	require.Len(t, old.Steps, 1)
}

// writeWhole replaces a file at once (a temporary file renamed), so that a watcher
// never reads it half-written, however slow the machine.
func writeWhole(path, data string) error {
	tmp := path + ".tmp~"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// TestRegistryRefusesHostileFiles reloads a folder holding the files that once took
// serve down next to a good one: each is refused, within hangBound and 100 MB, and
// the good scenario runs.
func TestRegistryRefusesHostileFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	dir := t.TempDir()
	hostile, err := filepath.Glob("../../cmd/nurture/testdata/hostile/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, hostile)
	for _, file := range hostile {
		src, err := os.ReadFile(file)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(file)), src, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "good.yaml"), []byte("trigger: { event: manual }\nsteps:\n  - send: course/day1\n"), 0o644))
	e := flow.New(flow.Config{Pool: pool, ScenariosDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	err = e.Load(ctx)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	require.Error(t, err)
	for _, file := range hostile {
		require.Contains(t, err.Error(), filepath.Join(dir, filepath.Base(file))+":")
	}
	t.Logf("refused in %s", took)
	require.Less(t, took, hangBound)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(100<<20))
	require.Len(t, e.Registry().Current(), 1)
	require.NotNil(t, e.Registry().Get("good"))
}
