package sales

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/score"
)

// Kinds of alert (message.Alert.Kind).
const (
	alertNew      = "new"
	alertReminder = "reminder"
	alertManager  = "manager"
)

// maxEngagement is how many of the latest human engagements an alert lists.
const maxEngagement = 10

// alert queues the alert of kind about hand-off a to r (to r's manager for
// alertManager) as internal mail.
func (s *Sales) alert(ctx context.Context, tx pgx.Tx, rc *queue.Client, a *Assignment, r *rep, kind string) error {
	data, err := s.alertData(ctx, tx, a, r, kind)
	if err != nil {
		return err
	}
	to := r.Email
	if kind == alertManager {
		var name string
		if r.ManagerID == nil {
			return nil
		}
		err := tx.QueryRow(ctx, `SELECT email, name FROM users WHERE id = $1 AND active`, *r.ManagerID).Scan(&to, &name)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // a disabled manager is told nothing
		}
		if err != nil {
			return fmt.Errorf("manager of user %d: %w", r.ID, err)
		}
		data.Manager = name
		data.AcceptURL = ""
	}
	purpose := "assignment:" + strconv.FormatInt(a.ID, 10) + ":" + kind
	if _, _, err := s.cfg.Mailer.EnqueueInternal(ctx, tx, rc, a.LeadID, AlertTemplate, purpose, to, data); err != nil {
		return fmt.Errorf("alert for hand-off %d: %w", a.ID, err)
	}
	return nil
}

// alertData is what an alert shows: the score's breakdown, the lead's latest human
// engagement, BANT, the escalation's reason and the accept link.
func (s *Sales) alertData(ctx context.Context, tx pgx.Tx, a *Assignment, r *rep, kind string) (*message.Alert, error) {
	l, err := lead.FindLeadByID(ctx, tx, a.LeadID)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	// The accept link is ours, signed by SignToken: the one value an alert template
	// may make a link's whole address (message.SignedURL).
	d := &message.Alert{Kind: kind, Rep: r.Name, How: a.How, Reason: a.Reason,
		Budget: l.BANT.Budget, Authority: l.BANT.Authority, Need: l.BANT.Need, Timeframe: l.BANT.Timeframe,
		AcceptURL: message.SignedURL(s.AcceptURL(a.ID, now)), Deadline: s.jst(a.CreatedAt.Add(s.sla()))}
	if kind == alertReminder {
		d.Deadline = s.jst(a.CreatedAt.Add(2 * s.sla()))
	}
	if m := s.cfg.Model(); m != nil {
		bd, err := score.FindBreakdown(ctx, tx, m, l.ID, now)
		if err != nil {
			return nil, err
		}
		for _, rp := range bd.Rules {
			name := rp.Name
			if name == "" {
				name = rp.Rule
			}
			d.Breakdown = append(d.Breakdown, message.AlertLine{Label: name,
				Detail: fmt.Sprintf("%+.0f点（%d回）", rp.Points, rp.Times), At: s.jst(rp.LastAt)})
		}
	}
	d.Engagement, err = s.engagement(ctx, tx, l.ID)
	return d, err
}

// engagement lists the lead's latest engagement that a person made: opens and clicks
// judged human, page visits and forms not judged otherwise.
func (s *Sales) engagement(ctx context.Context, tx pgx.Tx, leadID int64) ([]message.AlertLine, error) {
	rows, err := tx.Query(ctx, `SELECT e.type, e.occurred_at,
			coalesce(nullif(m.subject, ''), m.template, ''), coalesce(e.properties->>'url', ''), coalesce(e.properties->>'form', '')
		FROM events e LEFT JOIN messages m ON m.id::text = e.properties->>'message_id' AND m.lead_id = e.lead_id
		WHERE e.lead_id = $1 AND e.type IN ('email_opened', 'email_clicked', 'page_visited', 'form_submitted')
		  AND coalesce(e.properties->>'verdict', 'human') = 'human'
		ORDER BY e.occurred_at DESC, e.id DESC LIMIT $2`, leadID, maxEngagement)
	if err != nil {
		return nil, fmt.Errorf("engagement of lead %d: %w", leadID, err)
	}
	var out []message.AlertLine
	var r struct {
		Type, Subject, URL, Form string
		At                       time.Time
	}
	_, err = pgx.ForEachRow(rows, []any{&r.Type, &r.At, &r.Subject, &r.URL, &r.Form}, func() error {
		line := message.AlertLine{At: s.jst(r.At)}
		switch r.Type {
		case mail.TypeOpened:
			line.Label, line.Detail = "メール開封", r.Subject
		case mail.TypeClicked:
			line.Label, line.Detail = "リンクのクリック", r.URL
			if r.Subject != "" {
				line.Detail += "（" + r.Subject + "）"
			}
		case lead.TypePageVisited:
			line.Label, line.Detail = "ページ閲覧", r.URL
		default:
			line.Label, line.Detail = "フォーム送信", r.Form
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("engagement of lead %d: %w", leadID, err)
	}
	return out, nil
}
