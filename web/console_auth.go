package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/sales"
	"github.com/nurture-dev/nurture/engine/session"
	"github.com/nurture-dev/nurture/web/ui"
)

// loginForm is the login page's form.
type loginForm struct {
	Email    string `form:"email"`
	Password string `form:"password"`
	Next     string `form:"next"`
	CSRF     string `form:"csrf_token"`
}

// loginPage is what the login page shows besides the form token.
type loginPage struct {
	Email string
	Next  string
}

// safeNext is where a login goes on to: a console path of ours, never another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin/"
	}
	return next
}

// showLoginPage shows the login form, tied to this browser by a cookie that holds
// the form's token (there is no session yet to hold it).
func (s *Server) showLoginPage(c echo.Context) error {
	token, err := s.loginToken(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, ui.Login, consoleData{Title: "ログイン", CSRF: token,
		Page: loginPage{Next: safeNext(c.QueryParam("next"))}})
}

// loginToken is the login form's token: the one this browser holds, else a new one.
func (s *Server) loginToken(c echo.Context) (string, error) {
	if ck, err := c.Cookie(loginCookie); err == nil && len(ck.Value) == 43 {
		return ck.Value, nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	s.setCookie(c, loginCookie, token, "/admin/login", 3600, http.SameSiteStrictMode)
	return token, nil
}

// login signs a user in. Wrong passwords are limited per client IP and per account:
// past the limit, the password is not even checked until the wait is over.
func (s *Server) login(c echo.Context) error {
	var f loginForm
	if err := c.Bind(&f); err != nil {
		return &consoleError{http.StatusBadRequest, "フォームを読み取れませんでした。"}
	}
	ck, err := c.Cookie(loginCookie)
	if err != nil || !sameOrigin(c) || f.CSRF == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(f.CSRF)) != 1 {
		return errCSRF
	}
	page := loginPage{Email: strings.TrimSpace(f.Email), Next: safeNext(f.Next)}
	fail := func(code int, msg string) error {
		return s.render(c, code, ui.Login, consoleData{Title: "ログイン", CSRF: ck.Value, Error: msg, Page: page})
	}
	now := s.cfg.Now()
	client := clientKey(c.RealIP())
	account := strings.ToLower(page.Email)
	if wait := max(s.loginFailures.wait(client, now), s.accountFailures.wait(account, now)); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return fail(http.StatusTooManyRequests, "ログインの失敗が続いたため、一時的にログインできません。"+strconv.Itoa(secs)+" 秒後にやり直してください。")
	}
	ctx := c.Request().Context()
	u, err := sales.Authenticate(ctx, s.deps.Pool, page.Email, f.Password)
	if errors.Is(err, sales.ErrBadCredentials) {
		s.loginFailures.fail(client, now)
		s.accountFailures.fail(account, now)
		s.log.Warn("console login failed", "ip", c.RealIP())
		return fail(http.StatusUnauthorized, "メールアドレスまたはパスワードが違います。")
	}
	if err != nil {
		return err
	}
	secret, _, err := session.Create(ctx, s.deps.Pool, s.cfg.Session, u.ID, c.RealIP(), c.Request().UserAgent(), now)
	if err != nil {
		return err
	}
	s.log.Info("console login", "user_id", u.ID, "ip", c.RealIP())
	s.setCookie(c, sessionCookie, secret, "/admin", 0, http.SameSiteLaxMode)
	s.clearCookie(c, loginCookie, "/admin/login")
	return c.Redirect(http.StatusSeeOther, page.Next)
}

// logout ends the session.
func (s *Server) logout(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil {
		if err := session.Delete(c.Request().Context(), s.deps.Pool, ck.Value); err != nil {
			return err
		}
	}
	s.clearCookie(c, sessionCookie, "/admin")
	return c.Redirect(http.StatusSeeOther, "/admin/login")
}

// passwordForm is the password page's form.
type passwordForm struct {
	Current  string `form:"current"`
	Password string `form:"password"`
	Confirm  string `form:"confirm"`
}

// showPasswordPage shows the form that changes the signed-in user's password.
func (s *Server) showPasswordPage(c echo.Context) error {
	d := consoleData{Title: "パスワード変更"}
	if n := c.QueryParam("changed"); n != "" {
		d.Flash = "パスワードを変更しました。ほかのセッション " + strconv.Itoa(atoi(n)) + " 件をログアウトしました。"
	}
	return s.render(c, http.StatusOK, ui.Password, d)
}

// savePassword changes the signed-in user's password and ends the user's other
// sessions in the same transaction; this one stays.
func (s *Server) savePassword(c echo.Context) error {
	var f passwordForm
	if err := c.Bind(&f); err != nil {
		return &consoleError{http.StatusBadRequest, "フォームを読み取れませんでした。"}
	}
	u := currentUser(c)
	sess, _ := c.Get("session").(*session.Session)
	fail := func(msg string) error {
		return s.render(c, http.StatusUnprocessableEntity, ui.Password, consoleData{Title: "パスワード変更", Error: msg})
	}
	ctx := c.Request().Context()
	now := s.cfg.Now()
	account := strings.ToLower(u.Email)
	if s.accountFailures.wait(account, now) > 0 {
		return fail("失敗が続いたため、しばらくしてからやり直してください。")
	}
	if _, err := sales.Authenticate(ctx, s.deps.Pool, u.Email, f.Current); errors.Is(err, sales.ErrBadCredentials) {
		s.accountFailures.fail(account, now)
		return fail("現在のパスワードが違います。")
	} else if err != nil {
		return err
	}
	if f.Password != f.Confirm {
		return fail("新しいパスワードが確認用と一致しません。")
	}
	if err := sales.CheckNewPassword(f.Password); err != nil {
		return fail("新しいパスワードは " + strconv.Itoa(sales.MinPasswordLength) + " 文字以上にしてください。")
	}
	var ended int64
	err := pgx.BeginFunc(ctx, s.deps.Pool, func(tx pgx.Tx) error {
		if err := sales.SetPassword(ctx, tx, u.ID, f.Password); err != nil {
			return err
		}
		var err error
		ended, err = session.EndOthers(ctx, tx, u.ID, sess.Hash)
		return err
	})
	var fe *lead.FieldError
	if errors.As(err, &fe) {
		return fail(fe.Error())
	}
	if err != nil {
		return err
	}
	s.log.Info("console password changed", "user_id", u.ID, "sessions_ended", ended)
	return c.Redirect(http.StatusSeeOther, "/admin/password?changed="+strconv.FormatInt(ended, 10))
}

// atoi is a count from a query string, 0 when it is none.
func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
