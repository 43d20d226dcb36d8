package score

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-dev/nurture/engine/lead"
)

// Breakdown explains a lead's score: its parts, and the points of each rule as
// they stand now (behaviour points decayed), from the ledger.
type Breakdown struct {
	// Score is the lead's score now: its profile and fixed points plus its
	// behaviour points decayed to now.
	Score    int          `json:"score"`
	Grade    string       `json:"grade"`
	Profile  int          `json:"profile"`
	Behavior float64      `json:"behavior"`
	HalfLife string       `json:"half_life,omitempty"`
	Rules    []RulePoints `json:"rules"`
}

// RulePoints is what one rule gave a lead.
type RulePoints struct {
	Rule string `json:"rule"`
	// Name is the rule's name in the model, or its ID; a rule the model no
	// longer has shows its ID.
	Name string `json:"name"`
	// Kind is profile, behavior or fixed (a scenario's points).
	Kind string `json:"kind"`
	// Points is what the rule's points are worth now; Awarded what it gave.
	Points  float64   `json:"points"`
	Awarded float64   `json:"awarded"`
	Times   int       `json:"times"`
	LastAt  time.Time `json:"last_at"`
}

// FindBreakdown explains a lead's score with the model m at now.
func FindBreakdown(ctx context.Context, db lead.DB, m *Model, leadID int64, now time.Time) (*Breakdown, error) {
	var bd Breakdown
	var behavior float64
	var behaviorAt time.Time
	err := db.QueryRow(ctx, `SELECT profile_score, behavior_score, behavior_at FROM leads WHERE id = $1`, leadID).
		Scan(&bd.Profile, &behavior, &behaviorAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, lead.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("score of lead %d: %w", leadID, err)
	}
	bd.Behavior = math.Round(m.Decay(behavior, behaviorAt, now)*100) / 100
	bd.Score = int(math.Round(float64(bd.Profile) + m.Decay(behavior, behaviorAt, now)))
	bd.Grade = m.Grade(bd.Score)
	if m.HalfLife > 0 {
		bd.HalfLife = m.HalfLife.String()
	}
	rows, err := db.Query(ctx, `SELECT rule, kind,
			sum(CASE WHEN kind = 'behavior' THEN `+lead.DecaySQL("points", "at", "$2::timestamptz", "$3::float8")+` ELSE points END),
			sum(awarded), count(*) FILTER (WHERE awarded > 0 OR kind <> 'profile'), max(at)
		FROM score_ledger WHERE lead_id = $1 GROUP BY rule, kind
		HAVING sum(points) <> 0 OR kind = 'behavior'
		ORDER BY 3 DESC, 1`, leadID, now, m.HalfLife.Seconds())
	if err != nil {
		return nil, fmt.Errorf("score breakdown of lead %d: %w", leadID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r RulePoints
		if err := rows.Scan(&r.Rule, &r.Kind, &r.Points, &r.Awarded, &r.Times, &r.LastAt); err != nil {
			return nil, fmt.Errorf("score breakdown of lead %d: %w", leadID, err)
		}
		r.Points = math.Round(r.Points*100) / 100
		r.Name = r.Rule
		if rule := m.Rule(r.Rule); rule != nil {
			r.Name = rule.Label()
		}
		bd.Rules = append(bd.Rules, r)
	}
	if bd.Rules == nil {
		bd.Rules = []RulePoints{}
	}
	return &bd, rows.Err()
}
