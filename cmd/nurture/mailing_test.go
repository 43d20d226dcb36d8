package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReloadTemplates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, src string) {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	layout, err := os.ReadFile("../../templates/_layouts/default.html")
	require.NoError(t, err)
	write("_layouts/default.html", string(layout))
	write("a/first.md", "---\nsubject: 一通目\n---\nこんにちは\n")
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
