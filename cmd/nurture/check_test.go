package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/scenario"
)

// TestCheckShippedFiles checks the templates and scenarios in the repository, as
// `go run ./cmd/nurture check` does from its root: no problems, every test passes.
func TestCheckShippedFiles(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"NURTURE_TEMPLATES_DIR": "../../templates", "NURTURE_SCENARIOS_DIR": "../../scenarios"}
	stdout, _, err := runCommand(t, vars, "check")
	require.NoError(t, err, stdout)
	require.Contains(t, stdout, "../../templates: ")
	require.Regexp(t, `\.\./\.\./scenarios: [3-9] scenarios good, 0 problems; \d+ tests, \d+ passed, 0 failed`, stdout)
	require.NotContains(t, stdout, "FAIL")
	for _, id := range []string{"whitepaper-followup", "engineer-course", "reengage-cold", "seminar-2027-02"} {
		require.GreaterOrEqual(t, strings.Count(stdout, "PASS "+id+": "), 3, "%s has tests:\n%s", id, stdout)
	}
	require.Regexp(t, `\.\./\.\./scenarios/scoring\.yaml: scoring model good, \d+ profile rules, \d+ behavior rules; \d+ tests, \d+ passed, 0 failed`, stdout)
	require.Contains(t, stdout, "PASS scoring: 記事の例")
}

// TestCheckScoring checks a scenarios folder whose scoring model is broken, then one
// whose model's own test fails: both are reported and make check fail.
func TestCheckScoring(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, model, want string
	}{
		{"ABrokenModelNamesFileLineColumn", "behavior:\n  - { on: email_opened, points: 3 }\n  - { on: form_submitted, form: x, pionts: 10 }\n",
			"scoring.yaml:3:"},
		{"AFailingModelTestFails", "behavior:\n  - { on: email_opened, points: 3 }\ntests:\n  - name: 開封で3点\n    lead: { email: a@example.com }\n    events: [ { type: email_opened } ]\n    expect: { score: 5 }\n",
			"FAIL scoring: 開封で3点: expected score 5, got 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "scoring.yaml"), []byte(tc.model), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "x.yaml"), []byte("trigger: { event: manual }\nsteps:\n  - end: true\n"), 0o644))
			stdout, _, err := runCommand(t, map[string]string{"NURTURE_TEMPLATES_DIR": "../../templates", "NURTURE_SCENARIOS_DIR": dir}, "check")
			require.Error(t, err)
			require.Contains(t, stdout, tc.want)
		})
	}
}

func TestCheckScenarios(t *testing.T) {
	t.Parallel()
	const failing = `trigger: { event: manual }
steps:
  - id: thanks
    send: whitepaper/thanks
  - id: clicked
    wait_until: { clicked: thanks, within: 1d }
    yes: case
    no: end
  - id: case
    send: whitepaper/case-study
tests:
  - name: a clicker gets the case study
    lead: { email: a@example.com }
    events: [ { after: 1h, clicked: thanks } ]
    expect: { sent: [thanks, case] }
  - name: a test that is wrong
    lead: { email: b@example.com }
    expect: { sent: [thanks, case], escalated: true }
`
	layout, err := os.ReadFile("../../templates/_layouts/default.html")
	require.NoError(t, err)
	dir := func(t *testing.T, files map[string]string) string {
		d := t.TempDir()
		for name, src := range files {
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(d, name)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(d, name), []byte(src), 0o644))
		}
		return d
	}
	tests := []struct {
		name  string
		files map[string]string
		args  func(d string) []string
		err   error // errRejected, or nil
		usage bool
		want  []string // regexps
	}{
		{
			name: "ReportsEveryProblemWithItsPosition",
			args: func(string) []string { return []string{"../../engine/scenario/testdata/broken", "../../templates"} },
			err:  errRejected,
			want: []string{`testdata/broken/bad-duration\.yaml:\d+:\d+: `, `testdata/broken/unknown-template\.yaml:\d+:\d+: there is no template`,
				`testdata/broken: 0 scenarios good, \d\d+ problems`, `\.\./\.\./templates: \d+ templates good, 0 problems`},
		},
		{
			name:  "RunsTheTestsOfGoodFiles",
			files: map[string]string{"followup.yaml": failing, "README.md": "# not a template"},
			args:  func(d string) []string { return []string{d} },
			err:   errRejected,
			want: []string{`(?m)^PASS followup: a clicker gets the case study$`,
				`(?m)^FAIL followup: a test that is wrong: expected sent \[thanks case\], got \[thanks\]; expected the lead to be escalated, but it was not$`,
				`: 1 scenarios good, 0 problems; 2 tests, 1 passed, 1 failed`},
		},
		{
			name: "ChecksTemplateNamesAgainstTheTemplatesGiven",
			files: map[string]string{"s/a.yaml": "trigger: { event: manual }\nsteps:\n  - send: whitepaper/nope\n", "t/whitepaper/nope.md": "---\nsubject: こんにちは\n---\n本文\n",
				"t/_layouts/default.html": string(layout)},
			args: func(d string) []string { return []string{filepath.Join(d, "s"), filepath.Join(d, "t")} },
			want: []string{`s: 1 scenarios good, 0 problems; 0 tests`, `t: 1 templates good, 0 problems`},
		},
		{
			name:  "ChecksTemplateNamesAgainstTheTemplatesDir",
			files: map[string]string{"a.yaml": "trigger: { event: manual }\nsteps:\n  - send: whitepaper/nope\n"},
			args:  func(d string) []string { return []string{filepath.Join(d, "a.yaml")} },
			err:   errRejected,
			want:  []string{`a\.yaml:3:11: there is no template "whitepaper/nope"`, `a\.yaml: 0 scenarios good, 1 problems`},
		},
		{
			name:  "WarnsAboutALoopThatSendsButPasses",
			files: map[string]string{"loop.yaml": "trigger: { event: manual }\nsteps:\n  - id: mail\n    send: course/day1\n  - wait: 1m\n  - goto: mail\n"},
			args:  func(d string) []string { return []string{filepath.Join(d, "loop.yaml")} },
			want: []string{`(?m)loop\.yaml:3:5: warning: the steps mail → step-2 → step-3 → mail go round in a loop with a send in it \(mail\)`,
				`loop\.yaml: 1 scenarios good, 0 problems, 1 warnings; 0 tests`},
		},
		{
			name:  "OneFile",
			args:  func(string) []string { return []string{"../../scenarios/whitepaper-followup.yaml"} },
			want:  []string{`(?m)^PASS whitepaper-followup: `, `whitepaper-followup\.yaml: 1 scenarios good, 0 problems`},
			files: nil,
		},
		{
			name:  "AFolderOfNeither",
			files: map[string]string{"notes.txt": "hello"},
			args:  func(d string) []string { return []string{d} },
			usage: true,
		},
		{
			name:  "NoSuchFolder",
			args:  func(d string) []string { return []string{filepath.Join(d, "missing")} },
			usage: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := dir(t, tt.files)
			vars := map[string]string{"NURTURE_TEMPLATES_DIR": "../../templates"}
			stdout, _, err := runCommand(t, vars, append([]string{"check"}, tt.args(d)...)...)
			if tt.usage {
				var ue *usageError
				require.ErrorAs(t, err, &ue)
				return
			}
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err, stdout)
			} else {
				require.NoError(t, err, stdout)
			}
			for _, re := range tt.want {
				require.Regexp(t, re, stdout)
			}
		})
	}
}

