// Package sales hands qualified leads to people. When a lead is escalated (a
// scenario's escalate step, or scoring reaching a stage named in scoring.yaml's
// escalation.when) it picks a sales rep (the lead's owner, a territory, or round
// robin among reps under capacity), tells the rep by internal mail and a signed
// webhook, and waits for the rep to accept or reject the lead through a signed link.
// An SLA job re-alerts the rep and tells the manager when nobody answers, and then
// hands the lead to another rep. Every step is a River job inserted in the
// transaction of the change that asks for it, so a crash loses nothing. Each
// morning a periodic job mails every active rep a digest: new hot leads, leads
// waiting for them, score jumps.
package sales

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/score"
)

// AlertTemplate is the template of every sales alert.
const AlertTemplate = "alerts/escalation"

// Event types this package records on the lead.
const (
	TypeAssigned          = "lead_assigned"
	TypeAssignmentPending = "assignment_pending"
	TypeAccepted          = "lead_accepted"
	TypeRejected          = "lead_rejected"
	TypeSLAMissed         = "sla_missed"
	TypeWebhookFailed     = "webhook_failed"
)

// DefaultSLA is how long a rep has to accept a lead when scoring.yaml names no
// escalation.sla.
const DefaultSLA = 24 * time.Hour

// TokenTTL is how long an accept link works.
const TokenTTL = 7 * 24 * time.Hour

// Config is what hand-off needs.
type Config struct {
	// Pool is the database.
	Pool *pgxpool.Pool
	// Mailer sends the alerts.
	Mailer *mail.Mailer
	// Secret keys the accept links; at least 32 bytes. It is the server's secret:
	// a key for this use alone is derived from it.
	Secret []byte
	// BaseURL is the public URL of the accept pages. Defaults to
	// http://localhost:8080.
	BaseURL string
	// Model is the scoring model in use, for the SLA and the score's breakdown.
	// Defaults to the default model.
	Model func() *score.Model
	// SLA, when positive, overrides the model's escalation.sla. Defaults to the
	// model's, else DefaultSLA.
	SLA time.Duration
	// WebhookURL receives a signed JSON POST for each hand-off. Defaults to none.
	WebhookURL string
	// WebhookSecret keys the webhook's signature. Required with WebhookURL.
	WebhookSecret string
	// WebhookTimeout bounds one delivery. Defaults to 10s.
	WebhookTimeout time.Duration
	// WebhookAttempts is how many times a delivery is tried before it is recorded
	// as failed. Defaults to 10.
	WebhookAttempts int
	// WebhookBackoff is the wait before the second try; it doubles each try, up to
	// an hour. Defaults to 30s.
	WebhookBackoff time.Duration
	// RetryAfter is how long a lead that found no rep waits before it is tried
	// again. Defaults to 10 minutes.
	RetryAfter time.Duration
	// DigestSchedule is when each active rep is mailed a digest of the last 24 hours
	// (new hot leads, hand-offs waiting, score jumps); nil sends none. Defaults to
	// none.
	DigestSchedule river.PeriodicSchedule
	// DigestJump is how many points a lead's score must rise within 24 hours to be
	// in its rep's digest. Defaults to DefaultDigestJump (20).
	DigestJump int
	// Location is the time zone of the times in alerts, and of a digest's day.
	// Defaults to Asia/Tokyo.
	Location *time.Location
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Sales hands leads to reps.
type Sales struct {
	cfg      Config
	log      *slog.Logger
	tokenKey []byte
}

// New makes the hand-off service.
func New(cfg Config) (*Sales, error) {
	if len(cfg.Secret) < 32 {
		return nil, fmt.Errorf("sales: the secret must be at least 32 bytes")
	}
	if cfg.WebhookURL != "" && cfg.WebhookSecret == "" {
		return nil, fmt.Errorf("sales: a webhook URL needs a webhook secret")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://localhost:8080"
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Model == nil {
		def := score.Default()
		cfg.Model = func() *score.Model { return def }
	}
	if cfg.WebhookTimeout <= 0 {
		cfg.WebhookTimeout = 10 * time.Second
	}
	if cfg.WebhookAttempts <= 0 {
		cfg.WebhookAttempts = 10
	}
	if cfg.WebhookBackoff <= 0 {
		cfg.WebhookBackoff = 30 * time.Second
	}
	if cfg.DigestJump <= 0 {
		cfg.DigestJump = DefaultDigestJump
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 10 * time.Minute
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation("Asia/Tokyo")
		if err != nil {
			loc = time.FixedZone("JST", 9*3600)
		}
		cfg.Location = loc
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := hmac.New(sha256.New, cfg.Secret)
	m.Write([]byte("nurture sales token v1"))
	return &Sales{cfg: cfg, log: cfg.Logger, tokenKey: m.Sum(nil)}, nil
}

// AddWorkers registers the hand-off's job workers.
func (s *Sales) AddWorkers(w *river.Workers) {
	river.AddWorker(w, &AssignWorker{sales: s})
	river.AddWorker(w, &SLAWorker{sales: s})
	river.AddWorker(w, &WebhookWorker{sales: s})
	river.AddWorker(w, &DigestWorker{sales: s})
}

// sla is how long a rep has to accept.
func (s *Sales) sla() time.Duration {
	if s.cfg.SLA > 0 {
		return s.cfg.SLA
	}
	if m := s.cfg.Model(); m != nil && m.Escalation.SLA > 0 {
		return m.Escalation.SLA
	}
	return DefaultSLA
}

// Escalated asks for a lead to be handed to a rep: it inserts the job that does it
// in tx, the transaction that saw the escalation_requested event (eventID), so the
// request commits exactly when the event is taken off the dispatch queue.
func (s *Sales) Escalated(ctx context.Context, tx pgx.Tx, rc *queue.Client, leadID, eventID int64, props map[string]any) error {
	reason, _ := props["reason"].(string)
	if sc, _ := props["scenario"].(string); sc != "" && reason == "" {
		reason = "シナリオ " + sc
	}
	if _, err := rc.InsertTx(ctx, tx, AssignArgs{LeadID: leadID, EventID: eventID, Reason: reason}, nil); err != nil {
		return fmt.Errorf("hand lead %d to sales: %w", leadID, err)
	}
	return nil
}

// jst formats a time for an alert.
func (s *Sales) jst(t time.Time) string {
	return t.In(s.cfg.Location).Format("1月2日 15:04")
}
