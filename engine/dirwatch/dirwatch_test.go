package dirwatch

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStamp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, data string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
	stamp := func() [32]byte {
		s, err := Stamp(dir)
		require.NoError(t, err)
		return s
	}
	write("a.yaml", "one")
	seen := map[[32]byte]string{stamp(): "start"}
	for _, change := range []struct {
		name string
		do   func()
	}{
		{"a file written", func() { write("a.yaml", "two!") }},
		{"a file added", func() { write("b.yaml", "x") }},
		{"a file in a folder added", func() { write("sub/c.md", "x") }},
		{"a file in a folder written", func() { write("sub/c.md", "xy") }},
		{"a file removed", func() { require.NoError(t, os.Remove(filepath.Join(dir, "b.yaml"))) }},
		{"a file renamed", func() { require.NoError(t, os.Rename(filepath.Join(dir, "a.yaml"), filepath.Join(dir, "z.yaml"))) }},
	} {
		change.do()
		s := stamp()
		require.NotContains(t, seen, s, "%s changes the stamp (seen at %s)", change.name, seen[s])
		seen[s] = change.name
		require.Equal(t, s, stamp(), "the stamp of an unchanged folder is the same")
	}
	_, err := Stamp(filepath.Join(dir, "gone"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestWatchReloadsOnceSettled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("one"), 0o644))
	var loaded atomic.Value
	first, err := Stamp(dir)
	require.NoError(t, err)
	loaded.Store(first)
	var reloads atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go Watch(ctx, dir, 10*time.Millisecond, func() [32]byte { return loaded.Load().([32]byte) }, func() {
		reloads.Add(1)
		s, _ := Stamp(dir)
		loaded.Store(s)
	})
	time.Sleep(50 * time.Millisecond)
	require.Zero(t, reloads.Load(), "nothing changed")

	// Written whole (renamed into place), so that no tick sees it half-written.
	tmp := filepath.Join(t.TempDir(), "a.yaml")
	require.NoError(t, os.WriteFile(tmp, []byte("two!"), 0o644))
	require.NoError(t, os.Rename(tmp, filepath.Join(dir, "a.yaml")))
	require.Eventually(t, func() bool { return reloads.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	require.Equal(t, int32(1), reloads.Load(), "one change, one reload")
}

// TestWatchSettlesAfterASlowReload changes the folder while a reload is still running,
// longer than an interval: the change is read only after it has stayed the same for
// an interval from the end of that reload, not at the first look after it.
func TestWatchSettlesAfterASlowReload(t *testing.T) {
	t.Parallel()
	const every = 50 * time.Millisecond
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("one"), 0o644))
	var loaded atomic.Value
	loaded.Store([32]byte{}) // nothing loaded yet: the first look that settles reloads
	reloading, finish := make(chan struct{}), make(chan struct{})
	reloaded := make(chan time.Time, 2)
	var reloads atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go Watch(ctx, dir, every, func() [32]byte { return loaded.Load().([32]byte) }, func() {
		s, _ := Stamp(dir)
		loaded.Store(s)
		if reloads.Add(1) == 1 {
			close(reloading)
			<-finish
		}
		reloaded <- time.Now()
	})

	<-reloading
	tmp := filepath.Join(t.TempDir(), "a.yaml")
	require.NoError(t, os.WriteFile(tmp, []byte("two!"), 0o644))
	require.NoError(t, os.Rename(tmp, filepath.Join(dir, "a.yaml")))
	time.Sleep(3 * every) // the reload runs on past a few looks' time
	close(finish)
	first := <-reloaded
	var second time.Time
	select {
	case second = <-reloaded:
	case <-time.After(5 * time.Second):
		t.Fatal("the change made during the reload was not reloaded")
	}
	require.GreaterOrEqual(t, second.Sub(first), every, "the change stayed the same for an interval before it was read")
}
