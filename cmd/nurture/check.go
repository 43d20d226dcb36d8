package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-dev/nurture/engine/lang"
	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/scenario"
	"github.com/nurture-dev/nurture/engine/score"
)

func (c *cli) check(ctx context.Context, args []string) error {
	var cfg Config
	fs := c.flagSet("check", "check [--db] [dir or file.yaml...]",
		`Checks marketer files and reports every problem at once with file:line:column, then
runs each scenario file's tests on the simulator (PASS or FAIL per test). A dir is a
templates folder or a scenarios folder, told apart by what it holds (.yaml files make
a scenarios folder, whose scoring.yaml is the scoring model, checked and tested too);
a .yaml file is one scenario, or the scoring model if it is named scoring.yaml. With none, NURTURE_TEMPLATES_DIR and
NURTURE_SCENARIOS_DIR are checked. Scenarios are checked against the templates folder
given, or else NURTURE_TEMPLATES_DIR. With --db, it also says how many running
enrollments each scenario has on older versions of its file. Exits 1 if anything is
wrong or a test fails.`)
	db := fs.Bool("db", false, "also report running enrollments on older versions (uses NURTURE_DATABASE_URL or the embedded database)")
	s := newSettings(&cfg)
	s.register(fs, c.getenv, append([]string{"NURTURE_TEMPLATES_DIR", "NURTURE_SCENARIOS_DIR", "NURTURE_LANG"}, databaseSettings...))
	if err := parse(fs, args); err != nil {
		return err
	}
	l, err := s.language()
	if err != nil {
		return &usageError{err.Error()}
	}
	say := func(format string, args ...any) { fmt.Fprintln(c.stdout, lang.New(format, args...).In(l)) }

	var templateDirs, scenarioDirs, scenarioFiles []string
	if fs.NArg() == 0 {
		templateDirs = []string{cfg.TemplatesDir}
		if _, err := os.Stat(cfg.ScenariosDir); err == nil {
			scenarioDirs = []string{cfg.ScenariosDir}
		} else {
			say("%s: no scenarios folder; no scenarios checked", cfg.ScenariosDir)
		}
	}
	for _, arg := range fs.Args() {
		kind, err := folderKind(arg)
		if err != nil {
			return &usageError{err.Error()}
		}
		switch kind {
		case "templates":
			templateDirs = append(templateDirs, arg)
		case "scenarios":
			scenarioDirs = append(scenarioDirs, arg)
		case "scenario":
			scenarioFiles = append(scenarioFiles, arg)
		}
	}

	problems, failed := 0, 0
	var templates *message.Set
	for _, dir := range templateDirs {
		set, err := message.Load(dir)
		if set == nil {
			return err
		}
		if templates == nil {
			templates = set
		}
		errs := unjoin(err)
		for _, e := range errs {
			fmt.Fprintln(c.stdout, lang.Text(l, e))
		}
		problems += len(errs)
		say("%s: %d templates good, %d problems", dir, len(set.Names()), len(errs))
	}

	var opts scenario.Options
	if len(scenarioDirs)+len(scenarioFiles) > 0 {
		if templates == nil {
			set, err := message.Load(cfg.TemplatesDir)
			if set == nil {
				say("templates not loaded, so template names are not checked: %v", err)
			}
			templates = set
		}
		if templates != nil {
			opts.HasTemplate, opts.TemplateNames = templates.Has, templates.Names()
		}
	}
	var checked []*scenario.Scenario
	report := func(name string, good []*scenario.Scenario, err error) {
		var errs scenario.Errors
		if err != nil && !errors.As(err, &errs) {
			errs = scenario.Errors{{File: name, Msg: err.Error()}}
		}
		for _, e := range errs {
			fmt.Fprintln(c.stdout, e.In(l))
		}
		problems += len(errs)
		// Warnings are printed but do not make check fail: the file runs as written.
		var warnings scenario.Errors
		for _, sc := range good {
			warnings = append(warnings, sc.Warnings...)
		}
		for _, w := range warnings {
			line := *w // file:line:column: warning: …, as compilers write it
			line.Msg = lang.New("warning: %s", w.MsgIn(l)).In(l)
			fmt.Fprintln(c.stdout, line.Error())
		}
		tests, fails := 0, 0
		for _, sc := range good {
			for _, r := range sc.RunTests() {
				tests++
				if r.Passed() {
					say("PASS %s: %s", sc.ID, r.Test.Name)
					continue
				}
				fails++
				say("FAIL %s: %s: %s", sc.ID, r.Test.Name, strings.Join(r.FailuresIn(l), "; "))
			}
		}
		failed += fails
		checked = append(checked, good...)
		var warned lang.Message
		if len(warnings) > 0 {
			warned = lang.New(", %d warnings", len(warnings))
		}
		say("%s: %d scenarios good, %d problems%s; %d tests, %d passed, %d failed",
			name, len(good), len(errs), warned, tests, tests-fails, fails)
	}
	// checkScoring checks a scoring model and runs its tests.
	checkScoring := func(file string) error {
		src, err := scenario.ReadFile(file)
		if err != nil {
			return err
		}
		m, err := score.Parse(file, src)
		var errs scenario.Errors
		if err != nil && !errors.As(err, &errs) {
			return err
		}
		for _, e := range errs {
			fmt.Fprintln(c.stdout, e.In(l))
		}
		problems += len(errs)
		if m == nil {
			say("%s: scoring model refused, %d problems", file, len(errs))
			return nil
		}
		tests, fails := 0, 0
		for _, r := range m.RunTests() {
			tests++
			if len(r.Problems) == 0 {
				say("PASS scoring: %s (score %d, %s, %s)", r.Test.Name, r.Score, r.Grade, r.Stage)
				continue
			}
			fails++
			say("FAIL scoring: %s: %s", r.Test.Name, strings.Join(r.ProblemsIn(l), "; "))
		}
		failed += fails
		say("%s: scoring model good, %d profile rules, %d behavior rules; %d tests, %d passed, %d failed",
			file, len(m.Profile), len(m.Behavior), tests, tests-fails, fails)
		return nil
	}
	for _, dir := range scenarioDirs {
		good, err := scenario.LoadDir(dir, opts)
		if good == nil && err != nil && !errors.As(err, new(scenario.Errors)) {
			return err
		}
		report(dir, good, err)
		if file := filepath.Join(dir, score.FileName); fileExists(file) {
			if err := checkScoring(file); err != nil {
				return err
			}
		}
	}
	for _, file := range scenarioFiles {
		if filepath.Base(file) == score.FileName {
			if err := checkScoring(file); err != nil {
				return err
			}
			continue
		}
		src, err := scenario.ReadFile(file)
		if err != nil {
			return err
		}
		sc, err := scenario.Parse(file, src, opts)
		var good []*scenario.Scenario
		if sc != nil {
			good = append(good, sc)
		}
		report(file, good, err)
	}

	if *db && len(checked) > 0 {
		if err := cfg.validate(s); err != nil {
			return err
		}
		if err := c.blastRadius(ctx, &cfg, checked); err != nil {
			return err
		}
	}
	if problems > 0 || failed > 0 {
		return errRejected
	}
	return nil
}

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

