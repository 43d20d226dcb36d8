package flow

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/riverqueue/river"

	"github.com/nurture-dev/nurture/engine/scenario"
	"github.com/nurture-dev/nurture/engine/score"
)

// Scorer is the engine's scorer, whose model is the scenarios folder's scoring.yaml.
func (e *Engine) Scorer() *score.Scorer { return e.scorer }

// loadScoring reads scoring.yaml with the scenarios. A model with problems (its own
// inline tests included) is refused and the one running before stays; a new model is
// stored, and every lead is re-scored with it by a job, once, whichever process
// loaded it first.
func (e *Engine) loadScoring(ctx context.Context) error {
	file := filepath.Join(e.cfg.ScenariosDir, score.FileName)
	src, err := scenario.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		if e.scorer.Model().Version != "default" {
			e.log.Warn("scoring model removed: events give no points now; scores stay as they are", "file", file)
			e.scorer.Set(score.Default())
		}
		return nil
	}
	if err != nil {
		e.log.Error("scoring model unreadable; the model running before stays", "file", file, "error", err)
		return err
	}
	m, err := score.Check(file, src)
	if err != nil {
		e.log.Error("scoring model refused; the model running before stays", "file", file, "problem", err.Error())
		return err
	}
	if m.Version == e.scorer.Model().Version {
		return nil
	}
	if _, err := score.Store(ctx, e.cfg.Pool, m); err != nil {
		return err
	}
	e.scorer.Set(m)
	e.log.Info("scoring model loaded; every lead is re-scored with it", "file", file, "version", m.Version,
		"profile_rules", len(m.Profile), "behavior_rules", len(m.Behavior), "half_life", m.HalfLife.String())
	// Before the job client runs (start-up), the decay job's first run applies it.
	if c, err := e.queue(ctx); err == nil {
		if _, err := c.Insert(ctx, score.RescoreArgs{Version: m.Version}, nil); err != nil {
			e.log.Warn("re-score not queued; the next decay run applies the model", "error", err)
		}
	}
	return nil
}

// scoreWorker is what the scoring jobs need.
func (e *Engine) scoreWorker() *score.Worker {
	return &score.Worker{Scorer: e.scorer, Pool: e.cfg.Pool, Now: e.cfg.Now, Log: e.log}
}

// addScoreWorkers registers the scoring jobs' workers.
func (e *Engine) addScoreWorkers(w *river.Workers) {
	river.AddWorker(w, &score.RescoreWorker{Worker: e.scoreWorker()})
	river.AddWorker(w, &score.DecayWorker{Worker: e.scoreWorker()})
}
