package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/nurture-dev/nurture/engine/apikey"
)

// requireAPIKey lets a request through only with a valid bearer key.
func (s *Server) requireAPIKey(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		scheme, secret, ok := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			return newAPIError(http.StatusUnauthorized, "", "missing API key: send Authorization: Bearer <key>")
		}
		key, err := apikey.Verify(c.Request().Context(), s.deps.Pool, strings.TrimSpace(secret))
		if err != nil {
			return err
		}
		c.Set("api_key", key.Name)
		return next(c)
	}
}
