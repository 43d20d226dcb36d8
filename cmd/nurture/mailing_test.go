package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/testlog"
)

// templateFolder makes a templates folder with the shipped layout and the template
// a/first, and returns it with a function that writes a file into it.
func templateFolder(t *testing.T) (string, func(name, src string)) {
	t.Helper()
	dir := t.TempDir()
	// Files are written whole (a temporary file renamed), so that the watcher never
	// sees one half-written, however slow the machine.
	write := func(name, src string) {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755))
		tmp := filepath.Join(t.TempDir(), "tmp")
		require.NoError(t, os.WriteFile(tmp, []byte(src), 0o644))
		require.NoError(t, os.Rename(tmp, filepath.Join(dir, name)))
	}
	layout, err := os.ReadFile("../../templates/_layouts/default.html")
	require.NoError(t, err)
	write("_layouts/default.html", string(layout))
	write("a/first.md", "---\nsubject: 一通目\n---\nこんにちは\n")
	return dir, write
}

func TestReloadTemplates(t *testing.T) {
	t.Parallel()
	dir, write := templateFolder(t)
	cfg := Config{TemplatesDir: dir, DataDir: t.TempDir(), Secret: "reload-test-secret-0123456789abcdef"}
	mg, err := openMailing(&cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	require.False(t, mg.Templates().Has("a/second"))

	write("a/second.md", "---\nsubject: 二通目\n---\nこんにちは\n")
	require.NoError(t, mg.reloadTemplates())
	require.True(t, mg.Templates().Has("a/second"), "a new template is there after a reload")

	write("a/second.md", "---\nsubject: 二通目\n---\n{{.Lead.Nope}}\n")
	require.Error(t, mg.reloadTemplates())
	require.True(t, mg.Templates().Has("a/second"), "a broken folder is refused and the set before stays")
}

func TestWatchTemplates(t *testing.T) {
	t.Parallel()
	dir, write := templateFolder(t)
	cfg := Config{TemplatesDir: dir, DataDir: t.TempDir(), Secret: "reload-test-secret-0123456789abcdef"}
	var logs testlog.Buffer
	mg, err := openMailing(&cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go mg.watchTemplates(ctx, 20*time.Millisecond)
	subject := func() string {
		r, err := mg.Templates().Render("a/first", message.Data{})
		require.NoError(t, err)
		return r.Subject
	}

	write("a/first.md", "---\nsubject: 書き直した件名\n---\nこんにちは\n")
	require.Eventually(t, func() bool { return subject() == "書き直した件名" }, 5*time.Second, 10*time.Millisecond,
		"an edited template is used without a restart")

	write("a/first.md", "---\nsubject: 壊れた件名 {{.Lead.Nope}}\n---\nこんにちは\n")
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "templates refused") }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, "書き直した件名", subject(), "a broken edit is refused and the set before stays")
	refusals := strings.Count(logs.String(), "templates refused")
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, refusals, strings.Count(logs.String(), "templates refused"), "a refused folder is not read again until it changes")
}
