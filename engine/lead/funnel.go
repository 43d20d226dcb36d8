package lead

import (
	"context"
	"fmt"
	"time"
)

// Funnel is the Demand Waterfall over a time window: how many leads are at each stage
// now, how many entered each stage in the window, how many of those went on to the
// next stage, and how long leads stay in each stage.
type Funnel struct {
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	Stages      []FunnelStage  `json:"stages"`
	Conversions []FunnelStep   `json:"conversions"`
	Total       int            `json:"total"`
	ByGrade     map[string]int `json:"by_grade"`
}

// FunnelStage is one stage of the funnel.
type FunnelStage struct {
	Stage string `json:"stage"`
	// Current is how many leads are at the stage now.
	Current int `json:"current"`
	// Entered is how many leads entered it in the window (inquiry: were created).
	Entered int `json:"entered"`
	// MedianDays is the median time, in days, that leads which left the stage in the
	// window had spent in it; nil when none left.
	MedianDays *float64 `json:"median_days_in_stage"`
}

// FunnelStep is the conversion from one stage to the next: of the leads that entered
// From in the window, how many have reached To since.
type FunnelStep struct {
	From    string  `json:"from"`
	To      string  `json:"to"`
	Entered int     `json:"entered"`
	Reached int     `json:"reached"`
	Rate    float64 `json:"rate"`
}

// funnelSteps are the conversions the funnel reports, in waterfall order.
var funnelSteps = [][2]string{
	{StageInquiry, StageMQL}, {StageMQL, StageSAL}, {StageSAL, StageSQL}, {StageSGL, StageSQL}, {StageSQL, StageWon},
}

// FindFunnel computes the funnel for [from, to).
func FindFunnel(ctx context.Context, db DB, from, to time.Time) (*Funnel, error) {
	f := &Funnel{From: from, To: to, ByGrade: map[string]int{"hot": 0, "warm": 0, "cold": 0}}
	current := map[string]int{}
	rows, err := db.Query(ctx, `SELECT stage, grade, count(*) FROM leads GROUP BY stage, grade`)
	if err != nil {
		return nil, fmt.Errorf("funnel: %w", err)
	}
	for rows.Next() {
		var stage, grade string
		var n int
		if err := rows.Scan(&stage, &grade, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("funnel: %w", err)
		}
		current[stage] += n
		f.ByGrade[grade] += n
		f.Total += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("funnel: %w", err)
	}

	// Every time a lead entered a stage: creation (inquiry) and each stage change.
	const entries = `entries AS (
			SELECT id AS lead_id, 'inquiry' AS stage, created_at AS at FROM leads
			UNION ALL
			SELECT lead_id, properties->>'to', occurred_at FROM events WHERE type = 'stage_changed')`
	entered := map[string]int{}
	median := map[string]*float64{}
	rows, err = db.Query(ctx, `WITH `+entries+`,
		left_at AS (
			SELECT e.stage, e.at, (SELECT min(c.occurred_at) FROM events c
				WHERE c.lead_id = e.lead_id AND c.type = 'stage_changed' AND c.properties->>'from' = e.stage
				AND c.occurred_at >= e.at) AS left_at
			FROM entries e)
		SELECT s.stage,
			(SELECT count(DISTINCT lead_id) FROM entries WHERE stage = s.stage AND at >= $1 AND at < $2),
			(SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM left_at - at) / 86400)
				FROM left_at WHERE stage = s.stage AND left_at >= $1 AND left_at < $2)
		FROM unnest($3::text[]) AS s(stage)`, from, to, Stages)
	if err != nil {
		return nil, fmt.Errorf("funnel: %w", err)
	}
	for rows.Next() {
		var stage string
		var n int
		var days *float64
		if err := rows.Scan(&stage, &n, &days); err != nil {
			rows.Close()
			return nil, fmt.Errorf("funnel: %w", err)
		}
		entered[stage], median[stage] = n, days
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("funnel: %w", err)
	}
	for _, s := range Stages {
		f.Stages = append(f.Stages, FunnelStage{Stage: s, Current: current[s], Entered: entered[s], MedianDays: median[s]})
	}

	for _, step := range funnelSteps {
		var n, reached int
		err := db.QueryRow(ctx, `WITH `+entries+`,
			cohort AS (SELECT DISTINCT lead_id FROM entries WHERE stage = $3 AND at >= $1 AND at < $2)
			SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM events c WHERE c.lead_id = cohort.lead_id
				AND c.type = 'stage_changed' AND c.properties->>'to' = $4))
			FROM cohort`, from, to, step[0], step[1]).Scan(&n, &reached)
		if err != nil {
			return nil, fmt.Errorf("funnel: %w", err)
		}
		st := FunnelStep{From: step[0], To: step[1], Entered: n, Reached: reached}
		if n > 0 {
			st.Rate = float64(reached) / float64(n)
		}
		f.Conversions = append(f.Conversions, st)
	}
	return f, nil
}
