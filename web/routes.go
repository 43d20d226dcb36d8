package web

// routes registers every route of the server, in one place.
func (s *Server) routes() {
	e := s.echo
	e.Use(s.middlewares()...)

	// Health, for load balancers and operators.
	e.GET("/healthz", s.showHealth)

	// JSON API, behind bearer keys.
	api := e.Group("/api/v1", s.requireAPIKey)
	api.POST("/leads", s.saveLead)
	api.GET("/leads/:id", s.showLead)
	api.POST("/events", s.saveEvent)
}
