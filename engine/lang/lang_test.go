package lang_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lang"
)

var _ = lang.Register(map[string]string{
	"test: %s has no %q":     "テスト: %s に %q はありません",
	"test: in a box":         "テスト: 箱の中",
	"test: %s, drop %s (%s)": "テスト: %[1]s（%[3]s）",
	"test: wrapped: %w":      "テスト: 包んだ: %w",
	"test: never translated": "テスト: 訳さない",
})

func TestMessage(t *testing.T) {
	t.Parallel()

	t.Run("EnglishIsTheFormat", func(t *testing.T) {
		t.Parallel()
		m := lang.New("test: %s has no %q", "lead", "業種")
		require.Equal(t, `test: lead has no "業種"`, m.String())
		require.Equal(t, `test: lead has no "業種"`, m.In(lang.English))
	})

	t.Run("JapaneseTranslatesMessagesAndPhrasesButNotQuotedValues", func(t *testing.T) {
		t.Parallel()
		m := lang.New("test: %s has no %q", lang.New("test: in a box"), "test: in a box")
		require.Equal(t, `テスト: テスト: 箱の中 に "test: in a box" はありません`, m.In(lang.Japanese))
	})

	t.Run("ATranslationMayDropNumberedArguments", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "テスト: a（c）", lang.New("test: %s, drop %s (%s)", "a", "b", "c").In(lang.Japanese))
	})

	t.Run("AMissingFormatStaysEnglish", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "no such format 3", lang.New("no such format %d", 3).In(lang.Japanese))
	})

	t.Run("ErrorfWraps", func(t *testing.T) {
		t.Parallel()
		cause := errors.New("test: never translated")
		err := lang.Errorf("test: wrapped: %w", cause)
		require.ErrorIs(t, err, cause)
		require.Equal(t, "test: wrapped: test: never translated", err.Error())
		require.Equal(t, "テスト: 包んだ: テスト: 訳さない", lang.Text(lang.Japanese, err))
	})

	t.Run("RegisterRefusesAMismatchedTranslation", func(t *testing.T) {
		t.Parallel()
		require.Panics(t, func() { lang.Register(map[string]string{"test: %s and %s": "テスト: %s"}) })
		require.Panics(t, func() { lang.Register(map[string]string{"test: in a box": "別の訳"}) })
	})
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want lang.Lang
	}{
		{"NoLocaleIsEnglish", map[string]string{}, lang.English},
		{"LangJapanese", map[string]string{"LANG": "ja_JP.UTF-8"}, lang.Japanese},
		{"LCAllWins", map[string]string{"LC_ALL": "C", "LANG": "ja_JP.UTF-8"}, lang.English},
		{"LCMessages", map[string]string{"LC_MESSAGES": "ja_JP.UTF-8", "LANG": "en_US.UTF-8"}, lang.Japanese},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, lang.FromLocale(func(k string) string { return tc.env[k] }))
		})
	}
	l, err := lang.Parse("ja")
	require.NoError(t, err)
	require.Equal(t, lang.Japanese, l)
	_, err = lang.Parse("fr")
	require.Error(t, err)
}
