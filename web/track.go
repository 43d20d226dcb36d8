package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/track"
	"github.com/nurture-dev/nurture/web/page"
)

// pixel is a transparent 1×1 GIF.
var pixel = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// errNotFound answers a bad token or an unknown message: 404, nothing recorded, and
// nothing said about why.
var errNotFound = echo.NewHTTPError(http.StatusNotFound)

func (s *Server) token(c echo.Context, kinds ...track.Kind) (track.Token, error) {
	tok, err := s.deps.Signer.Verify(c.Param("token"))
	if err != nil {
		return track.Token{}, errNotFound
	}
	for _, k := range kinds {
		if tok.Kind == k {
			return tok, nil
		}
	}
	return track.Token{}, errNotFound
}

func (s *Server) hit(c echo.Context) track.Hit {
	ip, _ := netip.ParseAddr(c.RealIP())
	return track.Hit{At: s.cfg.Now(), Method: c.Request().Method, UserAgent: c.Request().UserAgent(), IP: ip.Unmap()}
}

func noStore(c echo.Context) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store, no-cache, must-revalidate, private")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
}

// showPixel records an open and answers with the pixel.
func (s *Server) showPixel(c echo.Context) error {
	tok, err := s.token(c, track.Open)
	if err != nil {
		return err
	}
	// Answered at once: the hit is recorded with the next batch (see RecordLater).
	if err := s.deps.Recorder.RecordLater(tok, s.hit(c)); err != nil {
		return err
	}
	noStore(c)
	return c.Blob(http.StatusOK, "image/gif", pixel)
}

// followLink records a click and redirects to the link's stored URL, never to a URL
// from the request. The honeypot link, which no human sees, gets an empty page.
func (s *Server) followLink(c echo.Context) error {
	tok, err := s.token(c, track.Click, track.Honeypot)
	if err != nil {
		return err
	}
	res, err := s.deps.Recorder.Record(c.Request().Context(), tok, s.hit(c))
	if err != nil {
		if errors.Is(err, mail.ErrUnknownMessage) {
			return errNotFound
		}
		return err
	}
	noStore(c)
	if tok.Kind == track.Honeypot {
		c.Response().Header().Set("X-Robots-Tag", "noindex, nofollow")
		return c.NoContent(http.StatusNoContent)
	}
	u, err := url.Parse(res.RedirectURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		s.log.Error("stored link is not an http(s) URL", "message_id", tok.MessageID, "link", tok.Link)
		return errNotFound
	}
	return c.Redirect(http.StatusFound, u.String())
}

// showUnsubscribe shows the page that asks to confirm. A GET never unsubscribes:
// scanners fetch every link of a message.
func (s *Server) showUnsubscribe(c echo.Context) error {
	tok, err := s.token(c, track.Unsubscribe)
	if err != nil {
		return err
	}
	email, done, err := s.deps.Mailer.Recipient(c.Request().Context(), s.deps.Pool, tok.MessageID)
	if err != nil {
		if errors.Is(err, mail.ErrUnknownMessage) {
			return errNotFound
		}
		return err
	}
	return s.renderUnsubscribe(c, page.UnsubscribeData{Email: maskEmail(email), Done: done})
}

// unsubscribe unsubscribes at once: the page's button and RFC 8058 one-click POSTs from
// mail clients alike, with no login and no CSRF token (the signed token is the proof).
func (s *Server) unsubscribe(c echo.Context) error {
	tok, err := s.token(c, track.Unsubscribe)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	via := "page"
	if c.FormValue("List-Unsubscribe") == "One-Click" {
		via = "one-click"
	}
	if _, err := s.deps.Mailer.Unsubscribe(ctx, s.deps.Pool, tok.MessageID, via); err != nil {
		if errors.Is(err, mail.ErrUnknownMessage) {
			return errNotFound
		}
		return err
	}
	email, _, err := s.deps.Mailer.Recipient(ctx, s.deps.Pool, tok.MessageID)
	if err != nil {
		return err
	}
	return s.renderUnsubscribe(c, page.UnsubscribeData{Email: maskEmail(email), Done: true})
}

func (s *Server) renderUnsubscribe(c echo.Context, d page.UnsubscribeData) error {
	var buf bytes.Buffer
	if err := page.Unsubscribe.Execute(&buf, d); err != nil {
		return err
	}
	h := c.Response().Header()
	noStore(c)
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// maskEmail shows enough of an address for its owner to recognise it, and little to
// anyone else who has the link: t***@example.com.
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "***"
	}
	r := []rune(local)
	return string(r[0]) + "***@" + domain
}
