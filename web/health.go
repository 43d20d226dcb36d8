package web

import (
	"context"
	"net/http"
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

// showHealth answers 200 when the database answers and the queue works, 503 otherwise.
// Errors are described, not quoted: the endpoint is public.
func (s *Server) showHealth(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), queue.ProbeTimeout)
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
	status := http.StatusOK
	if !h.Database.OK || !h.Queue.OK {
		h.Status = "unavailable"
		status = http.StatusServiceUnavailable
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, h)
}
