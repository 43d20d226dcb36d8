package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/sales"
	"github.com/nurture-dev/nurture/engine/session"
	"github.com/nurture-dev/nurture/web/ui"
)

// The console's cookies: the session's secret, and before login the token that
// ties the login form to the browser that asked for it.
const (
	sessionCookie = "nurture_session"
	loginCookie   = "nurture_login"
	csrfField     = "csrf_token"
)

// consoleError is a console request refused, with its status and what the person
// is told, in Japanese.
type consoleError struct {
	Status  int
	Message string
}

func (e *consoleError) Error() string { return e.Message }

var (
	errForbidden = &consoleError{http.StatusForbidden, "この操作を行う権限がありません。"}
	errCSRF      = &consoleError{http.StatusForbidden, "フォームの有効期限が切れたか、別のサイトから送信されました。ページを再読み込みしてからやり直してください。"}
)

// consoleData is what every console page gets: the signed-in user (nil on the
// login page), the form token, the current section and the page's own data.
type consoleData struct {
	Title string
	Nav   string
	User  *sales.User
	CSRF  string
	Flash string
	Error string
	Page  any
}

// isConsole reports whether a request is for the console, whose errors are pages.
func isConsole(c echo.Context) bool {
	p := c.Request().URL.Path
	return p == "/admin" || strings.HasPrefix(p, "/admin/")
}

// consoleHeaders are the headers of every console answer: never cached, never
// framed, and no script or style but our own.
func consoleHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Robots-Tag", "noindex, nofollow")
}

// render writes a console page: the signed-in user and the form token come from
// the request.
func (s *Server) render(c echo.Context, code int, p *ui.Page, d consoleData) error {
	if d.User == nil {
		d.User, _ = c.Get("user").(*sales.User)
	}
	if sess, ok := c.Get("session").(*session.Session); ok && d.CSRF == "" {
		d.CSRF = sess.CSRFToken
	}
	var buf bytes.Buffer
	if err := p.Execute(&buf, d); err != nil {
		return err
	}
	consoleHeaders(c)
	return c.HTMLBlob(code, buf.Bytes())
}

// renderConsoleError writes an error as a console page.
func (s *Server) renderConsoleError(c echo.Context, err error) {
	code, msg := http.StatusInternalServerError, "サーバーでエラーが発生しました。時間をおいてやり直してください。"
	var ce *consoleError
	var he *echo.HTTPError
	var fe *lead.FieldError
	var se *lead.StageError
	switch {
	case errors.As(err, &ce):
		code, msg = ce.Status, ce.Message
	case errors.Is(err, lead.ErrNotFound):
		code, msg = http.StatusNotFound, "リードが見つかりません。"
	case errors.As(err, &se):
		code, msg = http.StatusUnprocessableEntity, "このステージには移動できません："+se.Error()
	case errors.As(err, &fe):
		code, msg = http.StatusUnprocessableEntity, "入力内容を確認してください："+fe.Error()
	case errors.As(err, &he):
		code = he.Code
		switch code {
		case http.StatusNotFound, http.StatusMethodNotAllowed:
			msg = "ページが見つかりません。"
		case http.StatusRequestEntityTooLarge:
			msg = "送信内容が大きすぎます。"
		default:
			msg = http.StatusText(code)
		}
	}
	if code >= 500 {
		s.log.Error("request failed", "path", c.Request().URL.Path,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID), "error", err)
	}
	title := http.StatusText(code)
	if err := s.render(c, code, ui.Error, consoleData{Title: title, Page: struct {
		Code    int
		Message string
	}{code, msg}}); err != nil {
		s.log.Warn("write error page", "error", err)
	}
}

// showStylesheet serves the console's CSS under its checksum name, cached for good.
func (s *Server) showStylesheet(c echo.Context) error {
	if c.Param("file") != ui.StylesheetName {
		return errNotFound
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	c.Response().Header().Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", ui.Stylesheet())
}

// requireSession lets a request through only with a live session of an active
// user; a page asked for without one goes to the login page, which comes back to it.
// Every request but GET and HEAD must carry the session's form token.
func (s *Server) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		var sess *session.Session
		var u *sales.User
		ck, err := c.Cookie(sessionCookie)
		if err == nil {
			sess, err = session.Find(ctx, s.deps.Pool, s.cfg.Session, ck.Value, s.cfg.Now())
		}
		if err == nil {
			u, err = sales.FindUserByID(ctx, s.deps.Pool, sess.UserID)
			if err == nil && !u.Active {
				err = sales.ErrUserNotFound
			}
		}
		switch {
		case errors.Is(err, http.ErrNoCookie), errors.Is(err, session.ErrNotFound), errors.Is(err, sales.ErrUserNotFound):
			if ck != nil {
				s.clearCookie(c, sessionCookie, "/admin")
			}
			if c.Request().Method != http.MethodGet && c.Request().Method != http.MethodHead {
				return errCSRF
			}
			return c.Redirect(http.StatusSeeOther, "/admin/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		case err != nil:
			return err
		}
		c.Set("session", sess)
		c.Set("user", u)
		if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead {
			if !sameOrigin(c) || !sess.CheckCSRF(c.FormValue(csrfField)) {
				return errCSRF
			}
		}
		return next(c)
	}
}

// sameOrigin refuses a request a browser says came from another site: the form
// token is the defence, this is a second one that costs nothing.
func sameOrigin(c echo.Context) bool {
	if site := c.Request().Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return false
	}
	origin := c.Request().Header.Get("Origin")
	if origin == "" || origin == "null" {
		return origin == ""
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == c.Request().Host
}

// requireRole lets through only users with one of the roles.
func requireRole(roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u, _ := c.Get("user").(*sales.User)
			if u == nil || !slices.Contains(roles, u.Role) {
				return errForbidden
			}
			return next(c)
		}
	}
}

// everyone is every role: each page names who may see it, even when all may.
var everyone = []string{sales.RoleAdmin, sales.RoleMarketer, sales.RoleSales}

func (s *Server) setCookie(c echo.Context, name, value, path string, maxAge int, sameSite http.SameSite) {
	c.SetCookie(&http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true,
		Secure: s.cfg.SecureCookies, SameSite: sameSite})
}

func (s *Server) clearCookie(c echo.Context, name, path string) {
	s.setCookie(c, name, "", path, -1, http.SameSiteLaxMode)
}

// currentUser is the signed-in user of a console request.
func currentUser(c echo.Context) *sales.User {
	u, _ := c.Get("user").(*sales.User)
	return u
}
