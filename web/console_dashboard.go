package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/sales"
	"github.com/nurture-dev/nurture/web/ui"
)

// dashboardDays is the window of the dashboard's funnel.
const dashboardDays = 90

// dashboardPage is what the dashboard shows.
type dashboardPage struct {
	Days         int
	Funnel       *lead.Funnel
	Chart        funnelChart
	Waiting      []*sales.Handoff
	WaitingTotal int
}

// funnelChart is the funnel drawn as horizontal bars, in SVG user units: the
// template only places what is computed here.
type funnelChart struct {
	Width, Height int
	Bars          []funnelBar
}

type funnelBar struct {
	Label, Value string
	X, Y, W, H   int
	TextY        int
	ValueX       int
}

// waterfall are the stages the chart draws, in order.
var waterfall = []string{lead.StageInquiry, lead.StageMQL, lead.StageSAL, lead.StageSQL, lead.StageWon}

var waterfallLabels = map[string]string{
	lead.StageInquiry: "問い合わせ", lead.StageMQL: "MQL", lead.StageSAL: "SAL", lead.StageSQL: "SQL", lead.StageWon: "受注",
}

// newFunnelChart draws how many leads entered each stage of the waterfall.
func newFunnelChart(f *lead.Funnel) funnelChart {
	const labelW, barMax, rowH, barH, width = 90, 440, 34, 22, 620
	entered := map[string]int{}
	most := 0
	for _, st := range f.Stages {
		entered[st.Stage] = st.Entered
		most = max(most, st.Entered)
	}
	ch := funnelChart{Width: width, Height: rowH*len(waterfall) + 8}
	for i, st := range waterfall {
		n := entered[st]
		w := 0
		if most > 0 {
			w = n * barMax / most
		}
		if n > 0 {
			w = max(w, 2)
		}
		y := 4 + i*rowH
		ch.Bars = append(ch.Bars, funnelBar{Label: waterfallLabels[st], Value: strconv.Itoa(n),
			X: labelW, Y: y, W: w, H: barH, TextY: y + 16, ValueX: labelW + w + 8})
	}
	return ch
}

// showDashboardPage shows the funnel, the counts and the hot leads waiting for sales.
func (s *Server) showDashboardPage(c echo.Context) error {
	ctx := c.Request().Context()
	to := s.cfg.Now()
	f, err := lead.FindFunnel(ctx, s.deps.Pool, to.AddDate(0, 0, -dashboardDays), to)
	if err != nil {
		return err
	}
	waiting, total, err := sales.Waiting(ctx, s.deps.Pool, 20)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, ui.Dashboard, consoleData{Title: "ダッシュボード", Nav: "dashboard",
		Page: dashboardPage{Days: dashboardDays, Funnel: f, Chart: newFunnelChart(f), Waiting: waiting, WaitingTotal: total}})
}

// showUsersPage lists the users, for admins.
func (s *Server) showUsersPage(c echo.Context) error {
	users, err := sales.FindUsers(c.Request().Context(), s.deps.Pool)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, ui.Users, consoleData{Title: "ユーザー", Nav: "users",
		Page: struct{ Users []*sales.User }{users}})
}
