package scenario

import "github.com/nurture-dev/nurture/engine/lang"

// The Japanese of what the simulator and the tests' runner write: the lines of a
// failed test, the lines a test event could not happen on, and the problems of a
// test's lead (see messages_ja.go for the rest).
var _ = lang.Register(map[string]string{
	// A failed test: what was expected and what came of it.
	" (%s)":                                 "（%s）",
	"%s %s":                                 "%s %s",
	"expected sent [%s], got [%s]%s":        "送信の期待は [%s]、実際は [%s] です%s",
	"expected stage %s, got %s%s":           "ステージの期待は %s、実際は %s です%s",
	"expected tags [%s], the lead has [%s]": "タグ [%s] があるはずですが、リードのタグは [%s] です",
	"expected the lead to be escalated, but it was not%s":      "営業への引き渡し（escalate）があるはずですが、ありませんでした%s",
	"expected no escalation, but step %s escalated at %s (%s)": "営業への引き渡しはないはずですが、ステップ %s が %s に引き渡しました（%s）",
	"expected it to %s, but it %s":                             "終わり方の期待は「%s」ですが、実際は「%s」でした",
	"still be running at the end":                              "最後まで実行中",
	"complete its steps":                                       "最後のステップまで進んで完了する",
	"reach the goal":                                           "ゴールに達する",
	"exit on exit_if":                                          "exit_if で抜ける",
	"end (%s)":                                                 "終わる（%s）",
	"was never enrolled (%s)":                                  "シナリオに入らなかった（%s）",
	"was still running at step %s after %s":                    "%[2]s たってもステップ %[1]s で実行中",
	"completed at %s":                                          "%s に完了",
	"reached the goal at %s":                                   "%s にゴールに達した",
	"exited on exit_if at %s":                                  "%s に exit_if で抜けた",
	"ended as suppressed (unsubscribed or bounced) at %s":      "%s に配信停止（購読解除か不達）で終了",
	"end (%s) at %s":                                           "%[2]s に終了（%[1]s）",
	"the test's %v":                                            "テストの %v",
	"the simulation failed: %v":                                "シミュレーションが失敗しました: %v",
	"an event at %s: but the lead only enters at %s":           "%s のイベント: リードが入るのは %s からです。イベントの時刻を直してください",
	"%s: but %s had sent nothing by then":                      "%s: その時点で %s はまだ何も送っていません。イベントの after を直してください",
	"an event %s after %s sent: but %s sent nothing":           "%[2]s の送信から %[1]s 後のイベント: %[3]s は何も送っていません",
	"not enrolled: the schedule does not fire on or after %s":  "シナリオに入りません: schedule は %s 以降に実行されません",
	"not enrolled: the trigger's event is %s, not %s":          "シナリオに入りません: trigger の event は %s で、%s ではありません",
	"not enrolled: the trigger's condition is false: %s":       "シナリオに入りません: trigger の条件が偽です: %s",
	"%s: subject %q":                                           "%s: 件名 %q",
	"%s: the subject of %s could not be made: %v":              "%s: %s の件名を作れません: %v",

	// A test's lead, or the simulate command's --lead.
	"lead %s: %s": "lead の %s: %s",
	"is not something scenario conditions see%s; known: %s": "シナリオの条件で使える項目ではありません%s。使える項目: %s",
	"must be text, not %v":                                  "文字列で書きます（%v ではなく）",
	"must be a whole number, not %v":                        "整数で書きます（%v ではなく）",
	"must be a list of text, not %v":                        "文字列のリストで書きます（%v ではなく）",
	"must be keys and values, not %v":                       "キーと値で書きます（%v ではなく）",
	"must be budget, authority, need and timeframe, not %v": "budget, authority, need, timeframe のキーで書きます（%v ではなく）",
	"%q is not one of budget, authority, need, timeframe":   "%q は budget, authority, need, timeframe のどれでもありません",
	"%q is not a time zone such as Asia/Tokyo":              "%q はタイムゾーンではありません。Asia/Tokyo のように書いてください",
	"must be hot, warm or cold, not %q":                     "hot, warm, cold のどれかです（%q ではなく）",
	"unknown stage %q: stages are %s":                       "ステージ %q はありません。ステージは %s です",
	"%q: %w":                                                "%q: %w",
	"must be a time such as 2026-01-05, 2026-01-05T09:00:00+09:00 or \"120d ago\", not %v": "2026-01-05、2026-01-05T09:00:00+09:00、\"120d ago\" のような日時で書きます（%v ではなく）",
	"%q is not a time such as 2026-01-05, 2026-01-05T09:00:00+09:00 or \"120d ago\"":       "%q は日時ではありません。2026-01-05、2026-01-05T09:00:00+09:00、\"120d ago\" のように書いてください",
})
