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
})
