package score

import "github.com/nurture-dev/nurture/engine/lang"

// The Japanese of the messages this package writes about a scoring model and its
// tests, by their English format. A message added without its Japanese fails
// TestMessagesHaveJapanese.
var _ = lang.Register(map[string]string{
	// The scoring model's file.
	"%s does not compile: %v": "%s の条件式が読めません: %v",
	"the file is larger than %d bytes; a scoring model is a few kilobytes": "ファイルが %d バイトを超えています。スコアリングモデルは数キロバイトで足ります",
	"%v; a scoring model needs a few levels":                               "%v。スコアリングモデルの入れ子は数段で足ります",
	"%s":                                                                   "%s",
	"at most %d rules of each kind":                                        "ルールは種類ごとに %d 個までです",
	"the rule has no points: write points: 10 (negative points lower the score)": "ルールに points がありません。points: 10 のように書いてください（マイナスならスコアが下がります）",
	"points must be between -1000 and 1000":                                      "points は -1000 から 1000 までです",
	"max_per_day and max_total cannot be negative":                               "max_per_day と max_total はマイナスにできません",
	"a profile rule looks at who the lead is: it takes if and points (on, form, link, url, verdicts and caps belong to behavior rules)": "profile のルールはリードの属性を見ます。書けるのは if と points だけです（on, form, link, url, verdicts と上限は behavior のルールに書きます）",
	"a profile rule needs a condition: if: lead.employees >= 1000":                                                                      "profile のルールには if: lead.employees >= 1000 のような条件が必要です",
	"a profile rule looks at the lead, not at an event: put event conditions in behavior rules":                                         "profile のルールが見るのは lead で、event ではありません。イベントの条件は behavior のルールに書いてください",
	"this rule matches what the rule at %s matches: merge them, or give each an id":                                                     "このルールは %s のルールと同じものに当てはまります。1つにまとめるか、それぞれに id を付けてください",
	"half_life: %v": "half_life: %v",
	"half_life must be at least 1h; 0 turns decay off":                                       "half_life は 1h 以上にしてください。0 なら減衰しません",
	"the warm threshold (%d) is above the hot one (%d)":                                      "warm のしきい値（%d）が hot のしきい値（%d）より上です",
	"a lifecycle rule looks at the lead, not at an event":                                    "lifecycle のルールが見るのは lead で、event ではありません",
	"%q is not a stage (one of %s)":                                                          "%q はステージではありません（%s のどれか）",
	"assign is round_robin or territory, not %q":                                             "assign は round_robin か territory です（%q ではなく）",
	"sla must be a duration such as 24h":                                                     "sla は 24h のような時間で書きます",
	"%q is not an IANA time zone such as Asia/Tokyo":                                         "%q はタイムゾーンではありません。Asia/Tokyo のように書いてください",
	"a behavior rule needs on: the event it scores, such as email_opened or form_submitted":  "behavior のルールには on: に点を付けるイベントを email_opened や form_submitted のように書きます",
	"%s is recorded by nurture as a consequence of scoring and sending; it cannot be scored": "%s はスコアリングや送信の結果として nurture が記録するイベントなので、点は付けられません",
	"form: applies to form_submitted rules only":                                             "form: は form_submitted のルールにだけ書けます",
	"link: applies to email_clicked rules only":                                              "link: は email_clicked のルールにだけ書けます",
	"url: applies to page_visited and email_clicked rules only":                              "url: は page_visited と email_clicked のルールにだけ書けます",
	"verdicts: applies to email_opened and email_clicked rules only":                         "verdicts: は email_opened と email_clicked のルールにだけ書けます",
	"%q is not a verdict (human, unknown or machine)":                                        "%q は verdict ではありません（human, unknown, machine のどれか）",
	"after: %v": "after: %v",
	"a test event needs a type, such as type: email_opened": "テストのイベントには type: email_opened のように type が必要です",
	"a grade is hot, warm or cold":                          "grade は hot, warm, cold のどれかです",

	// The model's tests.
	"test %q: %s":   "テスト %q: %s",
	"lifecycle: %v": "lifecycle: %v",
	"profile: %v":   "profile: %v",
	"%v":            "%v",
	"the test's %v": "テストの %v",
	"event %s at +%s comes before the one before it": "+%[2]s のイベント %[1]s が、その前のイベントより前にあります。after を順に並べてください",
	"expected score %d, got %d":                      "スコアの期待は %d、実際は %d です",
	"expected grade %s, got %s":                      "グレードの期待は %s、実際は %s です",
	"expected stage %s, got %s":                      "ステージの期待は %s、実際は %s です",
})
