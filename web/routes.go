package web

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
