// Package mail sends the messages leads are to get: one row per message, one River job
// per delivery, rendered from the templates at send time, delivered over pooled SMTP
// connections or kept in the outbox. Whatever asked for a message, an unsubscribed,
// suppressed or unconsented address is never mailed: that is checked here, at send time.
package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	gomail "github.com/wneessen/go-mail"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/track"
)

// Sender delivers a message somewhere. A failure should be a *DeliveryError so that
// the mailer knows whether to retry or to suppress the address.
type Sender interface {
	Send(ctx context.Context, m *gomail.Msg) error
}

// Message statuses.
const (
	StatusQueued     = "queued"
	StatusSent       = "sent"
	StatusOutbox     = "outbox"
	StatusBounced    = "bounced"
	StatusSuppressed = "suppressed"
	StatusFailed     = "failed"
)

// Config is what the mailer needs.
type Config struct {
	// BaseURL is the public URL of tracking and unsubscribe links.
	BaseURL string
	// From is the default sender, "Name <address>".
	From string
	// Templates returns the current template set (it may be reloaded).
	Templates func() *message.Set
	// Signer signs tracking and unsubscribe tokens.
	Signer *track.Signer
	// Sender delivers mail. Nil keeps every message in the outbox: nothing leaves
	// the machine.
	Sender Sender
	// Cap is the frequency cap that send steps keep to (see LeadCap). Defaults to
	// no cap; `nurture serve` uses DefaultFrequencyCap unless configured.
	Cap FrequencyCap
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Mailer queues and sends messages.
type Mailer struct {
	cfg        Config
	log        *slog.Logger
	classifier *track.Classifier
}

// New makes a mailer.
func New(cfg Config) *Mailer {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Mailer{cfg: cfg, log: cfg.Logger, classifier: track.NewClassifier()}
}

// SendArgs is the job that delivers one message.
type SendArgs struct {
	MessageID int64 `json:"message_id"`
}

// Kind is the job kind of SendArgs.
func (SendArgs) Kind() string { return "send" }

// InsertOpts puts sends in their own queue.
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Send, MaxAttempts: 12}
}

// Enqueue asks for template to be sent to the lead, for a purpose that makes the
// message unique ("enrollment:42:step:thanks"): asking again for the same purpose
// returns the message queued the first time. It runs in the caller's transaction, so
// the message exists exactly when the caller's change does. Enqueue does not keep
// to the frequency cap: a send step asks its LeadCap first, a test send does not. A
// message of a transactional template is recorded as one, and never counts.
func (m *Mailer) Enqueue(ctx context.Context, tx pgx.Tx, rc *queue.Client, leadID int64, template, purpose string) (id int64, created bool, err error) {
	set := m.cfg.Templates()
	if set == nil || !set.Has(template) {
		return 0, false, fmt.Errorf("no template %q", template)
	}
	var email string
	if err := tx.QueryRow(ctx, `SELECT email FROM leads WHERE id = $1`, leadID).Scan(&email); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, false, lead.ErrNotFound
		}
		return 0, false, fmt.Errorf("enqueue %s: %w", template, err)
	}
	err = tx.QueryRow(ctx, `INSERT INTO messages (lead_id, purpose, template, to_email, message_id, transactional)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (lead_id, purpose) DO NOTHING RETURNING id`,
		leadID, purpose, template, email, m.newMessageID(), set.Transactional(template)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		err = tx.QueryRow(ctx, `SELECT id FROM messages WHERE lead_id = $1 AND purpose = $2`, leadID, purpose).Scan(&id)
		return id, false, err
	}
	if err != nil {
		return 0, false, fmt.Errorf("enqueue %s: %w", template, err)
	}
	if _, err := rc.InsertTx(ctx, tx, SendArgs{MessageID: id}, nil); err != nil {
		return 0, false, fmt.Errorf("enqueue %s: %w", template, err)
	}
	return id, true, nil
}

