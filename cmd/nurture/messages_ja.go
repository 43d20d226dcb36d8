package main

import "github.com/nurture-dev/nurture/engine/lang"

// The Japanese of what check, simulate and preview print, by the English format.
// A line added without its Japanese fails TestMessagesHaveJapanese.
var _ = lang.Register(map[string]string{
	"%s: no scenarios folder; no scenarios checked":               "%s: シナリオのフォルダがないので、シナリオは確かめていません",
	"%s: %d templates good, %d problems":                          "%s: テンプレート %d 件は問題なし、問題 %d 件",
	"templates not loaded, so template names are not checked: %v": "テンプレートを読めないので、テンプレート名は確かめていません: %v",
	"warning: %s":     "警告: %s",
	"PASS %s: %s":     "PASS %s: %s",
	"FAIL %s: %s: %s": "FAIL %s: %s: %s",
	", %d warnings":   "、警告 %d 件",
	"%s: %d scenarios good, %d problems%s; %d tests, %d passed, %d failed": "%s: シナリオ %d 件は問題なし、問題 %d 件%s。テスト %d 件、成功 %d 件、失敗 %d 件",
	"preview: there is no template %q in %s":                               "preview: %[2]s にテンプレート %[1]q はありません。nurture check %[2]s で確かめてください",
	"== %s for the lead given ==":                                          "== %s（--lead のリード） ==",
	"== %s for a lead with no fields (the fallbacks) ==":                   "== %s（項目が空のリード: default の代わりの文字） ==",
	"subject: %s":       "件名: %s",
	"preheader: %s":     "プリヘッダー: %s",
	"HTML: %s":          "HTML: %s",
	"--- text part ---": "--- テキストパート ---",
	"no xdg-open or open command: open %s in a browser": "xdg-open も open もありません。%s をブラウザで開いてください",
	"%s: scoring model refused, %d problems":            "%s: スコアリングモデルは使えません。問題 %d 件",
	"PASS scoring: %s (score %d, %s, %s)":               "PASS scoring: %s（スコア %d、%s、%s）",
	"FAIL scoring: %s: %s":                              "FAIL scoring: %s: %s",
	"%s: scoring model good, %d profile rules, %d behavior rules; %d tests, %d passed, %d failed": "%s: スコアリングモデルは問題なし、profile のルール %d 件、behavior のルール %d 件。テスト %d 件、成功 %d 件、失敗 %d 件",
	"templates not loaded, so subjects are not shown: %v":                                         "テンプレートを読めないので、件名は表示しません: %v",
})
