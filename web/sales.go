package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/sales"
	"github.com/nurture-dev/nurture/web/page"
)

// handoffToken reads the accept token of the request: a bad one is a 404, an
// expired one the page saying so.
func (s *Server) handoffToken(c echo.Context) (sales.Token, error) {
	return s.deps.Sales.VerifyToken(c.Param("token"), s.cfg.Now())
}

// showHandoff shows the page where a rep accepts or rejects a lead. A GET changes
// nothing: corporate mail scanners open every link of a message.
func (s *Server) showHandoff(c echo.Context) error {
	tok, err := s.handoffToken(c)
	if errors.Is(err, sales.ErrTokenExpired) {
		return s.renderHandoff(c, http.StatusGone, page.HandoffData{Error: "このリンクは有効期限が切れています。管理画面または担当マネージャーにご確認ください。"})
	}
	if err != nil {
		return errNotFound
	}
	h, err := sales.FindHandoff(c.Request().Context(), s.deps.Pool, tok.AssignmentID)
	if errors.Is(err, sales.ErrHandoffNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return s.renderHandoff(c, http.StatusOK, page.HandoffData{Handoff: h, Already: already(h)})
}

// decideHandoff accepts or rejects the lead, from the page's buttons. A second use
// of the link changes nothing and says what was done before.
func (s *Server) decideHandoff(c echo.Context) error {
	tok, err := s.handoffToken(c)
	if errors.Is(err, sales.ErrTokenExpired) {
		return s.renderHandoff(c, http.StatusGone, page.HandoffData{Error: "このリンクは有効期限が切れています。"})
	}
	if err != nil {
		return errNotFound
	}
	ctx := c.Request().Context()
	h, err := sales.FindHandoff(ctx, s.deps.Pool, tok.AssignmentID)
	if errors.Is(err, sales.ErrHandoffNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	// The link is the rep's: whoever holds it acts for the rep.
	by := sales.UserCause(h.UserID)
	var done string
	switch c.FormValue("action") {
	case "accept":
		h, err = s.deps.Sales.Accept(ctx, s.deps.Queue, tok.AssignmentID, by)
		done = "受け付けました。リードのステージは SAL になりました。"
	case "reject":
		h, err = s.deps.Sales.Reject(ctx, s.deps.Queue, tok.AssignmentID, by, c.FormValue("reason"))
		done = "差し戻しました。リードはナーチャリングに戻ります。"
	default:
		return s.renderHandoff(c, http.StatusBadRequest, page.HandoffData{Handoff: h, Error: "操作を選んでください。"})
	}
	var fe *lead.FieldError
	switch {
	case errors.Is(err, sales.ErrDecided):
		return s.renderHandoff(c, http.StatusOK, page.HandoffData{Handoff: h, Already: already(h)})
	case errors.As(err, &fe):
		h, _ = sales.FindHandoff(ctx, s.deps.Pool, tok.AssignmentID)
		return s.renderHandoff(c, http.StatusUnprocessableEntity, page.HandoffData{Handoff: h, Error: "差し戻す理由を入力してください。"})
	case err != nil:
		return err
	}
	return s.renderHandoff(c, http.StatusOK, page.HandoffData{Handoff: h, Done: done})
}

// jst is the time zone of the hand-off page's times.
var jst = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Tokyo"); err == nil {
		return loc
	}
	return time.FixedZone("JST", 9*3600)
}()

// already says what became of a hand-off that is no longer open, or "".
func already(h *sales.Handoff) string {
	at := func(t time.Time) string { return t.Format("2006年1月2日 15:04") }
	switch {
	case h.Decision == "accepted":
		return fmt.Sprintf("このリードは %s に受付済みです（%s）。", at(h.DecidedAt.In(jst)), who(h.DecidedBy, h))
	case h.Decision == "rejected":
		return fmt.Sprintf("このリードは %s に差し戻し済みです（%s）。", at(h.DecidedAt.In(jst)), who(h.DecidedBy, h))
	case h.EndedAt != nil:
		return fmt.Sprintf("このリードは %s に別の担当者へ割り当て直されました。", at(h.EndedAt.In(jst)))
	}
	return ""
}

// who names whoever decided: the rep for their own link, else the cause.
func who(by string, h *sales.Handoff) string {
	if by == sales.UserCause(h.UserID) {
		return h.UserName + " さん"
	}
	return by
}

func (s *Server) renderHandoff(c echo.Context, code int, d page.HandoffData) error {
	var buf bytes.Buffer
	if err := page.Handoff.Execute(&buf, d); err != nil {
		return err
	}
	h := c.Response().Header()
	noStore(c)
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Robots-Tag", "noindex, nofollow")
	return c.HTMLBlob(code, buf.Bytes())
}

// showInbox lists a rep's hand-offs: ?rep= is the rep's email or ID.
func (s *Server) showInbox(c echo.Context) error {
	ctx := c.Request().Context()
	ref := strings.TrimSpace(c.QueryParam("rep"))
	if ref == "" {
		return newAPIError(http.StatusUnprocessableEntity, "rep", "rep is required: the rep's email or ID")
	}
	var u *sales.User
	var err error
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
		u, err = sales.FindUserByID(ctx, s.deps.Pool, id)
	} else {
		u, err = sales.FindUserByEmail(ctx, s.deps.Pool, ref)
	}
	if errors.Is(err, sales.ErrUserNotFound) {
		return newAPIError(http.StatusNotFound, "rep", "no user %q", ref)
	}
	if err != nil {
		return err
	}
	hs, err := sales.Inbox(ctx, s.deps.Pool, u.ID)
	if err != nil {
		return err
	}
	if hs == nil {
		hs = []*sales.Handoff{}
	}
	return c.JSON(http.StatusOK, map[string]any{"rep": u, "handoffs": hs})
}

type rejectRequest struct {
	Reason string `json:"reason"`
}

// acceptLead accepts the open hand-off of a lead for its rep, by API key.
func (s *Server) acceptLead(c echo.Context) error { return s.decideLead(c, true) }

// rejectLead rejects the open hand-off of a lead, with {"reason": ...}.
func (s *Server) rejectLead(c echo.Context) error { return s.decideLead(c, false) }

func (s *Server) decideLead(c echo.Context, accept bool) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return lead.ErrNotFound
	}
	var req rejectRequest
	if !accept {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	h, err := sales.OpenHandoff(ctx, s.deps.Pool, id)
	if errors.Is(err, sales.ErrHandoffNotFound) {
		return newAPIError(http.StatusConflict, "", "lead %d has no hand-off waiting for a rep", id)
	}
	if err != nil {
		return err
	}
	keyName, _ := c.Get("api_key").(string)
	by := "api_key:" + keyName
	if accept {
		h, err = s.deps.Sales.Accept(ctx, s.deps.Queue, h.ID, by)
	} else {
		h, err = s.deps.Sales.Reject(ctx, s.deps.Queue, h.ID, by, req.Reason)
	}
	if errors.Is(err, sales.ErrDecided) {
		return newAPIError(http.StatusConflict, "", "the hand-off was decided already")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h)
}
