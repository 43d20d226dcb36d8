package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/nurture-dev/nurture/engine/flow"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/sales"
	"github.com/nurture-dev/nurture/engine/score"
	"github.com/nurture-dev/nurture/web/ui"
)

// leadsPage is what the lead list shows: the filters as given, their choices, a
// page of leads and the links to the next page and back to the first.
type leadsPage struct {
	Q, Stage, Grade, Tag, Sort string
	Owner                      int64
	Stages, Grades             []string
	Owners                     []*sales.User
	Leads                      []*lead.Lead
	Next, First                string
}

// leadSearch reads the list's filters from the query string. Only the values each
// may take are kept; anything else (a stage that is no stage, a sort that is no
// sort) is ignored, as if the filter were not given.
func leadSearch(c echo.Context) lead.Search {
	q := c.QueryParams()
	s := lead.Search{Text: q.Get("q"), Tag: q.Get("tag"), After: q.Get("after"), Sort: lead.SortCreated}
	if v := q.Get("sort"); v == lead.SortScore || v == lead.SortCreated {
		s.Sort = v
	}
	if v := q.Get("stage"); slices.Contains(lead.Stages, v) {
		s.Stage = v
	}
	if v := q.Get("grade"); slices.Contains(lead.GradeNames, v) {
		s.Grade = v
	}
	if id, err := strconv.ParseInt(q.Get("owner"), 10, 64); err == nil && id > 0 {
		s.OwnerID = id
	}
	return s
}

// query is the list's query string for s, on the page after after.
func (p *leadsPage) query(after string) string {
	v := url.Values{}
	for k, x := range map[string]string{"q": p.Q, "stage": p.Stage, "grade": p.Grade, "tag": p.Tag, "sort": p.Sort, "after": after} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if p.Owner != 0 {
		v.Set("owner", strconv.FormatInt(p.Owner, 10))
	}
	return "/admin/leads?" + v.Encode()
}

// showLeadsPage lists leads: search, filters, sort, and keyset pages.
func (s *Server) showLeadsPage(c echo.Context) error {
	ctx := c.Request().Context()
	search := leadSearch(c)
	search.Limit = 50
	res, err := lead.SearchLeads(ctx, s.deps.Pool, search)
	var fe *lead.FieldError
	if errors.As(err, &fe) && fe.Field == "after" {
		return &consoleError{http.StatusBadRequest, "ページの指定が正しくありません。最初のページから開き直してください。"}
	}
	if err != nil {
		return err
	}
	users, err := sales.FindUsers(ctx, s.deps.Pool)
	if err != nil {
		return err
	}
	p := leadsPage{Q: search.Text, Stage: search.Stage, Grade: search.Grade, Tag: search.Tag, Sort: search.Sort,
		Owner: search.OwnerID, Stages: lead.Stages, Grades: lead.GradeNames, Leads: res.Leads}
	for _, u := range users {
		if u.Role == sales.RoleSales {
			p.Owners = append(p.Owners, u)
		}
	}
	if res.Next != "" {
		p.Next = p.query(res.Next)
	}
	if search.After != "" {
		p.First = p.query("")
	}
	return s.render(c, http.StatusOK, ui.Leads, consoleData{Title: "リード", Nav: "leads", Page: p})
}

// timelineLimit is how many of a lead's latest events its page shows.
const timelineLimit = 200

// leadPage is what a lead's page shows.
type leadPage struct {
	Lead         *lead.Lead
	Owner        *sales.User
	NextStages   []string
	Breakdown    *score.Breakdown
	Enrollments  []flow.Enrollment
	Timeline     []timelineEvent
	MoreTimeline bool
}

// timelineEvent is an event as the timeline shows it: an open's or a click's
// verdict and its reasons apart, every other property as text.
type timelineEvent struct {
	Type       string
	OccurredAt time.Time
	Verdict    string
	Reasons    []string
	Props      []prop
}

type prop struct{ Key, Value string }

