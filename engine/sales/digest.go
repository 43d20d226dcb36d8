package sales

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/queue"
)

// DigestTemplate is the template of every rep's daily digest.
const DigestTemplate = "alerts/digest"

// DefaultDigestJump is how many points a lead's score must rise within a day to be
// in its rep's digest when Config.DigestJump is not set.
const DefaultDigestJump = 20

// digestWindow is what a digest looks back over.
const digestWindow = 24 * time.Hour

// DigestArgs is the periodic job that mails each active sales rep a digest.
type DigestArgs struct{}

// Kind is the job kind of DigestArgs.
func (DigestArgs) Kind() string { return "sales_digest" }

// DigestWorker works DigestArgs jobs.
type DigestWorker struct {
	river.WorkerDefaults[DigestArgs]
	sales *Sales
}

// Work queues the digests of the day, each rep's in a transaction of its own. A run
// again (a retry, a second process's tick) queues only the digests still missing.
func (w *DigestWorker) Work(ctx context.Context, _ *river.Job[DigestArgs]) error {
	rc := river.ClientFromContext[pgx.Tx](ctx)
	n, err := w.sales.SendDigests(ctx, rc)
	if err != nil {
		return err
	}
	w.sales.log.Info("sales digests queued", "digests", n)
	return nil
}

// PeriodicJobs are the hand-off's periodic jobs, inserted by River's elected leader
// only: the daily digest on Config.DigestSchedule, none without one.
func (s *Sales) PeriodicJobs() []*river.PeriodicJob {
	if s.cfg.DigestSchedule == nil {
		return nil
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(s.cfg.DigestSchedule,
		func() (river.JobArgs, *river.InsertOpts) { return DigestArgs{}, nil },
		&river.PeriodicJobOpts{ID: "sales_digest"})}
}

// SendDigests queues, for each active sales rep with anything to report, a digest of
// the 24 hours before now: the rep's leads that became hot (or came to the rep hot),
// the hand-offs waiting for the rep with how long against the SLA, and the rep's
// leads whose score rose by DigestJump points or more. A rep with nothing to report
// gets nothing. A digest's purpose names the rep and the day (in Config.Location), so
// running again the same day queues nothing twice. It returns how many it queued.
func (s *Sales) SendDigests(ctx context.Context, rc *queue.Client) (int, error) {
	now := s.cfg.Now()
	rows, err := s.cfg.Pool.Query(ctx, `SELECT id, name, email FROM users WHERE role = 'sales' AND active ORDER BY id`)
	if err != nil {
		return 0, fmt.Errorf("digest: reps: %w", err)
	}
	type digestRep struct {
		ID          int64
		Name, Email string
	}
	reps, err := pgx.CollectRows(rows, pgx.RowToStructByPos[digestRep])
	if err != nil {
		return 0, fmt.Errorf("digest: reps: %w", err)
	}
	queued := 0
	for _, r := range reps {
		err := pgx.BeginFunc(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
			d, err := s.digest(ctx, tx, r.ID, now)
			if err != nil || d == nil {
				return err
			}
			d.Rep = r.Name
			purpose := "digest:" + strconv.FormatInt(r.ID, 10) + ":" + now.In(s.cfg.Location).Format(time.DateOnly)
			_, created, err := s.cfg.Mailer.EnqueueDigest(ctx, tx, rc, DigestTemplate, purpose, r.Email, d)
			if created {
				queued++
			}
			return err
		})
		if err != nil {
			return queued, fmt.Errorf("digest of user %d: %w", r.ID, err)
		}
	}
	return queued, nil
}

