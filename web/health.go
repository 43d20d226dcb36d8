package web

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/nurture-dev/nurture/engine/queue"
)

type databaseHealth struct {
	OK        bool    `json:"ok"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

type health struct {
	Status   string         `json:"status"`
	Database databaseHealth `json:"database"`
	Queue    queue.Health   `json:"queue"`
}

// publicHealth is what /healthz tells a caller without an API key: whether the
// server works, not how much it has to do.
type publicHealth struct {
	Status   string `json:"status"`
	Database okFlag `json:"database"`
	Queue    okFlag `json:"queue"`
}

type okFlag struct {
	OK bool `json:"ok"`
}

// showHealth answers 200 when the database answered and the queue worked at the
// latest check, 503 otherwise. The checks run in the background every
// Config.HealthInterval, so however often the endpoint is asked, the database is
// not. A caller with an API key is shown the details (latency, queue backlog);
// errors are described, not quoted.
func (s *Server) showHealth(c echo.Context) error {
	detailed := c.Request().Header.Get(echo.HeaderAuthorization) != ""
	if detailed {
		if _, err := s.authenticate(c); err != nil {
			return err
		}
	}
	h, err := s.health.Latest(c.Request().Context())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	if detailed {
		return c.JSON(status, h)
	}
	return c.JSON(status, publicHealth{Status: h.Status, Database: okFlag{h.Database.OK}, Queue: okFlag{h.Queue.OK}})
}

// checkHealth asks the database and the queue how they are.
func (s *Server) checkHealth(ctx context.Context) health {
	ctx, cancel := context.WithTimeout(ctx, queue.ProbeTimeout)
	defer cancel()
	h := health{Status: "ok"}
	start := time.Now()
	if err := s.deps.Pool.Ping(ctx); err != nil {
		h.Database.Error = "the database does not answer"
		s.log.Warn("health: database ping failed", "error", err)
	} else {
		h.Database.OK = true
	}
	h.Database.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
	if h.Database.OK {
		h.Queue = queue.Check(ctx, s.deps.Pool, s.deps.Queue, s.deps.Working)
	} else {
		h.Queue = queue.Health{Working: s.deps.Working, Error: "the database does not answer"}
	}
	if !h.Database.OK || !h.Queue.OK {
		h.Status = "unavailable"
	}
	return h
}

// healthMonitor runs a health check every interval in the background and keeps the
// latest answer. It starts with the first request for it, so that a server nobody
// asks (in tests, in benchmarks) checks nothing.
type healthMonitor struct {
	check    func(context.Context) health
	interval time.Duration

	start  sync.Once
	ready  chan struct{} // closed when the first check is in
	latest atomic.Pointer[health]
	ctx    context.Context
	stop   context.CancelFunc
	done   chan struct{}
}

func newHealthMonitor(check func(context.Context) health, interval time.Duration) *healthMonitor {
	ctx, stop := context.WithCancel(context.Background())
	return &healthMonitor{check: check, interval: interval, ready: make(chan struct{}), ctx: ctx, stop: stop,
		done: make(chan struct{})}
}

// Latest returns the latest check, waiting for the first one if none has run yet.
func (m *healthMonitor) Latest(ctx context.Context) (health, error) {
	m.start.Do(func() { go m.run() })
	select {
	case <-m.ready:
		return *m.latest.Load(), nil
	case <-ctx.Done():
		return health{}, ctx.Err()
	}
}

func (m *healthMonitor) run() {
	defer close(m.done)
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for first := true; ; first = false {
		h := m.check(m.ctx)
		if m.ctx.Err() != nil {
			return
		}
		m.latest.Store(&h)
		if first {
			close(m.ready)
		}
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close stops the checks and waits for one in progress to end.
func (m *healthMonitor) Close() {
	m.start.Do(func() { close(m.done) }) // never started: nothing to wait for
	m.stop()
	<-m.done
}
