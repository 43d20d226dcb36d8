package message

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

func TestWrap(t *testing.T) {
	t.Parallel()

	t.Run("JapaneseFillsLinesWithoutBreakingCharacters", func(t *testing.T) {
		t.Parallel()
		s := strings.Repeat("エンジニア採用がうまくいかない原因の多くは、選考の手前にあります。", 5)
		lines := wrap(s, 70)
		require.Greater(t, len(lines), 4)
		require.Equal(t, s, strings.Join(lines, ""), "nothing is added or lost")
		for _, l := range lines {
			require.True(t, utf8.ValidString(l))
			require.LessOrEqual(t, stringWidth(l), 70, l)
			require.False(t, startsWithAny(l, noStart), "line starts with a closing mark: %s", l)
		}
	})

	t.Run("Kinsoku", func(t *testing.T) {
		t.Parallel()
		// Width 10 = 5 full-width characters: 。 would start the second line, so
		// the character before it goes down with it.
		require.Equal(t, []string{"あいうえ", "お。かき"}, wrap("あいうえお。かき", 10))
		require.Equal(t, []string{"あいうえ", "「かき"}, wrap("あいうえ「かき", 10), "「 does not end a line")
	})

	t.Run("URLsAndWordsStayWhole", func(t *testing.T) {
		t.Parallel()
		url := "https://www.nurture.example/downloads/engineer-hiring-guide-2025.pdf?utm_source=mail"
		lines := wrap("資料はこちらです ("+url+") ご確認ください。", 40)
		require.Equal(t, []string{"資料はこちらです", "(" + url + ")", "ご確認ください。"}, lines)
		require.Equal(t, []string{"Nurture makes", "lead nurturing", "simple."}, wrap("Nurture makes lead nurturing simple.", 15))
	})

	t.Run("CombiningMarksAndEmojiSequences", func(t *testing.T) {
		t.Parallel()
		s := strings.Repeat("か\u3099", 30) // が written as か + combining dakuten
		for _, l := range wrap(s, 10) {
			require.False(t, strings.HasPrefix(l, "\u3099"), "a mark was split from its character")
		}
		dev := "👩\u200D💻"
		for _, l := range wrap(strings.Repeat(dev, 20), 10) {
			require.Equal(t, 0, strings.Count(l, "\u200D")-strings.Count(l, dev), "an emoji sequence was split: %q", l)
			require.False(t, strings.HasPrefix(l, "\u200D") || strings.HasSuffix(l, "\u200D"))
		}
	})
}

func TestPlainText(t *testing.T) {
	t.Parallel()

	text := func(t *testing.T, body string) string {
		t.Helper()
		doc, err := html.Parse(strings.NewReader("<html><body>" + body + "</body></html>"))
		require.NoError(t, err)
		return plainText(findElementByName(doc, "body"))
	}

	t.Run("Blocks", func(t *testing.T) {
		t.Parallel()
		got := text(t, `<span style="display: none">プリヘッダー</span>
<h1>ご案内</h1>
<p>山田 様<br>
いつもお世話になって
おります。Nurture
makes it simple.</p>
<ul><li>一つ目</li><li>二つ目<ul><li>入れ子</li></ul></li></ul>
<ol start="3"><li>三番</li><li>四番</li></ol>
<blockquote><p>引用です。</p></blockquote>
<pre>  整形済み
    テキスト</pre>
<hr>
<table><tr><th>指標</th><th>導入後</th></tr><tr><td>応募数</td><td>29件</td></tr></table>
<p><a href="https://example.com/a"><img src="x.png" alt="バナー"></a> <a href="https://example.com/b"></a> <a href="https://example.com/c">https://example.com/c</a></p>
<p><a href="mailto:info@example.com?subject=hi">お問い合わせ</a> <a href="#top">先頭へ</a></p>
<div aria-hidden="true">隠し</div>
<img src="https://t.example/o/pixel" width="1" height="1" alt="">`)
		require.Equal(t, `■ ご案内

山田 様
いつもお世話になっております。Nurture makes it simple.

・一つ目
・二つ目
  ・入れ子

3. 三番
4. 四番

> 引用です。

  整形済み
    テキスト

----------------------------------------

指標 | 導入後
応募数 | 29件

バナー (https://example.com/a) https://example.com/b
https://example.com/c

お問い合わせ (info@example.com) 先頭へ
`, got)
	})

	t.Run("LongListItemsIndent", func(t *testing.T) {
		t.Parallel()
		got := text(t, "<ul><li>"+strings.Repeat("長い項目の文章です。", 8)+"</li></ul>")
		lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		require.Greater(t, len(lines), 1)
		require.True(t, strings.HasPrefix(lines[0], "・長い"))
		for _, l := range lines[1:] {
			require.True(t, strings.HasPrefix(l, "  "), l)
		}
	})
}

func findElementByName(n *html.Node, name string) *html.Node {
	var found *html.Node
	walk(n, func(n *html.Node) bool {
		if found == nil && n.Data == name {
			found = n
		}
		return found == nil
	})
	return found
}