// EnqueueInternal asks for template to be sent to one of us (to, a sales rep or a
// manager) about a lead: a sales alert. It is recorded with the lead, for a purpose
// that makes it unique as Enqueue's, but it is not the lead's mail: the lead's
// unsubscribe, consent and suppression never hold it back, it carries no tracking,
// it never counts against the lead's frequency cap, and its delivery records
// alert_sent rather than email_sent. alert is what the template shows as .Alert.
func (m *Mailer) EnqueueInternal(ctx context.Context, tx pgx.Tx, rc *queue.Client, leadID int64, template, purpose, to string, alert *message.Alert) (id int64, created bool, err error) {
	set := m.cfg.Templates()
	if set == nil || !set.Has(template) {
		return 0, false, fmt.Errorf("no template %q", template)
	}
	if err := lead.CheckEmail(to); err != nil {
		return 0, false, fmt.Errorf("enqueue %s: recipient %w", template, err)
	}
	b, err := json.Marshal(alert)
	if err != nil {
		return 0, false, fmt.Errorf("enqueue %s: %w", template, err)
	}
	err = tx.QueryRow(ctx, `INSERT INTO messages (lead_id, purpose, template, to_email, message_id, transactional, internal, alert)
		VALUES ($1, $2, $3, $4, $5, true, true, $6) ON CONFLICT (lead_id, purpose) DO NOTHING RETURNING id`,
		leadID, purpose, template, to, m.newMessageID(), b).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		err = tx.QueryRow(ctx, `SELECT id FROM messages WHERE lead_id = $1 AND purpose = $2`, leadID, purpose).Scan(&id)
		return id, false, err
	}
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23503" {
			return 0, false, lead.ErrNotFound
		}
		return 0, false, fmt.Errorf("enqueue %s: %w", template, err)
	}
	if _, err := rc.InsertTx(ctx, tx, SendArgs{MessageID: id}, nil); err != nil {
		return 0, false, fmt.Errorf("enqueue %s: %w", template, err)
	}
	return id, true, nil
}

// EnqueueDigest asks for template to be sent to one of us (to) about no one lead: a
// sales rep's digest. It is internal mail as EnqueueInternal's, with no lead; purpose
// makes it unique among such mail ("digest:3:2026-04-06"), so asking again for the
// same purpose queues nothing and returns created false. digest is what the template
// shows as .Digest.
func (m *Mailer) EnqueueDigest(ctx context.Context, tx pgx.Tx, rc *queue.Client, template, purpose, to string, digest *message.Digest) (id int64, created bool, err error) {
	set := m.cfg.Templates()
	if set == nil || !set.Has(template) {
		return 0, false, fmt.Errorf("no template %q", template)
	}
	if err := lead.CheckEmail(to); err != nil {
		return 0, false, fmt.Errorf("enqueue %s: recipient %w", template, err)
	}
	b, err := json.Marshal(digest)
	if err != nil {
		return 0, false, fmt.Errorf("enqueue %s: %w", template, err)
	}
	err = tx.QueryRow(ctx, `INSERT INTO messages (purpose, template, to_email, message_id, transactional, internal, digest)
		VALUES ($1, $2, $3, $4, true, true, $5) ON CONFLICT (purpose) WHERE lead_id IS NULL DO NOTHING RETURNING id`,
		purpose, template, to, m.newMessageID(), b).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		err = tx.QueryRow(ctx, `SELECT id FROM messages WHERE lead_id IS NULL AND purpose = $1`, purpose).Scan(&id)
		if err != nil {
			return 0, false, fmt.Errorf("enqueue %s: %w", template, err)
		}
		return id, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("enqueue %s: %w", template, err)
	}
	if _, err := rc.InsertTx(ctx, tx, SendArgs{MessageID: id}, nil); err != nil {
		return 0, false, fmt.Errorf("enqueue %s: %w", template, err)
	}
	return id, true, nil
}

func (m *Mailer) newMessageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	domain := "nurture.invalid"
	if a, err := mail.ParseAddress(m.cfg.From); err == nil {
		domain = Domain(a.Address)
	}
	return hex.EncodeToString(b) + "@" + domain
}

