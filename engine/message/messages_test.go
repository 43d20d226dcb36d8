package message

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lang"
	"github.com/nurture-dev/nurture/engine/lang/langtest"
)

// TestMessagesHaveJapanese holds every message the package writes to having a
// Japanese translation: a message added in English only fails here.
func TestMessagesHaveJapanese(t *testing.T) {
	t.Parallel()

	formats, err := langtest.Formats(".", "errorf", "cssErrorf", "lang.New", "lang.Errorf")
	require.NoError(t, err)
	require.Greater(t, len(formats), 15, "the walk finds the package's messages")
	require.Empty(t, langtest.Missing(formats), "messages with no Japanese in messages_ja.go")
}

// TestLimitsAndCSSInJapanese checks that a template over a run's limits and CSS the
// inliner refuses are said in Japanese, as check prints them, and still in English.
func TestLimitsAndCSSInJapanese(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, src, en, ja string
	}{
		{
			name: "TooManySteps", file: "loop.md",
			src: "---\nsubject: 件名\n---\n{{range 1000000}}x{{end}}\n",
			en:  "over the limits of a template run: it does more than 100000 steps",
			ja:  "テンプレートの実行が上限を超えました: 処理が 100000 ステップを超えています",
		},
		{
			name: "CallsItself", file: "self.md",
			src: "---\nsubject: 件名\n---\n{{define \"loop\"}}{{template \"loop\" .}}{{end}}{{template \"loop\" .}}\n",
			en:  `over the limits of a template run: {{template "loop"}} calls itself`,
			ja:  `テンプレートの実行が上限を超えました: {{template "loop"}} が自分自身を呼んでいます`,
		},
		{
			name: "UnsupportedSelector", file: "css.html",
			src: "---\nsubject: 件名\n---\n<html><head><style>\np { margin: 0 }\na[href] { color: red }\n</style></head><body>本文</body></html>\n",
			en:  `css.html:6: selector "a[href]" is not supported by the inliner`,
			ja:  `css.html:6: セレクタ "a[href]" はインライン化できません`,
		},
		{
			name: "Import", file: "import.html",
			src: "---\nsubject: 件名\n---\n<html><head><style>@import url(x.css);</style></head><body>本文</body></html>\n",
			en:  "import.html:4: @import is not supported",
			ja:  "import.html:4: @import は使えません",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, "_layouts/default.html", "<html><body>{{.Body}}</body></html>")
			writeFile(t, dir, tc.file, tc.src)
			_, err := Load(dir)
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Contains(t, e.Error(), tc.en)
			require.Contains(t, e.In(lang.English), tc.en)
			require.Contains(t, e.In(lang.Japanese), tc.ja)
		})
	}
}