// digest gathers a rep's digest at now, or nil when it has nothing to report.
func (s *Sales) digest(ctx context.Context, tx pgx.Tx, userID int64, now time.Time) (*message.Digest, error) {
	since := now.Add(-digestWindow)
	d := &message.Digest{Date: s.day(now)}

	// Hot: owned, hot now, and hot news within the window: its grade turned hot, or
	// it was handed to this rep.
	rows, err := tx.Query(ctx, `SELECT `+digestLeadColumns+`, '' FROM leads l
		WHERE l.owner_id = $1 AND l.grade = 'hot' AND (
			EXISTS (SELECT 1 FROM events e WHERE e.lead_id = l.id AND e.type = 'grade_changed'
				AND e.properties->>'to' = 'hot' AND e.occurred_at > $2 AND e.occurred_at <= $3)
			OR EXISTS (SELECT 1 FROM assignments a WHERE a.lead_id = l.id AND a.user_id = $1
				AND a.created_at > $2 AND a.created_at <= $3))
		ORDER BY l.score DESC, l.id LIMIT 100`, userID, since, now)
	if err != nil {
		return nil, fmt.Errorf("hot leads: %w", err)
	}
	if d.Hot, err = collectDigestLeads(rows); err != nil {
		return nil, fmt.Errorf("hot leads: %w", err)
	}

	// Pending: the hand-offs waiting for the rep, longest first.
	rows, err = tx.Query(ctx, `SELECT `+digestLeadColumns+`, a.id, a.created_at FROM assignments a JOIN leads l ON l.id = a.lead_id
		WHERE a.user_id = $1 AND a.decided_at IS NULL AND a.ended_at IS NULL AND a.created_at <= $2
		ORDER BY a.created_at, a.id LIMIT 100`, userID, now)
	if err != nil {
		return nil, fmt.Errorf("pending hand-offs: %w", err)
	}
	var dl message.DigestLead
	var assignmentID int64
	var assignedAt time.Time
	sla := s.sla()
	_, err = pgx.ForEachRow(rows, append(digestLeadDest(&dl), &assignmentID, &assignedAt), func() error {
		p := dl
		waited := now.Sub(assignedAt)
		if left := sla - waited; left > 0 {
			p.Detail = fmt.Sprintf("待ち %s（期限まで あと%s）", span(waited), span(left))
		} else {
			p.Overdue = true
			p.Detail = fmt.Sprintf("待ち %s（期限を%s超過）", span(waited), span(-left))
		}
		p.AcceptURL = message.SignedURL(s.AcceptURL(assignmentID, now)) // ours, signed
		d.Pending = append(d.Pending, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pending hand-offs: %w", err)
	}

	// Jumped: owned leads whose score_changed points within the window add up to the
	// threshold or more.
	jump := s.cfg.DigestJump
	rows, err = tx.Query(ctx, `SELECT `+digestLeadColumns+`, j.points, j.first_score FROM leads l
		JOIN LATERAL (SELECT sum((e.properties->>'points')::float8) AS points,
				(array_agg((e.properties->>'previous')::float8 ORDER BY e.occurred_at, e.id))[1] AS first_score
			FROM events e WHERE e.lead_id = l.id AND e.type = 'score_changed'
			  AND jsonb_typeof(e.properties->'points') = 'number' AND e.occurred_at > $2 AND e.occurred_at <= $3) j ON true
		WHERE l.owner_id = $1 AND j.points >= $4
		ORDER BY j.points DESC, l.id LIMIT 100`, userID, since, now, jump)
	if err != nil {
		return nil, fmt.Errorf("score jumps: %w", err)
	}
	var points float64
	var first *float64
	_, err = pgx.ForEachRow(rows, append(digestLeadDest(&dl), &points, &first), func() error {
		j := dl
		j.Detail = fmt.Sprintf("+%.0f点", points)
		if first != nil {
			j.Detail += fmt.Sprintf("（%.0f→%d）", math.Round(*first), j.Score)
		}
		d.Jumped = append(d.Jumped, j)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("score jumps: %w", err)
	}
	if len(d.Hot)+len(d.Pending)+len(d.Jumped) == 0 {
		return nil, nil
	}
	return d, nil
}

const digestLeadColumns = `l.company, trim(l.last_name || ' ' || l.first_name), l.email, l.score, l.grade, l.stage`

func digestLeadDest(dl *message.DigestLead) []any {
	return []any{&dl.Company, &dl.Name, &dl.Email, &dl.Score, &dl.Grade, &dl.Stage}
}

func collectDigestLeads(rows pgx.Rows) ([]message.DigestLead, error) {
	var out []message.DigestLead
	var dl message.DigestLead
	_, err := pgx.ForEachRow(rows, append(digestLeadDest(&dl), &dl.Detail), func() error {
		out = append(out, dl)
		return nil
	})
	return out, err
}

// weekdays are the days of the week as a Japanese date shows them.
var weekdays = [...]string{"日", "月", "火", "水", "木", "金", "土"}

// day formats the day of t for a digest: 4月6日（月）.
func (s *Sales) day(t time.Time) string {
	t = t.In(s.cfg.Location)
	return fmt.Sprintf("%d月%d日（%s）", t.Month(), t.Day(), weekdays[t.Weekday()])
}

// span says a duration in Japanese in whole hours, or minutes under an hour:
// 26時間, 45分.
func span(d time.Duration) string {
	if d < time.Hour {
		return fmt.Sprintf("%d分", int(d.Minutes()))
	}
	return fmt.Sprintf("%d時間", int(d.Hours()))
}