// SendWorker works SendArgs jobs.
type SendWorker struct {
	river.WorkerDefaults[SendArgs]
	Mailer *Mailer
	Pool   *pgxpool.Pool

	once    sync.Once
	batches *sendBatches
}

// Timeout leaves room for a slow SMTP server (go-mail times out each command on its
// own); a job of a process that died is rescued only after it.
func (w *SendWorker) Timeout(*river.Job[SendArgs]) time.Duration { return time.Minute }

// Work delivers the message once. It renders and stores the message, talks to the
// SMTP server outside any transaction, and records the outcome once the server
// accepted the message. A crash between the server's 250 and that commit is the one
// window in which a message can go out twice. The message's status, not the job's,
// is what counts: a job run again for a message already sent does nothing, so River
// may complete jobs in its own batches.
func (w *SendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	w.once.Do(func() { w.batches = newSendBatches(w.Pool) })
	return w.Mailer.deliver(ctx, w.batches, job)
}

// sendBatches are the round trips of the send jobs running at once, each shared by
// the jobs that need it at the same moment (see group): a send's database work is a
// share of two statements, the read and the outcome, and now and then of a third
// that stores a new set of links.
type sendBatches struct {
	pool     *pgxpool.Pool
	reads    *group[*pending]
	outcomes *group[*outcome]
	links    *linkSets
}

func newSendBatches(pool *pgxpool.Pool) *sendBatches {
	return &sendBatches{
		pool:     pool,
		reads:    newGroup(func(ctx context.Context, ps []*pending) error { return readPending(ctx, pool, ps) }),
		outcomes: newGroup(func(ctx context.Context, os []*outcome) error { return writeOutcomes(ctx, pool, os) }),
		links:    newLinkSets(pool),
	}
}

// pending is a message about to be sent, with its lead.
type pending struct {
	ID              int64
	Found           bool
	LeadID          int64
	Template        string
	Status          string
	MessageID       string
	SubjectOverride string
	Lead            *lead.Lead
	// Blocked says why the lead may not be mailed, or "".
	Blocked string
	// Internal mail (a sales alert) is about the lead but goes to To, one of us: the
	// lead's unsubscribe does not hold it back and nothing in it is tracked.
	Internal bool
	To       string
	Alert    *message.Alert
	// Digest is set for a rep's digest, which is about no one lead: LeadID is 0 and
	// Lead nil.
	Digest *message.Digest
	// readErr is a failure to read this message alone.
	readErr error

	Rendered *message.Rendered
	// LinkSet is the stored set of the rendered message's links, 0 when it has none.
	LinkSet int64
}

// blockedSQL says why the lead l may not be mailed, or ” when it may: the one rule
// behind Blocked, BlockedLeads and the send worker's own check.
const blockedSQL = `CASE WHEN l.unsubscribed_at IS NOT NULL THEN 'unsubscribed'
	WHEN l.consent = 'denied' THEN 'consent denied'
	ELSE coalesce((SELECT 'suppressed: ' || s.reason FROM suppressions s WHERE s.email = lower(l.email)), '') END`

