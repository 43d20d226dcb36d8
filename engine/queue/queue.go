// Package queue sets up the River client that runs nurture's durable jobs: which
// queues a process works and how much at once, by role. Workers of later stages
// (steps, sends) register themselves on the Workers bundle before the client is made.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// Queues. Sends have their own so that a slow SMTP server never holds up the steps of
// scenarios, and steps theirs so that maintenance never holds up a scenario.
const (
	Default = river.QueueDefault
	Step    = "step"
	Send    = "send"
)

// Roles say what a process does: "web" serves HTTP and only inserts jobs, "worker"
// works jobs, "all" does both.
const (
	RoleAll    = "all"
	RoleWeb    = "web"
	RoleWorker = "worker"
)

// DefaultSendWorkers is how many send jobs a process runs at once unless told.
const DefaultSendWorkers = 100

// Config is how a process uses the queue.
type Config struct {
	// Role is RoleAll, RoleWeb or RoleWorker. Defaults to RoleAll.
	Role string
	// StepWorkers is how many step jobs run at once. Defaults to 50.
	StepWorkers int
	// SendWorkers is how many send jobs run at once. Defaults to DefaultSendWorkers: a send job
	// spends most of its time waiting (for the database, then for one of the SMTP
	// connections), and River hands out jobs in batches after a cooldown, so the
	// connections stay busy only with many more jobs than connections.
	SendWorkers int
	// Logger receives River's logs. Defaults to slog.Default().
	Logger *slog.Logger
	// Only, when set, limits the queues worked to these (a command that sends one
	// message works the send queue alone). Defaults to all of them.
	Only []string
	// RetryPolicy says when a failed job runs again. Defaults to River's exponential
	// backoff (attempt⁴ seconds); tests make it quick.
	RetryPolicy river.ClientRetryPolicy
	// RescueAfter is how long a job may stay running before River takes it for the
	// job of a process that died and runs it again. It must exceed every worker's
	// timeout (sends allow 1 minute); below a minute it also becomes the timeout of
	// the jobs that set none. Defaults to 5 minutes: River's own default, an hour,
	// would leave the enrollments a crashed process was moving stalled that long.
	RescueAfter time.Duration
	// PeriodicJobs are inserted on their schedules by the elected leader among the
	// processes that work jobs, so each fires once however many processes run.
	// Defaults to none.
	PeriodicJobs []*river.PeriodicJob
}

// Client is the River client of this process.
type Client = river.Client[pgx.Tx]

// NoopArgs is a job that does nothing: a probe of the queue itself, and the baseline
// that benchmarks compare real jobs with.
type NoopArgs struct{}

// Kind is the job kind of NoopArgs.
func (NoopArgs) Kind() string { return "noop" }

// NoopWorker works NoopArgs.
type NoopWorker struct {
	river.WorkerDefaults[NoopArgs]
}

// Work does nothing.
func (*NoopWorker) Work(context.Context, *river.Job[NoopArgs]) error { return nil }

// NewWorkers returns a bundle with nurture's built-in workers; callers add theirs.
func NewWorkers() *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, &NoopWorker{})
	return w
}

// New makes the River client for a role. A web-only client inserts jobs and works
// none, so it needs no Start.
func New(pool *pgxpool.Pool, workers *river.Workers, cfg Config) (*Client, error) {
	if cfg.Role == "" {
		cfg.Role = RoleAll
	}
	if cfg.StepWorkers <= 0 {
		cfg.StepWorkers = 50
	}
	if cfg.SendWorkers <= 0 {
		cfg.SendWorkers = DefaultSendWorkers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = 5 * time.Minute
	}
	rc := &river.Config{
		// River waits this long between fetches of a busy queue (100ms by default),
		// which caps a queue at MaxWorkers jobs per cooldown when jobs are quick.
		FetchCooldown: 10 * time.Millisecond,
		Logger:        cfg.Logger,
		Workers:       workers,
		RetryPolicy:   cfg.RetryPolicy,

		RescueStuckJobsAfter: cfg.RescueAfter,
		JobTimeout:           min(time.Minute, cfg.RescueAfter),
	}
	if Works(cfg.Role) {
		rc.PeriodicJobs = cfg.PeriodicJobs
	}
	switch cfg.Role {
	case RoleAll, RoleWorker:
		rc.Queues = map[string]river.QueueConfig{
			Default: {MaxWorkers: 10},
			Step:    {MaxWorkers: cfg.StepWorkers},
			Send:    {MaxWorkers: cfg.SendWorkers},
		}
		if len(cfg.Only) > 0 {
			for name := range rc.Queues {
				if !slices.Contains(cfg.Only, name) {
					delete(rc.Queues, name)
				}
			}
		}
	case RoleWeb:
	default:
		return nil, fmt.Errorf("unknown role %q: want all, web or worker", cfg.Role)
	}
	c, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	return c, nil
}

// Works reports whether a role works jobs.
func Works(role string) bool { return role == "" || role == RoleAll || role == RoleWorker }

// Health is what /healthz says about the queue.
type Health struct {
	OK bool `json:"ok"`
	// Working is whether this process works jobs (its role is all or worker).
	Working bool `json:"working"`
	// Available counts jobs due now that no worker has taken yet, and OldestSeconds is
	// how long the oldest of them has waited: a backlog shows here first.
	Available     int64   `json:"available"`
	OldestSeconds float64 `json:"oldest_seconds"`
	Error         string  `json:"error,omitempty"`
}

// Check reports the queue's health: whether this process's client runs and how much
// work waits.
func Check(ctx context.Context, pool *pgxpool.Pool, c *Client, working bool) Health {
	h := Health{OK: true, Working: working}
	if working {
		select {
		case <-c.Stopped():
			h.OK, h.Error = false, "the job client has stopped"
			return h
		default:
		}
	}
	err := pool.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM now() - min(scheduled_at)), 0)
		FROM river_job WHERE state = 'available' AND scheduled_at <= now()`).Scan(&h.Available, &h.OldestSeconds)
	if err != nil {
		h.OK, h.Error = false, "cannot read the job table"
		if errors.Is(err, context.DeadlineExceeded) {
			h.Error = "the job table did not answer in time"
		}
	}
	return h
}

// ProbeTimeout bounds a health check.
const ProbeTimeout = 2 * time.Second