// folderKind tells what an argument of check is: a templates folder, a scenarios
// folder (one that holds .yaml files) or one scenario file.
func folderKind(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, errors.Unwrap(err))
	}
	if !info.IsDir() {
		switch filepath.Ext(path) {
		case ".yaml", ".yml":
			return "scenario", nil
		}
		return "", fmt.Errorf("%s: not a folder or a scenario file (.yaml)", path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			return "scenarios", nil
		}
	}
	templates := false
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (filepath.Ext(p) == ".md" || filepath.Ext(p) == ".html") && d.Name() != "README.md" {
			templates = true
			return filepath.SkipAll
		}
		return nil
	})
	if !templates {
		return "", fmt.Errorf("%s holds neither templates (.md, .html) nor scenario files (.yaml)", path)
	}
	return "templates", nil
}

// blastRadius says, for each scenario, how many running enrollments are on versions
// other than the file's: they finish on the version they started on.
func (c *cli) blastRadius(ctx context.Context, cfg *Config, scenarios []*scenario.Scenario) error {
	db, err := openDatabase(ctx, cfg, c.logger(cfg))
	if err != nil {
		return err
	}
	defer db.Close()
	lines, err := olderVersions(ctx, db.Pool, scenarios)
	if err != nil {
		return err
	}
	for _, line := range lines {
		fmt.Fprintln(c.stdout, line)
	}
	return nil
}

// olderVersions words, per scenario, the running enrollments on versions other than
// the scenario's current one, by version (latest started first) and step (most first).
func olderVersions(ctx context.Context, pool *pgxpool.Pool, scenarios []*scenario.Scenario) ([]string, error) {
	ids := make([]string, len(scenarios))
	for i, sc := range scenarios {
		ids[i] = sc.ID
	}
	rows, err := pool.Query(ctx, `SELECT scenario_id, version, step, count(*) FROM enrollments
		WHERE ended_at IS NULL AND scenario_id = ANY($1)
		GROUP BY scenario_id, version, step
		ORDER BY scenario_id, max(max(started_at)) OVER (PARTITION BY scenario_id, version) DESC, version,
			count(*) DESC, step`, ids)
	if err != nil {
		return nil, fmt.Errorf("running enrollments: %w", err)
	}
	type group struct {
		version, step string
		n             int
	}
	byID := map[string][]group{}
	for rows.Next() {
		var id string
		var g group
		if err := rows.Scan(&id, &g.version, &g.step, &g.n); err != nil {
			return nil, err
		}
		byID[id] = append(byID[id], g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("running enrollments: %w", err)
	}
	var out []string
	for _, sc := range scenarios {
		current, older := 0, 0
		var parts []string // "a1b2c3d4e5f6: 10 at clicked_case, 2 at reminder"
		var last string
		for _, g := range byID[sc.ID] {
			if g.version == sc.Version {
				current += g.n
				continue
			}
			older += g.n
			at := fmt.Sprintf("%d at %s", g.n, g.step)
			if g.version == last {
				parts[len(parts)-1] += ", " + at
			} else {
				parts = append(parts, g.version+": "+at)
				last = g.version
			}
		}
		switch {
		case older == 0:
			out = append(out, fmt.Sprintf("%s: no running enrollments on older versions (%s on this one)", sc.ID, plural(current, "running enrollment")))
		default:
			out = append(out, fmt.Sprintf("%s: %s on older versions (%s); they finish on their version", sc.ID, plural(older, "running enrollment"), strings.Join(parts, "; ")))
		}
	}
	return out, nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