// deliver sends a message once. Its database work is shared with the other sends
// running at the same moment, because round trips are most of what a send costs: one
// query reads the messages, their leads and whether they may be mailed, and one
// records the outcomes. Rendering stores the message's links before it goes out (a
// scanner may follow one before we hear back from the server), but only when no
// message sent before had the same links.
func (m *Mailer) deliver(ctx context.Context, b *sendBatches, job *river.Job[SendArgs]) error {
	pool := b.pool
	p := &pending{ID: job.Args.MessageID}
	if err := errors.Join(b.reads.do(ctx, p), p.readErr); err != nil {
		return fmt.Errorf("send message %d: %w", p.ID, err)
	}
	if !p.Found {
		return river.JobCancel(fmt.Errorf("message %d does not exist", p.ID))
	}
	if p.Status != StatusQueued {
		return nil // done already: a job run again sends nothing
	}
	if p.Blocked != "" {
		m.log.Info("not sending: address may not be mailed", "message_id", p.ID, "lead_id", p.LeadID, "reason", p.Blocked)
		_, err := pool.Exec(ctx, `UPDATE messages SET status = 'suppressed', error = $2 WHERE id = $1 AND status = 'queued'`, p.ID, p.Blocked)
		return err
	}
	var err error
	if p.Rendered, err = m.render(ctx, b.links, p); err != nil {
		if errors.As(err, new(errStoreLinks)) {
			return fmt.Errorf("send message %d: %w", p.ID, err)
		}
		_, uerr := pool.Exec(ctx, `UPDATE messages SET status = 'failed', error = $2 WHERE id = $1 AND status = 'queued'`, p.ID, err.Error())
		return errors.Join(river.JobCancel(err), uerr)
	}
	if p.SubjectOverride != "" {
		p.Rendered.Subject = p.SubjectOverride
	}
	o := &outcome{p: p, attempt: job.Attempt, status: StatusOutbox}
	if m.cfg.Sender == nil {
		// The outbox keeps the whole message to show it; sent mail keeps what
		// tracking needs (its links) and can be rendered again for a look.
		o.html, o.text = p.Rendered.HTML, p.Rendered.Text
	} else {
		msg, err := m.build(*p)
		if err != nil {
			return m.fail(ctx, pool, job, p, err)
		}
		if err := m.cfg.Sender.Send(ctx, msg); err != nil {
			var de *DeliveryError
			switch {
			case errors.As(err, &de) && de.Bounce && !p.Internal:
				return m.bounce(ctx, pool, job, p, de)
			case errors.As(err, &de) && de.Bounce:
				// An address of ours is not the lead's to suppress.
				return m.fail(ctx, pool, job, p, err)
			case errors.As(err, &de) && !de.Temporary:
				return m.fail(ctx, pool, job, p, err)
			case job.Attempt >= job.MaxAttempts:
				return m.fail(ctx, pool, job, p, fmt.Errorf("gave up after %d attempts: %w", job.Attempt, err))
			default:
				_, _ = recordAttempt(ctx, pool, job, p, StatusQueued, err)
				m.log.Warn("send failed; will retry", "message_id", p.ID, "attempt", job.Attempt, "error", err)
				return err
			}
		}
		o.status = StatusSent
	}
	// The server took the message: the job returns only once that is recorded, even
	// if its context ends meanwhile (a timeout, a shutdown). A job retried before the
	// commit would send the message again.
	return b.outcomes.do(context.WithoutCancel(ctx), o)
}

// readPending reads queued messages, their leads and whether they may be mailed, in
// one query.
func readPending(ctx context.Context, pool *pgxpool.Pool, ps []*pending) error {
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	// Internal mail may be about no one lead (a digest): no lead row, never blocked.
	rows, err := pool.Query(ctx, `SELECT m.id, coalesce(m.lead_id, 0), m.template, m.status, m.message_id, m.subject_override, to_jsonb(l),
			CASE WHEN m.internal THEN '' ELSE `+blockedSQL+` END, m.internal, m.to_email, m.alert, m.digest
		FROM messages m LEFT JOIN leads l ON l.id = m.lead_id WHERE m.id = ANY($1)`, ids)
	if err != nil {
		return err
	}
	var r pending
	var leadJSON, alertJSON, digestJSON []byte
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.LeadID, &r.Template, &r.Status, &r.MessageID, &r.SubjectOverride, &leadJSON, &r.Blocked,
		&r.Internal, &r.To, &alertJSON, &digestJSON}, func() error {
		var l *lead.Lead
		var lerr error
		if leadJSON != nil {
			l = new(lead.Lead)
			if err := json.Unmarshal(leadJSON, l); err != nil {
				lerr = fmt.Errorf("lead %d: %w", r.LeadID, err)
			}
		} else if !r.Internal {
			lerr = fmt.Errorf("message %d has no lead", r.ID)
		}
		var digest *message.Digest
		if digestJSON != nil {
			digest = new(message.Digest)
			if err := json.Unmarshal(digestJSON, digest); err != nil {
				lerr = fmt.Errorf("digest of message %d: %w", r.ID, err)
			}
		}
		var alert *message.Alert
		if alertJSON != nil {
			alert = new(message.Alert)
			if err := json.Unmarshal(alertJSON, alert); err != nil {
				lerr = fmt.Errorf("alert of message %d: %w", r.ID, err)
			}
		}
		// A message is asked for twice only by a job run twice at once.
		for _, p := range ps {
			if p.ID == r.ID {
				p.Found, p.readErr = true, lerr
				p.LeadID, p.Template, p.Status, p.MessageID, p.SubjectOverride, p.Blocked = r.LeadID, r.Template, r.Status, r.MessageID, r.SubjectOverride, r.Blocked
				p.Lead = l
				p.Internal, p.To, p.Alert, p.Digest = r.Internal, r.To, alert, digest
			}
		}
		return nil
	})
	return err
}

