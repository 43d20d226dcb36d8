package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/nurture-dev/nurture/engine/sales"
)

// routes registers every route of the server, in one place.
func (s *Server) routes() {
	e := s.echo
	e.Use(s.middlewares()...)

	// Health, for load balancers and operators.
	e.GET("/healthz", s.showHealth)

	// Tracking and unsubscribe, public: every token is signed.
	if s.deps.Mailer != nil {
		e.GET("/t/o/:token", s.showPixel)
		e.HEAD("/t/o/:token", s.showPixel)
		e.GET("/t/c/:token", s.followLink)
		e.HEAD("/t/c/:token", s.followLink)
		e.GET("/u/:token", s.showUnsubscribe)
		e.POST("/u/:token", s.unsubscribe)
	}

	// Sales hand-off, public: the accept token is signed. A GET only shows.
	if s.deps.Sales != nil {
		e.GET("/s/:token", s.showHandoff)
		e.POST("/s/:token", s.decideHandoff)
	}

	// Console, for people: pages behind a session, every form with its token.
	e.GET("/admin/static/:file", s.showStylesheet)
	e.GET("/admin/login", s.showLoginPage)
	e.POST("/admin/login", s.login)
	e.GET("/admin", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/admin/") })
	admin := e.Group("/admin", s.requireSession)
	admin.POST("/logout", s.logout)
	admin.GET("/", s.showDashboardPage, requireRole(everyone...))
	admin.GET("/leads", s.showLeadsPage, requireRole(everyone...))
	admin.GET("/leads/:id", s.showLeadPage, requireRole(everyone...))
	admin.POST("/leads/:id/stage", s.saveLeadStage, requireRole(everyone...))
	admin.GET("/password", s.showPasswordPage)
	admin.POST("/password", s.savePassword)
	admin.GET("/users", s.showUsersPage, requireRole(sales.RoleAdmin))

	// JSON API, behind bearer keys.
	api := e.Group("/api/v1", s.requireAPIKey)
	api.POST("/leads", s.saveLead)
	api.GET("/leads/:id", s.showLead)
	api.POST("/leads/:id/stage", s.saveStage)
	api.POST("/events", s.saveEvent)
	api.GET("/funnel", s.showFunnel)
	if s.deps.Sales != nil {
		api.GET("/sales/inbox", s.showInbox)
		api.POST("/leads/:id/accept", s.acceptLead)
		api.POST("/leads/:id/reject", s.rejectLead)
	}
}