func newTimelineEvent(e lead.Event) timelineEvent {
	te := timelineEvent{Type: e.Type, OccurredAt: e.OccurredAt}
	keys := make([]string, 0, len(e.Properties))
	for k := range e.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := e.Properties[k]
		switch k {
		case "verdict":
			te.Verdict, _ = v.(string)
			continue
		case "reasons":
			if rs, ok := v.([]any); ok {
				for _, r := range rs {
					te.Reasons = append(te.Reasons, fmt.Sprint(r))
				}
				continue
			}
		}
		te.Props = append(te.Props, prop{Key: k, Value: propText(v)})
	}
	return te
}

// propText is a property's value as text: strings as they are, anything else as JSON.
func propText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// leadID reads the lead ID of the path; a bad one is a missing lead.
func leadID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, lead.ErrNotFound
	}
	return id, nil
}

// findLeadPage gathers what a lead's page shows.
func (s *Server) findLeadPage(c echo.Context, id int64) (*leadPage, error) {
	ctx := c.Request().Context()
	l, err := lead.FindLeadByID(ctx, s.deps.Pool, id)
	if err != nil {
		return nil, err
	}
	p := &leadPage{Lead: l, NextStages: lead.AllowedStages(l.Stage)}
	if l.OwnerID != nil {
		if p.Owner, err = sales.FindUserByID(ctx, s.deps.Pool, *l.OwnerID); err != nil && !errors.Is(err, sales.ErrUserNotFound) {
			return nil, err
		}
	}
	if p.Breakdown, err = score.FindBreakdown(ctx, s.deps.Pool, s.scoringModel(), id, s.cfg.Now()); err != nil {
		return nil, err
	}
	if p.Enrollments, err = flow.FindEnrollments(ctx, s.deps.Pool, id); err != nil {
		return nil, err
	}
	events, err := lead.Timeline(ctx, s.deps.Pool, id, timelineLimit+1)
	if err != nil {
		return nil, err
	}
	if len(events) > timelineLimit {
		events, p.MoreTimeline = events[:timelineLimit], true
	}
	for _, e := range events {
		p.Timeline = append(p.Timeline, newTimelineEvent(e))
	}
	return p, nil
}

// leadTitle is a lead's name for the page title, else its email.
func leadTitle(l *lead.Lead) string {
	if n := l.LastName + " " + l.FirstName; n != " " {
		return n
	}
	return l.Email
}

// showLeadPage shows a lead: profile, stage, score, BANT, enrollments, timeline.
func (s *Server) showLeadPage(c echo.Context) error {
	id, err := leadID(c)
	if err != nil {
		return err
	}
	p, err := s.findLeadPage(c, id)
	if err != nil {
		return err
	}
	d := consoleData{Title: leadTitle(p.Lead), Nav: "leads", Page: p}
	if c.QueryParam("moved") != "" {
		d.Flash = "ステージを変更しました。"
	}
	return s.render(c, http.StatusOK, ui.Lead, d)
}

// saveLeadStage moves a lead to another stage, as the signed-in user.
func (s *Server) saveLeadStage(c echo.Context) error {
	id, err := leadID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	change := lead.StageChange{To: c.FormValue("stage"), Cause: sales.UserCause(currentUser(c).ID), Reason: c.FormValue("reason")}
	err = pgx.BeginFunc(ctx, s.deps.Pool, func(tx pgx.Tx) error {
		_, err := lead.SetStage(ctx, tx, id, change)
		return err
	})
	var se *lead.StageError
	var fe *lead.FieldError
	switch {
	case err == nil, errors.Is(err, lead.ErrStageUnchanged):
		return c.Redirect(http.StatusSeeOther, "/admin/leads/"+strconv.FormatInt(id, 10)+"?moved=1")
	case errors.As(err, &se), errors.As(err, &fe):
		p, perr := s.findLeadPage(c, id)
		if perr != nil {
			return perr
		}
		msg := "このステージには移動できません。"
		if fe != nil && fe.Field == "reason" {
			msg = "失注・再育成に移すときは理由を入力してください。"
		}
		return s.render(c, http.StatusUnprocessableEntity, ui.Lead, consoleData{Title: leadTitle(p.Lead), Nav: "leads", Error: msg, Page: p})
	}
	return err
}
