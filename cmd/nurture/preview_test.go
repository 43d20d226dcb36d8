package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/message"
)

// TestPreviewShippedTemplates renders every template in templates/ for a full lead
// and for an empty one, as a marketer previews them, with no database.
func TestPreviewShippedTemplates(t *testing.T) {
	t.Parallel()
	set, err := message.Load("../../templates")
	require.NoError(t, err)
	require.NotEmpty(t, set.Names())
	const full = `{"last_name": "山田", "first_name": "太郎", "company": "サンプル株式会社", "title": "部長",
		"employees": 1200, "attributes": {"業種": "製造"}, "tags": ["seminar"]}`
	for _, name := range set.Names() {
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "p.html")
			stdout, stderr, err := runCommand(t, map[string]string{"NURTURE_TEMPLATES_DIR": "../../templates", "NURTURE_LANG": "ja"},
				"preview", name, "--lead", full, "--out", out)
			require.NoError(t, err, stdout+stderr)
			sections := strings.Split(stdout, "== "+name)
			require.Len(t, sections, 3, "one section for the lead, one for the empty lead:\n%s", stdout)
			for i, file := range []string{out, strings.TrimSuffix(out, ".html") + "-empty.html"} {
				require.Regexp(t, `(?m)^件名: \S`, sections[i+1], "a subject for section %d", i+1)
				require.Contains(t, sections[i+1], "--- テキストパート ---\n")
				html, err := os.ReadFile(file)
				require.NoError(t, err)
				require.Contains(t, string(html), "<html")
			}
			require.NotContains(t, sections[2], "山田", "the empty lead shows no field of the full one")
		})
	}

	t.Run("FallbacksShowForTheEmptyLead", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "p.html")
		stdout, _, err := runCommand(t, map[string]string{"NURTURE_TEMPLATES_DIR": "../../templates"},
			"preview", "templates/whitepaper/thanks.md", "--lead", full, "--out", out)
		require.NoError(t, err)
		lead, empty, ok := strings.Cut(stdout, "for a lead with no fields")
		require.True(t, ok, stdout)
		require.Contains(t, lead, "山田 様")
		require.Contains(t, empty, "ご担当者 様")
		require.Contains(t, lead, "subject: 【資料ダウンロード】")
	})

	t.Run("AnUnknownTemplateIsAUsageError", func(t *testing.T) {
		t.Parallel()
		_, _, err := runCommand(t, map[string]string{"NURTURE_TEMPLATES_DIR": "../../templates", "NURTURE_LANG": "ja"},
			"preview", "whitepaper/thank")
		require.ErrorContains(t, err, `テンプレート "whitepaper/thank" はありません`)
	})
}
