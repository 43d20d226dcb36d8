package sales

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/queue"
)

// SignatureHeader carries a webhook's signature: t=<unix seconds>,v1=<hex
// HMAC-SHA256 of "<t>.<body>" keyed by the webhook secret>. A receiver recomputes it
// and refuses a t too far from its clock, so a captured request cannot be replayed
// later.
const SignatureHeader = "X-Nurture-Signature"

// Sign returns the signature header value of body at t with secret.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// WebhookArgs delivers one hand-off notice to the webhook.
type WebhookArgs struct {
	AssignmentID int64  `json:"assignment_id"`
	Event        string `json:"event"`
}

// Kind is the job kind of WebhookArgs.
func (WebhookArgs) Kind() string { return "sales_webhook" }

// WebhookWorker works WebhookArgs jobs.
type WebhookWorker struct {
	river.WorkerDefaults[WebhookArgs]
	sales *Sales
}

// NextRetry waits WebhookBackoff before the second try, doubling each time, up to
// an hour.
func (w *WebhookWorker) NextRetry(job *river.Job[WebhookArgs]) time.Time {
	d := w.sales.cfg.WebhookBackoff << min(job.Attempt-1, 20)
	return time.Now().Add(min(d, time.Hour))
}

// Timeout leaves the request its own timeout and a little more.
func (w *WebhookWorker) Timeout(*river.Job[WebhookArgs]) time.Duration {
	return w.sales.cfg.WebhookTimeout + 5*time.Second
}

// webhookBody is what the webhook receives: Slack's text and the facts.
type webhookBody struct {
	Text         string      `json:"text"`
	Event        string      `json:"event"`
	AssignmentID int64       `json:"assignment_id"`
	Lead         webhookLead `json:"lead"`
	Rep          webhookRep  `json:"rep"`
	How          string      `json:"how"`
	Reason       string      `json:"reason"`
	AcceptURL    string      `json:"accept_url"`
	AssignedAt   time.Time   `json:"assigned_at"`
}

type webhookLead struct {
	ID      int64  `json:"id"`
	Company string `json:"company"`
	Name    string `json:"name"`
	Score   int    `json:"score"`
	Grade   string `json:"grade"`
	Stage   string `json:"stage"`
}

type webhookRep struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Work posts the notice. A final failure records webhook_failed on the lead and logs
// it; the job stays in the queue's table, discarded, to be retried by hand.
func (w *WebhookWorker) Work(ctx context.Context, job *river.Job[WebhookArgs]) error {
	s := w.sales
	err := s.postWebhook(ctx, job.Args)
	if err == nil || job.Attempt < job.MaxAttempts {
		if err != nil {
			s.log.Warn("webhook delivery failed; will retry", "assignment_id", job.Args.AssignmentID, "attempt", job.Attempt, "error", err)
		}
		return err
	}
	s.log.Error("webhook delivery failed for good", "assignment_id", job.Args.AssignmentID, "attempts", job.Attempt, "error", err)
	h, ferr := FindHandoff(ctx, s.cfg.Pool, job.Args.AssignmentID)
	if ferr != nil {
		return errors.Join(err, ferr)
	}
	if rerr := pgx.BeginFunc(context.WithoutCancel(ctx), s.cfg.Pool, func(tx pgx.Tx) error {
		return lead.AppendEvent(ctx, tx, h.LeadID, TypeWebhookFailed, map[string]any{
			"assignment_id": h.ID, "event": job.Args.Event, "attempts": job.Attempt, "error": truncate(err.Error(), 300), "job_id": job.ID})
	}); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

func (s *Sales) postWebhook(ctx context.Context, args WebhookArgs) error {
	h, err := FindHandoff(ctx, s.cfg.Pool, args.AssignmentID)
	if errors.Is(err, ErrHandoffNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	var email string
	if err := s.cfg.Pool.QueryRow(ctx, `SELECT email FROM users WHERE id = $1`, h.UserID).Scan(&email); err != nil {
		return fmt.Errorf("rep of hand-off %d: %w", h.ID, err)
	}
	company := h.Company
	if company == "" {
		company = "（会社名未登録）"
	}
	now := s.cfg.Now()
	body := webhookBody{
		Text: fmt.Sprintf("【ホットリード】%s %s 様（スコア %d / %s）を %s さんに割り当てました。理由: %s", company, h.LeadName,
			h.Score, h.Grade, h.UserName, h.Reason),
		Event: args.Event, AssignmentID: h.ID, How: h.How, Reason: h.Reason, AcceptURL: s.AcceptURL(h.ID, now), AssignedAt: h.CreatedAt,
		Lead: webhookLead{ID: h.LeadID, Company: h.Company, Name: h.LeadName, Score: h.Score, Grade: h.Grade, Stage: h.Stage},
		Rep:  webhookRep{ID: h.UserID, Name: h.UserName, Email: email},
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.WebhookURL, bytes.NewReader(b))
	if err != nil {
		return river.JobCancel(fmt.Errorf("webhook request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "nurture-webhook/1")
	req.Header.Set(SignatureHeader, Sign(s.cfg.WebhookSecret, now, b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// queueWebhook inserts the webhook job of a hand-off event in tx, when a webhook is
// configured.
func (s *Sales) queueWebhook(ctx context.Context, tx pgx.Tx, rc *queue.Client, id int64, event string) error {
	if s.cfg.WebhookURL == "" {
		return nil
	}
	_, err := rc.InsertTx(ctx, tx, WebhookArgs{AssignmentID: id, Event: event}, &river.InsertOpts{MaxAttempts: s.cfg.WebhookAttempts})
	if err != nil {
		return fmt.Errorf("queue webhook of hand-off %d: %w", id, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
