package message

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseFrontMatterRefusesBeforeParsing(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, fm, msg string
		line, column  int
	}{
		// 40 KB of this took the YAML parser 2 s and 665 MB.
		{"Large", "subject: hello\npreheader: " + strings.Repeat("あ", 3000) + "\n",
			"the front matter is larger than 8192 bytes; it holds a subject and a few other keys", 2, 1},
		{"DeepFlow", "subject: " + strings.Repeat("[", 4000) + "\n",
			"front matter: lists and mappings are nested more than 20 levels deep here; it holds a subject and a few other keys", 2, 29},
		{"DeepBlock", "subject: x\nfrom:\n" + strings.Repeat("- ", 30) + "x\n",
			"front matter: lists and mappings are nested more than 20 levels deep here", 4, 39},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := "---\n" + tt.fm + "---\nbody\n"
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := parseFrontMatter("t.md", src)
			require.Less(t, time.Since(start), 100*time.Millisecond)
			runtime.ReadMemStats(&after)
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(10<<20))
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Contains(t, e.Msg, tt.msg)
			require.Equal(t, [2]int{tt.line, tt.column}, [2]int{e.Line, e.Column})
		})
	}

	t.Run("UsualFrontMatterStillReads", func(t *testing.T) {
		t.Parallel()
		fm, err := parseFrontMatter("t.md", "---\nsubject: \"{{.Lead.Company}} 様: 資料 [無料]\"\npreheader: >\n  [ご案内]\nfrom: 株式会社ナーチャー <info@example.com>\n---\nbody\n")
		require.NoError(t, err)
		require.Equal(t, "{{.Lead.Company}} 様: 資料 [無料]", fm.subject.value)
	})
}
