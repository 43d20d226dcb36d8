package scenario_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/scenario"
)

// testTemplates are the templates the test files may send.
var testTemplates = []string{"whitepaper/thanks", "whitepaper/case-study", "whitepaper/reminder", "reengage/monthly"}

func testOptions() scenario.Options {
	return scenario.Options{HasTemplate: func(name string) bool { return slices.Contains(testTemplates, name) }}
}

func parseFile(t *testing.T, file string) (*scenario.Scenario, error) {
	t.Helper()
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	return scenario.Parse(file, src, testOptions())
}

func TestParse(t *testing.T) {
	t.Parallel()

	t.Run("Whitepaper", func(t *testing.T) {
		t.Parallel()
		s, err := parseFile(t, "testdata/good/whitepaper-followup.yaml")
		require.NoError(t, err)

		require.Equal(t, "whitepaper-followup", s.ID)
		require.Equal(t, "ホワイトペーパーDL後フォロー", s.Name)
		require.Equal(t, "testdata/good/whitepaper-followup.yaml", s.File)
		require.Len(t, s.Version, 12)
		require.NotEmpty(t, s.Source)
		require.Equal(t, "form_submitted", s.Trigger.Event)
		require.Equal(t, `event.form == "whitepaper"`, s.Trigger.If.Source)
		require.Equal(t, scenario.Pos{Line: 6, Column: 7}, s.Trigger.If.Pos)
		require.Nil(t, s.Trigger.Cron)
		require.Equal(t, scenario.Reenroll{Kind: scenario.ReenrollNever}, s.Reenroll)
		require.NotNil(t, s.ExitIf)
		require.NotNil(t, s.Goal)

		tokyo, err := time.LoadLocation("Asia/Tokyo")
		require.NoError(t, err)
		require.Equal(t, &scenario.SendWindow{
			Days: [7]bool{false, true, true, true, true, true, false},
			From: 9 * 60, To: 18 * 60, Location: tokyo, SkipHolidays: "JP",
		}, s.Window)

		type step struct {
			ID       string
			Kind     scenario.Kind
			Line     int
			Next     string
			Template string
			Wait     time.Duration
			Engage   scenario.EngageKind
			Ref      string
			Within   time.Duration
			Yes, No  string
			Reason   string
		}
		var got []step
		for _, st := range s.Steps {
			got = append(got, step{st.ID, st.Kind, st.Pos.Line, st.Next, st.Template, st.Wait, st.Engage, st.Ref, st.Within, st.Yes, st.No, st.Reason})
		}
		require.Equal(t, []step{
			{ID: "thanks", Kind: scenario.KindSend, Line: 12, Template: "whitepaper/thanks"},
			{ID: "step-2", Kind: scenario.KindWait, Line: 14, Wait: 48 * time.Hour},
			{ID: "case", Kind: scenario.KindSend, Line: 15, Template: "whitepaper/case-study"},
			{ID: "clicked_case", Kind: scenario.KindWaitUntil, Line: 17, Engage: scenario.Clicked, Ref: "case", Within: 72 * time.Hour, Yes: "hot", No: "reminder"},
			{ID: "reminder", Kind: scenario.KindSend, Line: 21, Template: "whitepaper/reminder", Next: scenario.End},
			{ID: "hot", Kind: scenario.KindIf, Line: 24, Yes: "alert", No: scenario.End},
			{ID: "alert", Kind: scenario.KindEscalate, Line: 28, Reason: "Clicked the case study with score >= 50"},
		}, got)
		require.Equal(t, "lead.score >= 50", s.Step("hot").Cond.Source)

		escalated := true
		require.Equal(t, []scenario.Test{{
			Name:   "a clicker is escalated",
			Pos:    scenario.Pos{Line: 31, Column: 5},
			Lead:   map[string]any{"email": "a@example.com", "title": "部長", "employees": int64(2000)},
			Events: []scenario.TestEvent{{After: 49 * time.Hour, Engage: scenario.Clicked, Ref: "case"}},
			Expect: scenario.Expect{Sent: []string{"thanks", "case"}, Escalated: &escalated},
		}}, s.Tests)
	})

	t.Run("EveryKind", func(t *testing.T) {
		t.Parallel()
		s, err := parseFile(t, "testdata/good/everything.yaml")
		require.NoError(t, err)

		require.Equal(t, "everything", s.ID, "defaults to the file name")
		require.Equal(t, "0 9 * * MON-FRI", s.Trigger.Schedule)
		require.NotNil(t, s.Trigger.Cron)
		// 2026-01-05 is a Monday; 09:00 in Tokyo is 00:00 UTC.
		next := s.Trigger.Cron.Next(time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC))
		require.Equal(t, time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), next.UTC())
		require.Equal(t, scenario.Reenroll{Kind: scenario.ReenrollAfter, After: 90 * 24 * time.Hour}, s.Reenroll)

		require.Equal(t, []scenario.Variant{
			{Name: "a", Template: "reengage/monthly", Subject: "お久しぶりです", Weight: 70},
			{Name: "b", Template: "reengage/monthly", Weight: 30},
		}, s.Step("hello").Variants)
		require.Equal(t, scenario.KindSend, s.Step("hello").Kind)

		wait := s.Steps[1]
		require.Equal(t, scenario.KindWait, wait.Kind)
		require.NotNil(t, wait.Until)
		require.Equal(t, 9*60+30, *wait.Until)

		opened := s.Step("opened_hello")
		require.Equal(t, scenario.Opened, opened.Engage)
		require.Equal(t, 7*24*time.Hour, opened.Within)
		require.Equal(t, "", opened.Yes)
		require.Equal(t, "nudge", opened.No)

		require.Equal(t, &scenario.Update{
			AddTags:    []string{"reengaged"},
			RemoveTags: []string{"dormant"},
			Fields:     map[string]string{"company": "ナーチャー株式会社", "attributes.plan": "pro", "employees": "120"},
			Points:     5,
		}, s.Steps[3].Update)

		require.Equal(t, []scenario.Path{
			{Name: "nudge-first", Weight: 50, Next: "nudge"},
			{Name: "straight", Weight: 50, Next: "stage-step"},
		}, s.Step("route").Paths)
		require.Equal(t, "mql", s.Step("stage-step").Stage)
		require.Equal(t, scenario.KindGoto, s.Steps[6].Kind)
		require.Equal(t, "done", s.Steps[6].Next)
		require.Equal(t, "もう一度", s.Step("nudge").Subject)
		require.Equal(t, "pricing", s.Step("clicked_nudge").Link)
		require.Equal(t, "lead.score >= 50 &&\n  has_tag(\"reengaged\")\n", s.Step("check").Cond.Source)
		require.Equal(t, scenario.KindEscalate, s.Steps[10].Kind)
		require.Equal(t, scenario.KindEnd, s.Steps[11].Kind)
		require.Equal(t, "step-12", s.Steps[11].ID)
		require.Equal(t, scenario.KindEnd, s.Step("done").Kind)

		require.Len(t, s.Tests, 1)
		tc := s.Tests[0]
		require.Equal(t, map[string]any{"type": "manual"}, tc.Event)
		require.Equal(t, []scenario.TestEvent{
			{After: time.Hour, Engage: scenario.Opened, Ref: "hello"},
			{After: 72 * time.Hour, Type: "form_submitted", Props: map[string]any{"form": "demo-request"}},
			{After: 96 * time.Hour, Engage: scenario.Clicked, Ref: "nudge", Link: "pricing"},
		}, tc.Events)
		require.Equal(t, []string{"hello"}, tc.Expect.Sent)
		require.False(t, *tc.Expect.Escalated)
		require.Equal(t, "mql", *tc.Expect.Stage)
		require.Equal(t, "completed", *tc.Expect.Exit)
		require.Equal(t, []string{"reengaged"}, tc.Expect.Tags)
	})

	t.Run("VersionIsTheContent", func(t *testing.T) {
		t.Parallel()
		src := []byte("trigger: { event: manual }\nsteps: [ end ]\n")
		a, err := scenario.Parse("a.yaml", src, scenario.Options{})
		require.NoError(t, err)
		b, err := scenario.Parse("b.yml", src, scenario.Options{})
		require.NoError(t, err)
		require.Equal(t, a.Version, b.Version)
		require.Equal(t, "b", b.ID)
		c, err := scenario.Parse("a.yaml", append(src, '\n'), scenario.Options{})
		require.NoError(t, err)
		require.NotEqual(t, a.Version, c.Version)
	})

	t.Run("ErrorsAreTyped", func(t *testing.T) {
		t.Parallel()
		s, err := scenario.Parse("x.yaml", []byte("steps: [ { wiat: 2d } ]\n"), scenario.Options{})
		require.Nil(t, s)
		var errs scenario.Errors
		require.ErrorAs(t, err, &errs)
		require.Len(t, errs, 2) // no trigger, and the misspelt key
		var first *scenario.Error
		require.ErrorAs(t, err, &first)
		require.Equal(t, []any{"x.yaml", 1, 1}, []any{first.File, first.Line, first.Column})
		require.Equal(t, `x.yaml:1:12: unknown key "wiat" in a step (did you mean "wait"?)`, errs[1].Error())
		require.Equal(t, errs[0].Error()+"\n"+errs[1].Error(), err.Error())
	})

	t.Run("ALoopThatSendsIsAWarningNotAnError", func(t *testing.T) {
		t.Parallel()
		s, err := scenario.Parse("loop.yaml", []byte(`trigger: { event: manual }
steps:
  - id: mail
    send: course/day1
  - wait: 1m
  - goto: mail
`), scenario.Options{})
		require.NoError(t, err)
		require.Len(t, s.Warnings, 1)
		w := s.Warnings[0]
		require.Equal(t, []any{"loop.yaml", 3, 5}, []any{w.File, w.Line, w.Column})
		require.Contains(t, s.Warnings[0].Msg, "the steps mail → step-2 → step-3 → mail go round in a loop with a send in it (mail)")
		require.Contains(t, s.Warnings[0].Msg, "NURTURE_FREQUENCY_CAP")

		good, err := scenario.LoadDir("testdata/good", testOptions())
		require.NoError(t, err)
		shipped, err := scenario.LoadDir("../../scenarios", scenario.Options{})
		require.NoError(t, err)
		for _, sc := range append(good, shipped...) {
			require.Empty(t, sc.Warnings, sc.File)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		for _, src := range []string{"", "# only a comment\n", "---\n"} {
			_, err := scenario.Parse("empty.yaml", []byte(src), scenario.Options{})
			require.EqualError(t, err, "empty.yaml:1:1: the file is empty: a scenario needs at least a trigger and steps")
		}
	})
}

