package web

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/nurture-dev/nurture/engine/lead"
)

// eventRequest is POST /api/v1/events: an event for the lead with this email, which is
// created if it does not exist. Lead may carry what a form asked (name, company…).
type eventRequest struct {
	Email      string          `json:"email"`
	Type       string          `json:"type"`
	Form       string          `json:"form"`
	URL        string          `json:"url"`
	Props      map[string]any  `json:"props"`
	OccurredAt string          `json:"occurred_at"`
	Lead       json.RawMessage `json:"lead"`
}

type eventResponse struct {
	LeadID      int64      `json:"lead_id"`
	LeadCreated bool       `json:"lead_created"`
	Event       lead.Event `json:"event"`
}

// saveEvent records an event reported by a client.
func (s *Server) saveEvent(c echo.Context) error {
	var req eventRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var in lead.Input
	if len(req.Lead) > 0 && string(req.Lead) != "null" {
		if err := decodeObject(req.Lead, &in, "lead."); err != nil {
			return err
		}
		if in.Email != "" && !strings.EqualFold(strings.TrimSpace(in.Email), strings.TrimSpace(req.Email)) {
			return newAPIError(http.StatusUnprocessableEntity, "lead.email", "lead.email: must be left out or equal email")
		}
	}
	in.Email = req.Email
	ev := lead.ClientEvent{Type: req.Type, Properties: maps.Clone(req.Props)}
	if ev.Properties == nil {
		ev.Properties = map[string]any{}
	}
	if req.Form != "" {
		ev.Properties["form"] = req.Form
	}
	if req.URL != "" {
		ev.Properties["url"] = req.URL
	}
	if req.OccurredAt != "" {
		t, err := time.Parse(time.RFC3339Nano, req.OccurredAt)
		if err != nil {
			return newAPIError(http.StatusUnprocessableEntity, "occurred_at", "occurred_at: %.40q is not an RFC 3339 time such as 2026-04-01T09:30:00+09:00", req.OccurredAt)
		}
		ev.OccurredAt = t
	}
	out, event, err := lead.RecordClientEvent(c.Request().Context(), s.deps.Pool, "api", in, ev, s.cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, eventResponse{LeadID: out.ID, LeadCreated: out.Created, Event: event})
}