// recordAttempt records an attempt that did not deliver: its status, its error and
// what was rendered, in case the server took the message after all. A message no
// longer queued (another run of its job sent it) is left alone.
func recordAttempt(ctx context.Context, q interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, job *river.Job[SendArgs], p *pending, status string, err error) (pgconn.CommandTag, error) {
	return q.Exec(ctx, `UPDATE messages SET status = $2, error = $3, attempts = $4, subject = $5, to_email = $6, link_set_id = nullif($7, 0)
		WHERE id = $1 AND status = 'queued'`, p.ID, status, err.Error(), job.Attempt, p.Rendered.Subject, p.recipient(), p.LinkSet)
}

// recipient is the address the message goes to: the lead's, or one of ours for
// internal mail.
func (p *pending) recipient() string {
	if p.Internal {
		return p.To
	}
	return p.Lead.Email
}

// blocked says why a lead may not be mailed, or "".
func blocked(ctx context.Context, tx pgx.Tx, l *lead.Lead) (string, error) {
	var reason string
	err := tx.QueryRow(ctx, `SELECT `+blockedSQL+` FROM leads l WHERE l.id = $1`, l.ID).Scan(&reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", lead.ErrNotFound
	}
	return reason, err
}

func (m *Mailer) fail(ctx context.Context, pool *pgxpool.Pool, job *river.Job[SendArgs], p *pending, err error) error {
	m.log.Error("send failed for good", "message_id", p.ID, "lead_id", p.LeadID, "error", err)
	_, _ = recordAttempt(ctx, pool, job, p, StatusFailed, err)
	return river.JobCancel(err)
}

// bounce records a hard bounce: the address goes on the suppression list and the
// message is done.
func (m *Mailer) bounce(ctx context.Context, pool *pgxpool.Pool, job *river.Job[SendArgs], p *pending, de *DeliveryError) error {
	m.log.Warn("hard bounce: address suppressed", "message_id", p.ID, "lead_id", p.LeadID, "code", de.Code)
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := recordAttempt(ctx, tx, job, p, StatusBounced, de); err != nil {
			return err
		}
		if err := Suppress(ctx, tx, p.Lead.Email, "hard_bounce", de.Error()); err != nil {
			return err
		}
		return lead.AppendEvent(ctx, tx, p.LeadID, "email_bounced", map[string]any{
			"message_id": p.ID, "kind": "hard", "code": de.Code, "reason": truncate(de.Error(), 300),
		})
	})
}

// Suppress puts an address on the suppression list: it is never mailed again.
func Suppress(ctx context.Context, tx pgx.Tx, email, reason, detail string) error {
	_, err := tx.Exec(ctx, `INSERT INTO suppressions (email, reason, detail) VALUES (lower($1), $2, $3)
		ON CONFLICT (email) DO NOTHING`, email, reason, truncate(detail, 500))
	if err != nil {
		return fmt.Errorf("suppress address: %w", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
