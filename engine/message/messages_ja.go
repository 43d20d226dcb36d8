package message

import "github.com/nurture-dev/nurture/engine/lang"

// The Japanese of the messages this package writes, by their English format. A
// message made with errorf without its Japanese fails TestMessagesHaveJapanese.
var _ = lang.Register(map[string]string{
	"%s %q is not an address such as \"ナーチャー株式会社 <info@example.com>\": %v": "%s %q はメールアドレスではありません。\"ナーチャー株式会社 <info@example.com>\" のように書いてください: %v",
	"%s must be text": "%s は文字列で書いてください",
	"a template starts with front matter: a \"---\" line, \"subject: ...\" and the other keys, and another \"---\" line": "テンプレートはフロントマターで始めます。\"---\" の行、\"subject: ...\" などのキー、もう一度 \"---\" の行を書いてください",
	"front matter: %s": "フロントマター: %s",
	"front matter: %v; it holds a subject and a few other keys":                         "フロントマター: %v。フロントマターには subject といくつかのキーだけを書きます",
	"front matter: expected keys and values such as \"subject: ...\"":                   "フロントマター: \"subject: ...\" のようにキーと値を書いてください",
	"front matter: only one YAML document is allowed":                                   "フロントマター: YAML の文書は1つだけにしてください",
	"layout %q has problems (see %s)":                                                   "レイアウト %q に問題があります（%s を見てください）",
	"layout %q not found: there is no _layouts/%s.html":                                 "レイアウト %q がありません。_layouts/%s.html を作るか、layout を直してください",
	"template %s is also defined by %s":                                                 "テンプレート %s は %s にもあります。どちらかの名前を変えてください",
	"the file is not UTF-8":                                                             "ファイルが UTF-8 ではありません。UTF-8 で保存してください",
	"the front matter has no subject: every message needs one":                          "フロントマターに subject がありません。件名を書いてください",
	"the front matter is larger than %d bytes; it holds a subject and a few other keys": "フロントマターが %d バイトを超えています。subject といくつかのキーだけを書きます",
	"the front matter is not closed by a \"---\" line":                                  "フロントマターが \"---\" の行で閉じられていません",
	"the layout does not show {{.Body}} for every lead":                                 "レイアウトが {{.Body}} を表示しないリードがあります。{{.Body}} を条件の外に置いてください",
	"the layout is empty":                                                               "layout が空です",
	"the layout never shows the message: it needs {{.Body}}":                            "レイアウトが本文を表示しません。{{.Body}} を入れてください",
	"the link %q takes its scheme or host from a value: a lead could choose where a click goes; write the scheme and host in the template (https://example.com/{{…}}) or mark the link data-notrack": "リンク %q のスキームかホストが値から作られています。リードがクリック先を選べてしまいます。スキームとホストはテンプレートに書くか（https://example.com/{{…}}）、リンクに data-notrack を付けてください",
	"at <%s>: can't evaluate field %s in type %s: the fields a template can show are listed in templates/README.md":                                                                                  "%[1]s という項目はありません。使える項目は templates/README.md の表にあります",
	"the subject is empty": "件名が空です",
	"the subject is empty for a lead with no fields: add a fallback with default":              "項目が空のリードでは件名が空になります。default で代わりの文字を入れてください",
	"at <%s>: can't evaluate field %s in type %s (did you mean %s?)":                           "%[1]s という項目はありません（もしかして %[4]s?）",
	"transactional must be true or false":                                                      "transactional は true か false にしてください",
	"unknown front-matter key %q (known keys: %s)":                                             "フロントマターにキー %q は書けません（使えるキー: %s）",
	"the template ends too early: an {{if}}, {{range}}, {{with}} or {{define}} has no {{end}}": "テンプレートが途中で終わっています。{{if}}, {{range}}, {{with}}, {{define}} のどれかに {{end}} がありません",

	"%v": "%v",

	// A run over its limits (ErrLimit, and the limit it went over).
	"over the limits of a template run": "テンプレートの実行が上限を超えました",
	"%w: it does more than %d steps (each pass of a {{range}} counts as its size): a {{range}} over a large number or a long list?": "%w: 処理が %d ステップを超えています（{{range}} は1周ごとに数えます）。大きな数や長いリストを {{range}} していませんか",
	"%w: it writes more than %d KiB":                       "%w: 出力が %d KiB を超えています",
	"%w: its function calls make more than %d KiB of text": "%w: 関数が作る文字が %d KiB を超えています",
	"%w: it runs longer than %s":                           "%w: 実行が %s を超えています",
	"%w: {{template %q}} calls itself":                     "%w: {{template %q}} が自分自身を呼んでいます。呼び出しがループにならないようにしてください",

	// CSS in a <style> element.
	"<style>: %w":            "<style>: %w",
	"CSS line %d: %s":        "CSS の %d 行目: %s",
	"the at-rule has no end": "@ で始まるルールに終わりがありません",
	"@import is not supported: mail clients do not load style sheets, put the rules in the <style>": "@import は使えません。メールソフトは外部のスタイルシートを読まないので、ルールを <style> の中に書いてください",
	"a { is not closed":      "{ が閉じられていません",
	"a { is not closed by }": "{ が } で閉じられていません",
	"empty selector":         "セレクタが空です",
	"expected a selector and a { declarations } block": "セレクタと { 宣言 } のブロックを書いてください",
	"%q is not a declaration such as \"color: #333\"":  "%q は \"color: #333\" のような宣言ではありません",
	"selector %q is not supported by the inliner: use type (p), class (.note), id (#top), compounds (p.note), descendant (td p) and child (tr > td) selectors": "セレクタ %q はインライン化できません。要素（p）、クラス（.note）、ID（#top）、その組み合わせ（p.note）、子孫（td p）、子（tr > td）のセレクタを使ってください",
})
