package score_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lang"
	"github.com/nurture-dev/nurture/engine/scenario"
	"github.com/nurture-dev/nurture/engine/score"
)

func TestShippedModelPassesItsOwnTests(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../scenarios/scoring.yaml")
	require.NoError(t, err)
	m, err := score.Check("scenarios/scoring.yaml", src)
	require.NoError(t, err)
	require.Len(t, m.Profile, 3)
	require.Equal(t, 30*24*time.Hour, m.HalfLife)
	results := m.RunTests()
	require.NotEmpty(t, results)
	require.Equal(t, 63, results[0].Score, "the seed example: 部長 10 + 1,000名以上 20 + 資料請求 10 + 開封 3 + 問い合わせ 20")
	require.Equal(t, "hot", results[0].Grade)
	require.Equal(t, "mql", results[0].Stage)
}

func TestParseRefusesWithPositions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src, want string
	}{
		{"UnknownKey", "profile:\n  - { if: lead.employees > 1, pionts: 3 }\n", "scoring.yaml:2:"},
		{"NoPoints", "behavior:\n  - { on: email_opened }\n", "scoring.yaml:2:5: the rule has no points"},
		{"BadCondition", "profile:\n  - { if: lead.emploees > 1, points: 3 }\n", "does not compile"},
		{"ProfileRuleOnEvent", "profile:\n  - { if: 'event.form == \"x\"', points: 3 }\n", "not at an event"},
		{"ScoringAScoreEvent", "behavior:\n  - { on: score_changed, points: 3 }\n", "cannot be scored"},
		{"FormOnAnOpen", "behavior:\n  - { on: email_opened, form: x, points: 3 }\n", "form: applies to form_submitted rules only"},
		{"BadVerdict", "behavior:\n  - { on: email_opened, verdicts: [robot], points: 3 }\n", `"robot" is not a verdict`},
		{"SameRuleTwice", "behavior:\n  - { on: email_opened, points: 3 }\n  - { on: email_opened, points: 4 }\n", "give each an id"},
		{"WarmAboveHot", "grades: { hot: 10, warm: 20 }\n", "above the hot one"},
		{"BadHalfLife", "decay: { half_life: 3日 }\n", "half_life"},
		{"BadStage", "escalation: { when: [mqll] }\n", `"mqll" is not a stage`},
		{"DeepNesting", "profile: " + strings.Repeat("[", 5000) + "\n", "scoring.yaml:1:"},
		{"TooLarge", "# " + strings.Repeat("x", 300<<10) + "\n", "larger than"},
		{"ARepeatBomb", "profile:\n  - { if: 'len(repeat(\"a\", 999999)) > 0', points: 1 }\n", "repeat"},
		{"FailingTest", "behavior:\n  - { on: email_opened, points: 3 }\ntests:\n  - name: x\n    lead: { email: a@example.com }\n    events: [ { type: email_opened } ]\n    expect: { score: 4 }\n", `scoring.yaml:4:9: test "x": expected score 4, got 3`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := score.Check("scoring.yaml", []byte(tc.src))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestProblemsInJapanese checks that a scoring model's problems and its failed
// tests are said in Japanese for a Japanese marketer, as check prints them.
func TestProblemsInJapanese(t *testing.T) {
	t.Parallel()
	_, err := score.Check("scoring.yaml", []byte("behavior:\n  - { on: email_opened }\n"))
	var errs scenario.Errors
	require.ErrorAs(t, err, &errs)
	require.Equal(t, "scoring.yaml:2:5: ルールに points がありません。points: 10 のように書いてください（マイナスならスコアが下がります）", errs.In(lang.Japanese))

	src := "behavior:\n  - { on: email_opened, points: 3 }\ntests:\n  - name: 開封\n    lead: { email: a@example.com }\n" +
		"    events: [ { type: email_opened } ]\n    expect: { score: 4, grade: hot }\n  - name: 項目違い\n    lead: { compnay: x }\n"
	m, err := score.Check("scoring.yaml", []byte(src))
	require.ErrorAs(t, err, &errs)
	require.Contains(t, errs.In(lang.Japanese), `scoring.yaml:4:9: テスト "開封": スコアの期待は 4、実際は 3 です`)
	res := m.RunTests()
	require.Equal(t, []string{"expected score 4, got 3", "expected grade hot, got cold"}, res[0].Problems)
	require.Equal(t, res[0].Problems, res[0].ProblemsIn(lang.English))
	require.Equal(t, []string{"スコアの期待は 4、実際は 3 です", "グレードの期待は hot、実際は cold です"}, res[0].ProblemsIn(lang.Japanese))
	require.Equal(t, []string{`テストの lead の compnay: シナリオの条件で使える項目ではありません（もしかして "company"?）。使える項目: ` +
		"id, email, first_name, last_name, company, department, title, phone, employees, industry, country, timezone, source, " +
		"tags, attributes, consent, stage, score, grade, bant, created_at, stage_changed_at"}, res[1].ProblemsIn(lang.Japanese))
}

func TestBehaviorRulesCountOnlyWhatTheyMatch(t *testing.T) {
	t.Parallel()
	src := `
behavior:
  - { on: email_opened, points: 3 }
  - { on: email_opened, id: any-open, verdicts: [human, unknown], points: 1 }
  - { on: email_clicked, link: download, points: 5 }
  - { on: page_visited, url: /pricing, points: 10, max_per_day: 1 }
  - { on: form_submitted, form: seminar, points: 15, max_total: 1 }
  - { on: form_submitted, if: 'lead.company contains "競合"', id: competitor, points: -50 }
tests:
  - name: machine opens add nothing, unknown ones only where the rule says
    lead: { email: a@example.com }
    events: [ { type: email_opened, verdict: machine }, { type: email_opened, verdict: unknown } ]
    expect: { score: 1 }
  - name: a click counts on its named link only
    lead: { email: b@example.com }
    events: [ { type: email_clicked, link: other }, { type: email_clicked, link: download } ]
    expect: { score: 5 }
  - name: day cap resets the next day, total cap never
    lead: { email: c@example.com }
    events:
      - { type: page_visited, url: "https://x.jp/pricing" }
      - { after: 1h, type: page_visited, url: "https://x.jp/pricing" }
      - { after: 1d, type: page_visited, url: "https://x.jp/pricing" }
      - { after: 1d, type: form_submitted, form: seminar }
      - { after: 2d, type: form_submitted, form: seminar }
    expect: { score: 35 }
  - name: negative points for a competitor
    lead: { email: d@example.com, company: 競合株式会社 }
    events: [ { type: form_submitted, form: seminar } ]
    expect: { score: -35, grade: cold }
`
	_, err := score.Check("scoring.yaml", []byte(src))
	require.NoError(t, err)
}
