package scenario

import "github.com/nurture-dev/nurture/engine/lang"

// The Japanese of the messages about dates, business days, schedules and test
// times (see messages_ja.go for the rest).
var _ = lang.Register(map[string]string{
	"in schedule": "schedule の中",
	"%s %v":       "%s %v",
	"%s takes event_date, or attributes.<name> for a date the lead holds (such as attributes.seminar_at), not %q":              "%s には event_date か、リードが持つ日付の attributes.<名前>（例: attributes.seminar_at）を書きます。%q は使えません",
	"a date and time is written such as 2027-02-09T10:00 (or \"2027-02-09 10:00\", or 2027-02-10T14:00+09:00 with its offset)": "日時は 2027-02-09T10:00 のように書きます（\"2027-02-09 10:00\" や、時差つきの 2027-02-10T14:00+09:00 も可）",
	"a number of business days cannot be zero":                                                        "営業日数に 0 は使えません",
	"a schedule fires either by cron: or once at: a date, not both":                                   "schedule は cron:（繰り返し）か at:（一度だけ）のどちらか一方です",
	"a send step's window can only be ignore (send at once, whatever send_window says), not %q":       "send ステップの window には ignore（send_window に関係なくすぐ送る）だけが書けます。%q は使えません",
	"a wait has one of until, before and after, and this one has both %q and %q: make them two steps": "wait には until・before・after のどれか1つを書きます。%q と %q の両方があるので、2つのステップに分けてください",
	"a wait of more than 500 business days (two years) is too long":                                   "500営業日（約2年）を超える待ちは長すぎます",
	"after_sent: %s": "after_sent: %s",
	"an event happens at one time: it has both %q and %q":                                                                                                                                                                    "イベントの時刻は1つだけ書きます。%q と %q の両方があります",
	"business days are a whole number followed by bd, such as 3bd; they do not combine with other units":                                                                                                                     "営業日は 3bd のように整数と bd で書きます。ほかの単位とは組み合わせられません",
	"by goes with before: or after:, such as before: event_date, by: 1d":                                                                                                                                                     "by は before: か after: と一緒に書きます（例: before: event_date, by: 1d）",
	"if_past goes with a wait for a date (until: 2027-02-09T10:00, before: or after:); a time of day always comes again":                                                                                                     "if_past は日付を待つ wait（until: 2027-02-09T10:00、before:、after:）に書きます。時刻だけの待ちは必ずまた来るので不要です",
	"if_past must be skip (skip the step after this wait) or now (go on at once), not %q%s":                                                                                                                                  "if_past は skip（この待ちの次のステップを飛ばす）か now（すぐ進む）です。%q%s は使えません",
	"if_past: skip skips the step after this wait, and there is none: use if_past: now, or add the step to skip":                                                                                                             "if_past: skip はこの待ちの次のステップを飛ばしますが、次のステップがありません。if_past: now にするか、飛ばすステップを追加してください",
	"if_past: skip skips the step after this wait, but %q is %s step, which does not go on to one step: put the send (or update, stage, escalate) to skip right after the wait":                                              "if_past: skip はこの待ちの次のステップを飛ばしますが、%q は %s ステップで、次の1ステップへ進むものではありません。飛ばしたい send（または update、stage、escalate）を待ちのすぐ後に置いてください",
	"in goes with after_sent: { after_sent: survey, in: 1d } happens a day after the step survey sent its mail":                                                                                                              "in は after_sent と一緒に書きます。{ after_sent: survey, in: 1d } は、survey ステップのメールを送った1日後に起きます",
	"the event needs when it happens: after: 2d1h (after the lead entered), at: 2027-02-09T12:00, or after_sent: <send step> with in: 1d":                                                                                    "イベントにはいつ起きるかが必要です: after: 2d1h（入ってから）、at: 2027-02-09T12:00、または after_sent: <send ステップ> と in: 1d",
	"the schedule %q fires on the same date every year, so a lead can get it again a year later: add until: with the last date it may fire (such as until: 2027-03-01), or until: never if it is meant to repeat every year": "schedule %q は毎年同じ日に動くため、1年後にも同じリードに届きます。最後に動いてよい日を until: で書くか（例: until: 2027-03-01）、毎年繰り返すなら until: never と書いてください",
	"the schedule %q fires on the same date every year, so a lead can get it again a year later: give it an end, as schedule: { cron: %q, until: 2027-03-01 }, fire it once with schedule: { at: 2027-02-09T10:00 }, or write schedule: { cron: %q, until: never } if it is meant to repeat every year": "schedule %q は毎年同じ日に動くため、1年後にも同じリードに届きます。schedule: { cron: %q, until: 2027-03-01 } のように終わりを書くか、一度だけなら schedule: { at: 2027-02-09T10:00 }、毎年繰り返すなら schedule: { cron: %q, until: never } と書いてください",
	"the schedule needs cron: \"0 10 * * MON\" (with until: for its end) or at: 2027-02-09T10:00 to fire once":                                                                                              "schedule には cron: \"0 10 * * MON\"（終わりは until:）か、一度だけなら at: 2027-02-09T10:00 が必要です",
	"there is no event_date: add event_date: 2027-02-10T14:00 at the top of the file, or wait on a date the lead holds with attributes.<name>":                                                              "event_date がありません。ファイルの最上位に event_date: 2027-02-10T14:00 を書くか、リードが持つ日付（attributes.<名前>）を待ってください",
	"this wait is for a date that may have passed when a lead gets here (a late sign-up, say): choose what happens then with if_past: skip (skip the step after this wait) or if_past: now (go on at once)": "この待ちの日時は、リードが来たとき（遅い申込など）にはもう過ぎているかもしれません。そのときどうするかを if_past: skip（次のステップを飛ばす）か if_past: now（すぐ進む）で選んでください",
	"until goes with cron:; a schedule with at: fires once": "until は cron: と一緒に書きます。at: の schedule は一度だけ動きます",
	"wait %q: %v": "wait %q: %v",
	"wait needs a time such as 2d, or until: \"09:00\", until: 2027-02-09T10:00, or before: or after: a date such as event_date": "wait には 2d のような時間、until: \"09:00\"、until: 2027-02-09T10:00、または before: / after: と event_date のような日付が必要です",
	"wait until: %v, or a date and time such as 2027-02-09T10:00":                                                                "wait until: %v。または 2027-02-09T10:00 のような日時を書きます",
	"within %q: %v": "within %q: %v",
})
