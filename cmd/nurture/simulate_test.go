package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSimulateCommand(t *testing.T) {
	t.Parallel()
	const followup = "../../scenarios/whitepaper-followup.yaml"
	leadFile := filepath.Join(t.TempDir(), "lead.json")
	require.NoError(t, os.WriteFile(leadFile, []byte(`{"email": "yamada@example.co.jp", "title": "部長", "employees": 2000, "score": 60}`), 0o644))

	tests := []struct {
		name  string
		args  []string
		want  []string // in the output, in this order
		usage string   // the usage error's text, when one is expected
	}{
		{
			name: "AClickerWithAHighScoreGoesToSales",
			args: []string{followup, "--lead", leadFile, "--event", "2d1h clicked case"},
			want: []string{
				"scenario whitepaper-followup (ホワイトペーパーDL後フォロー), version ",
				"lead yamada@example.co.jp, title 部長, employees 2000, stage inquiry, score 60, grade cold",
				"times in Asia/Tokyo, from 2026-04-06 Mon 10:00",
				"2026-04-06 Mon 10:00 +0d00h   thanks: sends whitepaper/thanks",
				"2026-04-08 Wed 10:00 +2d00h   case: sends whitepaper/case-study",
				"2026-04-08 Wed 11:00 +2d01h   the lead clicked case",
				"clicked_case: clicked case → yes (hot)",
				"hot: lead.score >= 50 is true → yes (to_mql)",
				"stage inquiry → mql",
				"ended: completed at 2026-04-08 Wed 11:00 (+2d01h)",
				"sent: thanks +0d00h, case +2d00h",
				"escalated: alert +2d01h: ",
				"lead at the end: stage mql, score 60, tags 事例クリック",
			},
		},
		{
			name: "FlagsBeforeTheFileAndAGoal",
			args: []string{"--lead", `{"email": "a@example.com"}`, "--event", "1d form_submitted form=demo-request", followup},
			want: []string{"the lead: form_submitted form=demo-request", "end (goal): the goal is reached", "ended: goal at 2026-04-07 Tue 10:00 (+1d00h)"},
		},
		{
			name: "AFridayEveningWaitsForTheWindow",
			args: []string{followup, "--start", "2026-04-10T19:00:00+09:00"},
			want: []string{"thanks: outside the send window; waits until 2026-04-13 09:00:00", "2026-04-13 Mon 09:00 +2d14h   thanks: sends whitepaper/thanks"},
		},
		{
			name: "TheTriggerIsCheckedWhenGiven",
			args: []string{followup, "--trigger", "form_submitted form=seminar"},
			want: []string{`not enrolled: the trigger's condition is false: event.form == "whitepaper"`, "not enrolled", "sent: none"},
		},
		{
			name: "AClickBeforeTheMailIsShown",
			args: []string{followup, "--event", "1h clicked case"},
			want: []string{"! 2026-04-06 Mon 11:00 +0d01h   clicked case: but case had sent nothing by then"},
		},
		{name: "NoFile", args: []string{"--lead", "{}"}, usage: "simulate: name the scenario file"},
		{name: "TwoFiles", args: []string{followup, followup}, usage: "one scenario file at a time"},
		{name: "BadEvent", args: []string{followup, "--event", "soon clicked case"}, usage: `"soon"`},
		{name: "EventOnNoStep", args: []string{followup, "--event", "1d clicked nothing"}, usage: `has no send step "nothing"`},
		{name: "BadLeadJSON", args: []string{followup, "--lead", "{email}"}, usage: "--lead: not a JSON object"},
		{name: "MissingLeadFile", args: []string{followup, "--lead", "nowhere.json"}, usage: `--lead: "nowhere.json" is neither a JSON object nor a file`},
		{name: "UnknownLeadField", args: []string{followup, "--lead", `{"compnay": "x"}`}, usage: "--lead: lead compnay: is not something scenario conditions see"},
		{name: "BadStart", args: []string{followup, "--start", "monday"}, usage: `--start "monday" is not a time`},
		{name: "BadTrigger", args: []string{followup, "--trigger", "clicked case"}, usage: `--trigger "clicked case" is not an event`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, _, err := runCommand(t, nil, append([]string{"simulate"}, tt.args...)...)
			if tt.usage != "" {
				var ue *usageError
				require.ErrorAs(t, err, &ue)
				require.Contains(t, ue.msg, tt.usage)
				return
			}
			require.NoError(t, err)
			rest := stdout
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				require.GreaterOrEqual(t, i, 0, "%q not found (in order) in\n%s", w, stdout)
				rest = rest[i+len(w):]
			}
		})
	}

	t.Run("ALateSignUpToTheSeminarGetsNoReminderEver", func(t *testing.T) {
		t.Parallel()
		// Signed up on the evening before the seminar, after the reminder's moment: the
		// reminder is skipped, and the scenario ends after the survey's follow-up.
		stdout, _, err := runCommand(t, nil, "simulate", "../../scenarios/seminar.yaml", "--start", "2027-02-09T20:00",
			"--trigger", "form_submitted form=seminar-2027-02")
		require.NoError(t, err)
		for _, w := range []string{
			"times in Asia/Tokyo, from 2027-02-09 Tue 20:00",
			"2027-02-09 Tue 20:00 +0d00h   thanks: sends seminar/thanks",
			"until_reminder: 2027-02-09 14:00:00 had passed when the lead got here; skips reminder (if_past: skip)",
			"2027-02-10 Wed 16:00 +0d20h   survey: sends seminar/survey",
			"ended: completed at 2027-02-16 Tue 16:00 (+6d20h)",
			"sent: thanks +0d00h, survey +0d20h, follow +6d20h",
		} {
			require.Contains(t, stdout, w)
		}
		require.NotContains(t, stdout, "reminder: sends")
		require.NotContains(t, stdout, "2028-")
	})

	t.Run("EachMailShowsItsSubjectForTheLead", func(t *testing.T) {
		t.Parallel()
		// The monthly mail's subject starts with the lead's last name.
		vars := map[string]string{"NURTURE_TEMPLATES_DIR": "../../templates"}
		stdout, stderr, err := runCommand(t, vars, "simulate", "../../scenarios/reengage-cold.yaml",
			"--lead", `{"email": "yamada@example.co.jp", "last_name": "山田", "grade": "cold", "created_at": "200d ago"}`)
		require.NoError(t, err, stderr)
		require.Contains(t, stdout, "monthly: sends reengage/monthly")
		require.Contains(t, stdout, `monthly: subject "山田 様へ｜今月のエンジニア採用トレンドとお役立ち情報"`)

		stdout, _, err = runCommand(t, vars, "simulate", followup)
		require.NoError(t, err)
		require.Contains(t, stdout, `thanks: subject "【資料ダウンロード】エンジニア採用の教科書 2025年版をお届けします"`)
	})

	t.Run("WithoutTemplatesTheTimelineHasNoSubjects", func(t *testing.T) {
		t.Parallel()
		stdout, stderr, err := runCommand(t, map[string]string{"NURTURE_TEMPLATES_DIR": t.TempDir() + "/none", "NURTURE_LANG": "ja"}, "simulate", followup)
		require.NoError(t, err)
		require.Contains(t, stdout, "thanks: sends whitepaper/thanks")
		require.NotContains(t, stdout, "subject")
		require.Contains(t, stderr, "テンプレートを読めないので、件名は表示しません")
	})

	t.Run("LeadErrorsInJapanese", func(t *testing.T) {
		t.Parallel()
		_, _, err := runCommand(t, map[string]string{"NURTURE_LANG": "ja"}, "simulate", followup, "--lead", `{"compnay": "x", "employees": "many"}`)
		var ue *usageError
		require.ErrorAs(t, err, &ue)
		require.Equal(t, `--lead: lead の compnay: シナリオの条件で使える項目ではありません（もしかして "company"?）。使える項目: id, email, `+
			"first_name, last_name, company, department, title, phone, employees, industry, country, timezone, source, tags, attributes, "+
			"consent, stage, score, grade, bant, created_at, stage_changed_at; lead の employees: 整数で書きます（many ではなく）", ue.msg)
	})

	t.Run("ABrokenFileIsReportedWithPositions", func(t *testing.T) {
		t.Parallel()
		stdout, _, err := runCommand(t, nil, "simulate", "../../engine/scenario/testdata/broken/bad-duration.yaml")
		require.ErrorIs(t, err, errRejected)
		require.Regexp(t, `bad-duration\.yaml:\d+:\d+: `, stdout)
	})
}