// wantRE is a "# want: line:column: message" line at the top of a broken file; the
// message is a prefix of the error's.
var wantRE = regexp.MustCompile(`^# want: (\d+):(\d+): (.+)$`)

func TestBroken(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/broken/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 15)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(file)
			require.NoError(t, err)
			var want []string
			for _, line := range strings.Split(string(src), "\n") {
				if m := wantRE.FindStringSubmatch(line); m != nil {
					want = append(want, m[1]+":"+m[2]+": "+m[3])
				}
			}
			require.NotEmpty(t, want, "a broken file says what is wrong with it in # want: lines")

			s, err := scenario.Parse(file, src, testOptions())
			require.Nil(t, s)
			var errs scenario.Errors
			require.ErrorAs(t, err, &errs)
			var got []string
			for _, e := range errs {
				require.Equal(t, file, e.File)
				got = append(got, strconv.Itoa(e.Line)+":"+strconv.Itoa(e.Column)+": "+e.Msg)
			}
			require.Len(t, got, len(want), "got:\n%s", strings.Join(got, "\n"))
			slices.Sort(want)
			sorted := slices.Clone(got)
			slices.Sort(sorted)
			for i := range want {
				require.True(t, strings.HasPrefix(sorted[i], want[i]), "want %q\ngot:\n%s", want[i], strings.Join(got, "\n"))
			}
		})
	}
}

func TestLoadDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, src string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	write("b.yaml", "trigger: { event: manual }\nsteps: [ end ]\n")
	write("a.yml", "id: z\ntrigger: { event: manual }\nsteps: [ end ]\n")
	write("c.yaml", "id: z\ntrigger: { event: manual }\nsteps: [ end ]\n")
	write("d.yaml", "trigger: { event: manual }\n")
	write("scoring.yaml", "profile: []\n")
	write("notes.txt", "not a scenario")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755))

	got, err := scenario.LoadDir(dir, scenario.Options{})
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	require.Equal(t, []string{"b", "z"}, ids)
	var errs scenario.Errors
	require.ErrorAs(t, err, &errs)
	require.Len(t, errs, 2)
	require.Equal(t, filepath.Join(dir, "c.yaml")+`:1:5: the scenario id "z" is already used by `+filepath.Join(dir, "a.yml")+"; give each scenario its own id", errs[0].Error())
	require.Equal(t, filepath.Join(dir, "d.yaml"), errs[1].File)

	_, err = scenario.LoadDir(filepath.Join(dir, "missing"), scenario.Options{})
	require.True(t, errors.Is(err, os.ErrNotExist))

	good, err := scenario.LoadDir("testdata/good", testOptions())
	require.NoError(t, err)
	require.Len(t, good, 2)
}
