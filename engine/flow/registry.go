package flow

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-dev/nurture/engine/dirwatch"
	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/scenario"
)

// Registry holds the scenarios: the current version of each (what new enrollments
// start on) and every version running enrollments are on, read back from the
// database when a process has not seen it.
type Registry struct {
	pool      *pgxpool.Pool
	dir       string
	templates func() *message.Set
	log       *slog.Logger
	// also reads what else lives in the folder (the scoring model) on each reload.
	also func(context.Context) error

	reloadMu sync.Mutex // one reload at a time
	mu       sync.RWMutex
	current  map[string]*scenario.Scenario // by ID
	versions map[versionKey]*scenario.Scenario
	stamp    [32]byte // of the folder as last read
}

type versionKey struct{ id, version string }

func newRegistry(pool *pgxpool.Pool, dir string, templates func() *message.Set, log *slog.Logger, also func(context.Context) error) *Registry {
	return &Registry{pool: pool, dir: dir, templates: templates, log: log, also: also,
		current: map[string]*scenario.Scenario{}, versions: map[versionKey]*scenario.Scenario{}}
}

// Current returns the current scenarios, sorted by ID.
func (r *Registry) Current() []*scenario.Scenario {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*scenario.Scenario, 0, len(r.current))
	for _, s := range r.current {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *scenario.Scenario) int { return cmpString(a.ID, b.ID) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Get returns the current version of a scenario, or nil.
func (r *Registry) Get(id string) *scenario.Scenario {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.current[id]
}

// Version returns a version of a scenario, reading it from the database when this
// process has not loaded it.
func (r *Registry) Version(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id, version string) (*scenario.Scenario, error) {
	key := versionKey{id, version}
	r.mu.RLock()
	s := r.versions[key]
	r.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	var file string
	var src []byte
	err := db.QueryRow(ctx, `SELECT file, source FROM scenario_versions WHERE scenario_id = $1 AND version = $2`, id, version).Scan(&file, &src)
	if err != nil {
		return nil, fmt.Errorf("scenario %s version %s: %w", id, version, err)
	}
	// Templates may have changed since: the version runs as it was written.
	s, err = scenario.Parse(file, src, scenario.Options{})
	if err != nil {
		return nil, fmt.Errorf("scenario %s version %s no longer parses: %w", id, version, err)
	}
	s.ID = id // the ID it was stored under, whatever the file's name now
	r.mu.Lock()
	r.versions[key] = s
	r.mu.Unlock()
	return s, nil
}

// Reload reads the scenarios folder again. Each good file becomes its scenario's
// current version (stored, so that enrollments can finish on it); a file with
// problems is refused and the version running before stays, with every problem in
// the log and in the returned error. A scenario whose file is gone takes no new
// leads; its running enrollments finish.
func (r *Registry) Reload(ctx context.Context) error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	stamp, err := dirwatch.Stamp(r.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("scenarios: %w", err)
	}
	var opts scenario.Options
	if r.templates != nil {
		if set := r.templates(); set != nil {
			opts.HasTemplate = set.Has
		}
	}
	if err != nil && len(r.current) > 0 {
		// A folder that vanished (a deploy swapping it, say) is not every scenario
		// deleted: keep running what ran.
		r.log.Error("scenarios folder missing; the scenarios loaded before stay", "dir", r.dir)
		return fmt.Errorf("scenarios: %w", err)
	}
	var good []*scenario.Scenario
	var loadErr error
	if err == nil {
		good, loadErr = scenario.LoadDir(r.dir, opts)
	}
	for _, s := range good {
		if _, err := r.pool.Exec(ctx, `INSERT INTO scenario_versions (scenario_id, version, file, source)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, s.ID, s.Version, s.File, s.Source); err != nil {
			return fmt.Errorf("store scenario %s: %w", s.ID, err)
		}
	}
	badFiles := map[string]bool{}
	var list scenario.Errors
	if errors.As(loadErr, &list) {
		for _, e := range list {
			badFiles[filepath.Clean(e.File)] = true
			r.log.Error("scenario refused; the version running before stays", "problem", e.Error())
		}
	} else if loadErr != nil {
		r.log.Error("scenarios refused", "error", loadErr)
	}

	// A refused file that this process has no version of (it started while the file
	// was broken) runs its last good version, as stored.
	fallback := map[string]*scenario.Scenario{}
	for file := range badFiles {
		var id, version string
		err := r.pool.QueryRow(ctx, `SELECT scenario_id, version FROM scenario_versions WHERE file = $1
			ORDER BY loaded_at DESC LIMIT 1`, file).Scan(&id, &version)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("scenarios: %w", err)
		}
		if s, err := r.Version(ctx, r.pool, id, version); err == nil {
			fallback[file] = s
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	next := map[string]*scenario.Scenario{}
	for _, s := range good {
		next[s.ID] = s
		r.versions[versionKey{s.ID, s.Version}] = s
		old := r.current[s.ID]
		if old == nil {
			r.log.Info("scenario loaded", "scenario", s.ID, "version", s.Version, "file", s.File)
		} else if old.Version != s.Version {
			r.log.Info("scenario changed: new leads start on the new version, running ones finish on theirs",
				"scenario", s.ID, "version", s.Version, "previous", old.Version)
		}
		if old == nil || old.Version != s.Version {
			for _, w := range s.Warnings {
				r.log.Warn("scenario runs, but check warns", "scenario", s.ID, "warning", w.Error())
			}
		}
	}
	for id, old := range r.current {
		if next[id] != nil {
			continue
		}
		if badFiles[filepath.Clean(old.File)] {
			next[id] = old // refused: keep running the last good version
			continue
		}
		r.log.Warn("scenario file gone: no new leads enter; running enrollments finish", "scenario", id, "file", old.File)
	}
	for file, s := range fallback {
		if next[s.ID] == nil {
			next[s.ID] = s
			r.log.Warn("scenario refused; its last good version, as stored, runs", "scenario", s.ID, "version", s.Version, "file", file)
		}
	}
	r.current = next
	r.stamp = stamp
	if r.also != nil {
		if err := r.also(ctx); err != nil {
			loadErr = errors.Join(loadErr, err)
		}
	}
	return loadErr
}

// watch reloads the folder when a file in it changed and has stayed as it is for a
// tick.
func (r *Registry) watch(ctx context.Context, every time.Duration) {
	loaded := func() [32]byte {
		r.mu.RLock()
		defer r.mu.RUnlock()
		return r.stamp
	}
	dirwatch.Watch(ctx, r.dir, every, loaded, func() {
		r.log.Info("scenarios folder changed; reloading", "dir", r.dir)
		_ = r.Reload(ctx) // problems are logged
	})
}