func TestCheckDatabaseShowsEnrollmentsOnOlderVersions(t *testing.T) {
	t.Parallel()
	url := dbtest.NewURL(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	defer pool.Close()

	const file = "../../scenarios/whitepaper-followup.yaml"
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	current, err := scenario.Parse(file, src, scenario.Options{})
	require.NoError(t, err)

	for _, v := range []string{"a1b2c3d4e5f6", "0123456789ab", current.Version} {
		_, err = pool.Exec(ctx, `INSERT INTO scenario_versions (scenario_id, version, file, source) VALUES ('whitepaper-followup', $1, $2, '')`, v, file)
		require.NoError(t, err)
	}
	_, err = pool.Exec(ctx, `INSERT INTO scenario_versions (scenario_id, version, file, source) VALUES ('engineer-course', 'ffffffffffff', 'x', '')`)
	require.NoError(t, err)
	enroll := func(scenarioID, version, step string, n int, ended bool) {
		for range n {
			var leadID int64
			require.NoError(t, pool.QueryRow(ctx, `INSERT INTO leads (email) VALUES ('l' || gen_random_uuid() || '@example.com') RETURNING id`).Scan(&leadID))
			_, err := pool.Exec(ctx, `INSERT INTO enrollments (lead_id, scenario_id, version, step, ended_at)
				VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END)`, leadID, scenarioID, version, step, ended)
			require.NoError(t, err)
		}
	}
	enroll("whitepaper-followup", "a1b2c3d4e5f6", "clicked_case", 10, false)
	enroll("whitepaper-followup", "a1b2c3d4e5f6", "reminder", 2, false)
	enroll("whitepaper-followup", "a1b2c3d4e5f6", "", 5, true) // ended: not counted
	enroll("whitepaper-followup", "0123456789ab", "thanks", 1, false)
	enroll("whitepaper-followup", current.Version, "case", 3, false)
	enroll("engineer-course", "ffffffffffff", "day2", 1, true)

	vars := map[string]string{"NURTURE_DATABASE_URL": url, "NURTURE_DATA_DIR": t.TempDir(),
		"NURTURE_TEMPLATES_DIR": "../../templates", "NURTURE_SCENARIOS_DIR": "../../scenarios"}
	stdout, stderr, err := runCommand(t, vars, "check", "--db")
	require.NoError(t, err, stdout+stderr)
	require.Contains(t, stdout, "whitepaper-followup: 13 running enrollments on older versions (0123456789ab: 1 at thanks; a1b2c3d4e5f6: 10 at clicked_case, 2 at reminder); they finish on their version\n")
	require.Contains(t, stdout, "engineer-course: no running enrollments on older versions (0 running enrollments on this one)\n")
	require.Contains(t, stdout, "reengage-cold: no running enrollments on older versions")

	// Without --db, no database is touched.
	stdout, _, err = runCommand(t, map[string]string{"NURTURE_DATABASE_URL": "postgres://nowhere.invalid/x",
		"NURTURE_TEMPLATES_DIR": "../../templates", "NURTURE_SCENARIOS_DIR": "../../scenarios"}, "check")
	require.NoError(t, err, stdout)
	require.NotContains(t, stdout, "older versions")
}
