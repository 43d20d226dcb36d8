package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/nurture-dev/nurture/engine/flow"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/score"
)

// timelineLength is how many recent events a lead's page of the API carries.
const timelineLength = 50

// leadView is a lead as the API shows it: its fields, its enrollments in scenarios and
// its recent timeline.
type leadView struct {
	*lead.Lead
	// ScoreBreakdown explains the score: its parts and the points of each rule.
	ScoreBreakdown *score.Breakdown `json:"score_breakdown"`
	// NextStages are the stages the lifecycle allows the lead to move to.
	NextStages  []string          `json:"next_stages"`
	Enrollments []flow.Enrollment `json:"enrollments"`
	Timeline    []lead.Event      `json:"timeline"`
}

// saveLead creates or updates a lead by email: 201 when created, 200 when updated.
func (s *Server) saveLead(c echo.Context) error {
	var in lead.Input
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	out, err := lead.Upsert(ctx, s.deps.Pool, "api", []lead.Input{in})
	if err != nil {
		return err
	}
	view, err := s.leadView(c, out[0].ID)
	if err != nil {
		return err
	}
	code := http.StatusOK
	if out[0].Created {
		code = http.StatusCreated
		c.Response().Header().Set(echo.HeaderLocation, "/api/v1/leads/"+strconv.FormatInt(out[0].ID, 10))
	}
	return c.JSON(code, view)
}

// showLead returns a lead with its recent timeline.
func (s *Server) showLead(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return lead.ErrNotFound
	}
	view, err := s.leadView(c, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}

func (s *Server) leadView(c echo.Context, id int64) (leadView, error) {
	ctx := c.Request().Context()
	l, err := lead.FindLeadByID(ctx, s.deps.Pool, id)
	if err != nil {
		return leadView{}, err
	}
	events, err := lead.Timeline(ctx, s.deps.Pool, id, timelineLength)
	if err != nil {
		return leadView{}, err
	}
	enrollments, err := flow.FindEnrollments(ctx, s.deps.Pool, id)
	if err != nil {
		return leadView{}, err
	}
	bd, err := score.FindBreakdown(ctx, s.deps.Pool, s.scoringModel(), id, s.cfg.Now())
	if err != nil {
		return leadView{}, err
	}
	return leadView{Lead: l, ScoreBreakdown: bd, NextStages: lead.AllowedStages(l.Stage), Enrollments: enrollments, Timeline: events}, nil
}

// scoringModel is the scoring model in use, or the default one.
func (s *Server) scoringModel() *score.Model {
	if s.deps.Scorer == nil {
		return score.Default()
	}
	return s.deps.Scorer.Model()
}

// stageRequest is the body of POST /api/v1/leads/{id}/stage.
type stageRequest struct {
	Stage  string `json:"stage"`
	Reason string `json:"reason"`
}

// saveStage moves a lead to another stage, as sales or a CRM decides: 200 with the
// lead, 422 naming the allowed stages when the lifecycle does not allow the move.
func (s *Server) saveStage(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return lead.ErrNotFound
	}
	var req stageRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Stage == "" {
		return &lead.FieldError{Field: "stage", Reason: "is required"}
	}
	ctx := c.Request().Context()
	by, _ := c.Get("api_key").(string)
	err = pgx.BeginFunc(ctx, s.deps.Pool, func(tx pgx.Tx) error {
		_, err := lead.SetStage(ctx, tx, id, lead.StageChange{To: req.Stage, Cause: "api_key:" + by, Reason: req.Reason})
		return err
	})
	if err != nil && !errors.Is(err, lead.ErrStageUnchanged) {
		return err
	}
	view, err := s.leadView(c, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}

// showFunnel returns the Demand Waterfall for ?from=&to= (RFC 3339 or YYYY-MM-DD;
// the last 90 days by default).
func (s *Server) showFunnel(c echo.Context) error {
	to := s.cfg.Now()
	from := to.AddDate(0, 0, -90)
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := c.QueryParam(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t, err = time.ParseInLocation(time.DateOnly, v, time.UTC)
		}
		if err != nil {
			return newAPIError(http.StatusBadRequest, p.name, "%s must be a date (2026-04-01) or a time (2026-04-01T09:00:00+09:00)", p.name)
		}
		*p.dst = t
	}
	if !from.Before(to) {
		return newAPIError(http.StatusBadRequest, "from", "from must be before to")
	}
	f, err := lead.FindFunnel(c.Request().Context(), s.deps.Pool, from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, f)
}
