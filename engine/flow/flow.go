// Package flow runs scenarios as durable River jobs. A lead enters a scenario when an
// event matches its trigger (the dispatcher sees every new event, whichever path
// wrote it) or when its schedule fires; each step job locks its enrollment, runs the
// scenario's steps with scenario.Advance until one must wait, carries out their
// effects (messages, lead updates, stage changes, escalations) and schedules the next
// job, all in one transaction with the job's completion. Opens and clicks wake the
// enrollments waiting on them; goals, exits, unsubscribes and bounces end them.
package flow

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/robfig/cron/v3"

	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/score"
)

// Config is what the engine needs.
type Config struct {
	// Pool is the database.
	Pool *pgxpool.Pool
	// Mailer queues the messages of send steps.
	Mailer *mail.Mailer
	// ScenariosDir holds the scenario files. Defaults to "scenarios".
	ScenariosDir string
	// Templates is the current template set, to check that sends name real
	// templates. Nil skips that check.
	Templates func() *message.Set
	// Settle is how long a click waits before a wait_until step believes it, so that
	// a scanner burst can reveal itself; 0 believes it at once.
	Settle time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// DispatchInterval is how often the dispatcher looks for new events when no
	// notification woke it. Defaults to 1s.
	DispatchInterval time.Duration
	// ScheduleTick is how often scheduled triggers are looked at. Defaults to 1
	// minute.
	ScheduleTick time.Duration
	// SchedulePage is how many leads a scheduled firing reads and enrolls in one
	// transaction. Defaults to 1000.
	SchedulePage int
	// WatchInterval is how often the scenarios folder is looked at for changes; a
	// negative value does not watch. Defaults to 2s.
	WatchInterval time.Duration
	// Scorer scores each event before the scenarios see it, with the model in the
	// scenarios folder's scoring.yaml. Defaults to a scorer of its own.
	Scorer *score.Scorer
	// OnEscalation is shown every escalation_requested event, in the transaction
	// that takes the event off the dispatch queue, so that what it inserts (a job
	// handing the lead to sales) commits exactly when the event is dispatched: a
	// crash can neither lose the escalation nor act on it twice. An error fails the
	// batch, which is dispatched again. Defaults to none: escalations are recorded
	// and nothing else.
	OnEscalation func(ctx context.Context, tx pgx.Tx, rc *queue.Client, leadID, eventID int64, props map[string]any) error
}

// Engine runs scenarios.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	registry *Registry
	scorer   *score.Scorer

	mu     sync.Mutex
	client *queue.Client
}

// New makes an engine; Load reads the scenarios.
func New(cfg Config) *Engine {
	if cfg.ScenariosDir == "" {
		cfg.ScenariosDir = "scenarios"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DispatchInterval <= 0 {
		cfg.DispatchInterval = time.Second
	}
	if cfg.ScheduleTick <= 0 {
		cfg.ScheduleTick = time.Minute
	}
	if cfg.SchedulePage <= 0 {
		cfg.SchedulePage = 1000
	}
	if cfg.WatchInterval == 0 {
		cfg.WatchInterval = 2 * time.Second
	}
	if cfg.Scorer == nil {
		cfg.Scorer = score.NewScorer(cfg.Logger)
	}
	e := &Engine{cfg: cfg, log: cfg.Logger, scorer: cfg.Scorer}
	e.registry = newRegistry(cfg.Pool, cfg.ScenariosDir, cfg.Templates, cfg.Logger, e.loadScoring)
	return e
}

// Registry is the engine's scenarios.
func (e *Engine) Registry() *Registry { return e.registry }

// Load reads the scenarios folder (see Registry.Reload).
func (e *Engine) Load(ctx context.Context) error { return e.registry.Reload(ctx) }

// AddWorkers registers the engine's job workers.
func (e *Engine) AddWorkers(w *river.Workers) {
	river.AddWorker(w, &StepWorker{engine: e})
	river.AddWorker(w, &ScheduleWorker{engine: e})
	e.addScoreWorkers(w)
}

// PeriodicJobs are the engine's periodic jobs, inserted by River's elected leader
// only: the tick that fires scheduled triggers, and the hourly decay of behaviour
// points (which also applies a scoring model that no re-score has applied yet).
func (e *Engine) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(e.cfg.ScheduleTick),
			func() (river.JobArgs, *river.InsertOpts) { return ScheduleArgs{}, nil },
			&river.PeriodicJobOpts{ID: "schedule_tick", RunOnStart: true}),
		river.NewPeriodicJob(decaySchedule,
			func() (river.JobArgs, *river.InsertOpts) { return score.DecayArgs{}, nil },
			&river.PeriodicJobOpts{ID: "score_decay", RunOnStart: true}),
	}
}

// decaySchedule runs the decay at 17 minutes past every hour (off the hour, when
// scheduled scenarios fire).
var decaySchedule = mustCron("17 * * * *")

func mustCron(spec string) river.PeriodicSchedule {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		panic(err)
	}
	return s
}

// Run dispatches events to the scenarios and watches the scenarios folder until ctx
// is done. It needs the River client to enqueue step jobs.
func (e *Engine) Run(ctx context.Context, client *queue.Client) error {
	e.setClient(client)
	var wg sync.WaitGroup
	if e.cfg.WatchInterval > 0 {
		wg.Go(func() { e.registry.watch(ctx, e.cfg.WatchInterval) })
	}
	err := e.dispatchLoop(ctx)
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (e *Engine) setClient(c *queue.Client) {
	e.mu.Lock()
	e.client = c
	e.mu.Unlock()
}

func (e *Engine) queue(ctx context.Context) (*queue.Client, error) {
	if c, err := river.ClientFromContextSafely[pgx.Tx](ctx); err == nil {
		return c, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client == nil {
		return nil, fmt.Errorf("flow: no job client")
	}
	return e.client, nil
}
