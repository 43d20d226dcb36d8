package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lang/langtest"
)

// seminarTemplates writes a templates folder with the seminar's mails, and returns
// it.
func seminarTemplates(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	layout, err := os.ReadFile("../../templates/_layouts/default.html")
	require.NoError(t, err)
	files := map[string]string{
		"_layouts/default.html": string(layout),
		"seminar/thanks.md":     "---\nsubject: お申し込みありがとうございます\n---\n{{.Lead.LastName | default \"ご担当者\"}} 様\n",
		"seminar/survey.md":     "---\nsubject: アンケートのお願い\n---\nご参加ありがとうございました。\n",
	}
	for name, src := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	return dir
}

// TestCheckSaysMistakesInJapanese feeds check the slips a Japanese marketer makes
// and holds each to one message, in Japanese and in English, that says the fix.
func TestCheckSaysMistakesInJapanese(t *testing.T) {
	t.Parallel()
	const head = "id: seminar\ntrigger:\n  event: form_submitted\nsteps:\n  - id: thanks\n    send: seminar/thanks\n"
	for _, tc := range []struct {
		name string
		file string // a scenario, or a template when it ends in .md
		src  string
		ja   string
		en   string
	}{
		{"DurationInJapanese", "s.yaml", head + "  - wait: 3日\n",
			`s.yaml:7:11: wait "3日": "3日" は "3d" と書きます`, `s.yaml:7:11: wait "3日": write it as "3d"`},
		{"HoursInJapanese", "s.yaml", head + "  - wait: 3時間\n",
			`"3時間" は "3h" と書きます`, `write it as "3h"`},
		{"MinutesInJapanese", "s.yaml", head + "  - wait: 30分\n",
			`"30分" は "30m" と書きます`, `write it as "30m"`},
		{"WeeksInJapanese", "s.yaml", head + "  - wait: 2週間\n",
			`"2週間" は "2w" と書きます`, `write it as "2w"`},
		{"FullWidthDigits", "s.yaml", head + "  - wait: ３ｄ\n",
			`"３ｄ" は "3d" と書きます`, `write it as "3d"`},
		{"UnknownLeadField", "s.yaml", head + "  - if: lead.業種 == \"製造\"\n    yes: end\n",
			`s.yaml:7:14: if: lead に 業種 という項目はありません。独自項目は lead.attributes["業種"] と書きます`,
			`s.yaml:7:14: if does not compile: lead has no field "業種"; a field of your own is written lead.attributes["業種"]`},
		{"MisspeltLeadField", "s.yaml", head + "  - if: lead.compnay == \"x\"\n    yes: end\n",
			`if: lead に compnay という項目はありません（もしかして lead.company?）`,
			`if does not compile: lead has no field "compnay" (did you mean "company"?)`},
		{"IndentationSlip", "s.yaml", head + "  - id: survey\n   send: seminar/survey\n",
			"s.yaml:8:4: 8行目のインデントが id:（7行目）とずれています。5列目から書き始めて id: と揃えてください",
			"s.yaml:8:4: line 8 is indented differently from id: on line 7: start it in column 5, under id:"},
		{"FullWidthIndent", "s.yaml", head + "  - id: survey\n  　　send: seminar/survey\n  - wait_until: { clicked: survey, within: 1d }\n    no: end\ntests:\n  - name: クリック\n    events: [ { after: 1d, clicked: survey } ]\n    expect: { sent: [thanks, survey] }\n",
			"s.yaml:8:3: 全角スペースがあります（8行3列）。半角スペースにしてください",
			"s.yaml:8:3: a full-width space (line 8, column 3): write an ordinary space"},
		{"FullWidthBeforeKey", "s.yaml", head + "  - 　send: seminar/survey\n",
			"s.yaml:7:5: 全角スペースがあります（7行5列）。半角スペースにしてください",
			"s.yaml:7:5: a full-width space (line 7, column 5): write an ordinary space"},
		{"TemplateWithExtension", "s.yaml", head + "  - send: seminar/survey.md\n",
			"s.yaml:7:11: テンプレート名には .md を付けません。seminar/survey と書いてください",
			"s.yaml:7:11: a template is named without .md: write seminar/survey"},
		{"MisspeltTemplate", "s.yaml", head + "  - send: seminar/survy\n",
			`s.yaml:7:11: templates/ にテンプレート "seminar/survy" はありません（もしかして "seminar/survey"?）`,
			`s.yaml:7:11: there is no template "seminar/survy" under templates/ (did you mean "seminar/survey"?)`},
		{"MisspeltTemplateField", "seminar/bad.md", "---\nsubject: ご案内\n---\n{{.Lead.Compnay}} 様\n",
			"seminar/bad.md:4:8: .Lead.Compnay という項目はありません（もしかして .Lead.Company?）",
			"seminar/bad.md:4:8: at <.Lead.Compnay>: can't evaluate field Compnay in type *lead.Lead (did you mean .Lead.Company?)"},
		{"UnknownKey", "s.yaml", head + "  - sned: seminar/survey\n",
			`s.yaml:7:5: ステップの中 にキー "sned" は書けません（もしかして "send"?）`,
			`s.yaml:7:5: unknown key "sned" in a step (did you mean "send"?)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			templates := seminarTemplates(t)
			dir := t.TempDir()
			target := filepath.Join(dir, tc.file)
			if strings.HasSuffix(tc.file, ".md") {
				target = filepath.Join(templates, tc.file)
			}
			require.NoError(t, os.WriteFile(target, []byte(tc.src), 0o644))
			for _, l := range []struct {
				vars map[string]string
				want string
			}{
				{map[string]string{"NURTURE_LANG": "ja"}, tc.ja},
				{map[string]string{"LANG": "ja_JP.UTF-8"}, tc.ja},
				{map[string]string{"NURTURE_LANG": "en", "LANG": "ja_JP.UTF-8"}, tc.en},
				{map[string]string{}, tc.en},
			} {
				args := []string{"check", templates}
				if strings.HasSuffix(tc.file, ".yaml") {
					args = append(args, target)
				}
				stdout, _, err := runCommand(t, l.vars, args...)
				require.Error(t, err, stdout)
				// Positions are printed after the folder's path.
				out := strings.ReplaceAll(strings.ReplaceAll(stdout, dir+"/", ""), templates+"/", "")
				require.Contains(t, out, l.want)
				require.Len(t, problemLines(out), 1, "one error per cause:\n%s", out)
				require.NotRegexp(t, `scenario\.|\*lead\.|LeadEnv`, ja(l.vars, out), "no Go type names in Japanese")
			}
		})
	}
}

// problemLines are the file:line: lines of check's output.
func problemLines(out string) []string {
	return regexp.MustCompile(`(?m)^\S+\.(yaml|md):\d+(:\d+)?: .*$`).FindAllString(out, -1)
}

// ja is out when vars choose Japanese, else "".
func ja(vars map[string]string, out string) string {
	if vars["NURTURE_LANG"] == "ja" || (vars["NURTURE_LANG"] == "" && strings.HasPrefix(vars["LANG"], "ja")) {
		return out
	}
	return ""
}

// TestMessagesHaveJapanese holds every line check, simulate and preview print to
// having Japanese: each is written with say or lang.New, never printed in English
// only with fmt.
func TestMessagesHaveJapanese(t *testing.T) {
	t.Parallel()
	formats, err := langtest.Formats(".", "say", "lang.New")
	require.NoError(t, err)
	require.Greater(t, len(formats), 5)
	require.Empty(t, langtest.Missing(formats))

	english, err := langtest.FormatsIn([]string{"check.go", "simulate.go", "preview.go"}, "fmt.Fprintf", "fmt.Fprintln", "fmt.Fprint")
	require.NoError(t, err)
	require.Empty(t, english, "lines printed in English only: write them with say or lang.New")
}

// TestCheckSaysTestFailuresInJapanese runs check on a scenario and a scoring model
// whose tests fail, in Japanese and in English: the FAIL lines say what differed in
// the marketer's language.
func TestCheckSaysTestFailuresInJapanese(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"seminar.yaml": "id: seminar\ntrigger: { event: form_submitted }\nsteps:\n  - id: thanks\n    send: seminar/thanks\n" +
			"  - wait: 1d\n  - id: survey\n    send: seminar/survey\n" +
			"tests:\n  - name: お礼だけ\n    lead: { email: b@example.com }\n    expect: { sent: [thanks], exit: goal }\n",
		"scoring.yaml": "behavior:\n  - { on: email_opened, points: 3 }\ntests:\n  - name: 開封で5点\n    lead: { email: a@example.com }\n" +
			"    events: [ { type: email_opened } ]\n    expect: { score: 5, grade: warm }\n",
	}
	for name, src := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	for _, tc := range []struct {
		lang string
		want []string
	}{
		{"ja", []string{
			"FAIL seminar: お礼だけ: 送信の期待は [thanks]、実際は [thanks survey] です; 終わり方の期待は「ゴールに達する」ですが、実際は「+1d00h に完了」でした",
			"FAIL scoring: 開封で5点: スコアの期待は 5、実際は 3 です; グレードの期待は warm、実際は cold です",
			"スコアリングモデルは問題なし、profile のルール 0 件、behavior のルール 1 件。テスト 1 件、成功 0 件、失敗 1 件",
		}},
		{"en", []string{
			"FAIL seminar: お礼だけ: expected sent [thanks], got [thanks survey]; expected it to reach the goal, but it completed at +1d00h",
			"FAIL scoring: 開封で5点: expected score 5, got 3; expected grade warm, got cold",
			"scoring model good, 0 profile rules, 1 behavior rules; 1 tests, 0 passed, 1 failed",
		}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			t.Parallel()
			stdout, _, err := runCommand(t, map[string]string{"NURTURE_LANG": tc.lang}, "check", seminarTemplates(t), dir)
			require.ErrorIs(t, err, errRejected)
			for _, w := range tc.want {
				require.Contains(t, stdout, w)
			}
		})
	}
}
