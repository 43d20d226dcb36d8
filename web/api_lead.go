package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/nurture-dev/nurture/engine/flow"
	"github.com/nurture-dev/nurture/engine/lead"
)

// timelineLength is how many recent events a lead's page of the API carries.
const timelineLength = 50

// leadView is a lead as the API shows it: its fields, its enrollments in scenarios and
// its recent timeline.
type leadView struct {
	*lead.Lead
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
	return leadView{Lead: l, Enrollments: enrollments, Timeline: events}, nil
}
