package lead

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The named operations below are the only writes of a lead's score, grade, stage,
// BANT, tags removal and unsubscribe. Each changes the row in one statement that
// returns the values it wrote, so an event that reports a new total or a new stage
// reports what the row holds, never a value read earlier without a lock. They run in
// the caller's transaction.

// Lifecycle stages (the Demand Waterfall).
const (
	StageInquiry  = "inquiry"
	StageMQL      = "mql"
	StageSAL      = "sal"
	StageSGL      = "sgl"
	StageSQL      = "sql"
	StageWon      = "won"
	StageLost     = "lost"
	StageRecycled = "recycled"
)

// Stages lists every stage in waterfall order.
var Stages = []string{StageInquiry, StageMQL, StageSAL, StageSGL, StageSQL, StageWon, StageLost, StageRecycled}

// transitions says where a lead may go from each stage. Marketing qualifies
// (inquiry → mql), sales accepts (mql → sal) or finds a lead itself (inquiry → sgl),
// qualifies it with BANT (→ sql) and closes it; any open stage may be recycled back to
// nurturing or lost. A lost lead may be recycled; a won lead stays won.
var transitions = map[string][]string{
	StageInquiry:  {StageMQL, StageSAL, StageSGL, StageLost, StageRecycled},
	StageMQL:      {StageSAL, StageSQL, StageLost, StageRecycled},
	StageSAL:      {StageSQL, StageLost, StageRecycled},
	StageSGL:      {StageSQL, StageLost, StageRecycled},
	StageSQL:      {StageWon, StageLost, StageRecycled},
	StageWon:      {},
	StageLost:     {StageRecycled},
	StageRecycled: {StageMQL, StageSAL, StageSGL, StageLost},
}

// AllowedStages lists the stages a lead at from may move to.
func AllowedStages(from string) []string { return slices.Clone(transitions[from]) }

// StageError is a stage change the lifecycle does not allow.
type StageError struct {
	From, To string
}

func (e *StageError) Error() string {
	if !slices.Contains(Stages, e.To) {
		return fmt.Sprintf("%q is not a stage (one of %s)", e.To, strings.Join(Stages, ", "))
	}
	allowed := transitions[e.From]
	if len(allowed) == 0 {
		return fmt.Sprintf("a lead at %s cannot move to another stage", e.From)
	}
	return fmt.Sprintf("a lead at %s cannot move to %s; it may move to %s", e.From, e.To, strings.Join(allowed, ", "))
}

// StageChange is a stage change asked for: To, who or what caused it (Cause, such as
// "rule:lifecycle.mql", "scenario:followup:step:qualify", "api_key:crm", "user:3")
// and why (Reason, free text, required for recycled and lost).
type StageChange struct {
	To     string
	Cause  string
	Reason string
}

// TypeStageChanged is the event a stage change records.
const TypeStageChanged = "stage_changed"

// ErrStageUnchanged is returned by SetStage when the lead is already at the stage.
var ErrStageUnchanged = errors.New("the lead is already at that stage")

// SetStage moves a lead to another stage if the lifecycle allows it, and records a
// stage_changed event (from, to, by, reason) in the caller's transaction. A move
// the lifecycle does not allow is a *StageError; a lead already there is
// ErrStageUnchanged; a missing lead ErrNotFound. It returns the stage the lead left.
func SetStage(ctx context.Context, tx pgx.Tx, id int64, c StageChange) (from string, err error) {
	if !slices.Contains(Stages, c.To) {
		return "", &StageError{To: c.To}
	}
	if (c.To == StageRecycled || c.To == StageLost) && strings.TrimSpace(c.Reason) == "" {
		return "", &FieldError{Field: "reason", Reason: "is required to move a lead to " + c.To}
	}
	if err := checkText(c.Reason); err != nil {
		return "", &FieldError{Field: "reason", Reason: err.Error()}
	}
	// The row is locked by the UPDATE, which moves it only from a stage the
	// lifecycle allows; the sub-select reads the stage it left under that lock.
	var sources []string
	for from, tos := range transitions {
		if slices.Contains(tos, c.To) {
			sources = append(sources, from)
		}
	}
	err = tx.QueryRow(ctx, `UPDATE leads n SET stage = $2, stage_changed_at = now(), updated_at = now()
		FROM (SELECT id, stage FROM leads WHERE id = $1 FOR UPDATE) o
		WHERE n.id = o.id AND o.stage = ANY($3) RETURNING o.stage`, id, c.To, sources).Scan(&from)
	if errors.Is(err, pgx.ErrNoRows) {
		var cur string
		if err := tx.QueryRow(ctx, `SELECT stage FROM leads WHERE id = $1`, id).Scan(&cur); errors.Is(err, pgx.ErrNoRows) {
			return "", ErrNotFound
		} else if err != nil {
			return "", fmt.Errorf("set stage of lead %d: %w", id, err)
		}
		if cur == c.To {
			return cur, ErrStageUnchanged
		}
		return cur, &StageError{From: cur, To: c.To}
	}
	if err != nil {
		return "", fmt.Errorf("set stage of lead %d: %w", id, err)
	}
	props := map[string]any{"from": from, "to": c.To, "by": c.Cause}
	if c.Reason != "" {
		props["reason"] = c.Reason
	}
	if err := AppendEvent(ctx, tx, id, TypeStageChanged, props); err != nil {
		return "", err
	}
	return from, nil
}

// Scores is a lead's score as one statement left it.
type Scores struct {
	Profile  int     // profile points and fixed adjustments (scenario points), never decayed
	Behavior float64 // behaviour points, decayed to BehaviorAt
	Score    int     // round(Profile + Behavior)
	Grade    string
	Stage    string
	// Before the change.
	OldScore int
	OldGrade string
}

// Grades are the score thresholds of the hot and warm grades; below warm is cold.
type Grades struct {
	Hot, Warm int
}

// PointsChange adds points to a lead: Profile points stay, Behavior points fade with
// HalfLife (zero: never) from At.
type PointsChange struct {
	Profile  int
	Behavior float64
	At       time.Time
	HalfLife time.Duration
	Grades   Grades
}

// AddPoints adds points to a lead's score and keeps its grade current, in one
// statement: the stored behaviour points and the new ones are both decayed to the
// later of the stored time and At. It returns the scores before and after.
func AddPoints(ctx context.Context, tx pgx.Tx, id int64, c PointsChange) (Scores, error) {
	const t = `greatest(n.behavior_at, $4::timestamptz)`
	behavior := decayed("n.behavior_score", "n.behavior_at", t, "$5::float8") + ` + ` + decayed("$3::float8", "$4::timestamptz", t, "$5::float8")
	total := `round(n.profile_score + $2::int + ` + behavior + `)`
	var s Scores
	err := tx.QueryRow(ctx, `UPDATE leads n SET profile_score = n.profile_score + $2::int,
			behavior_score = `+behavior+`, behavior_at = `+t+`,
			score = `+total+`::int, grade = `+gradeCase(total, "$6::int", "$7::int")+`, updated_at = now()
		FROM (SELECT id, score, grade FROM leads WHERE id = $1 FOR UPDATE) o
		WHERE n.id = o.id
		RETURNING n.profile_score, n.behavior_score, n.score, n.grade, n.stage, o.score, o.grade`,
		id, c.Profile, c.Behavior, c.At, c.HalfLife.Seconds(), c.Grades.Hot, c.Grades.Warm).
		Scan(&s.Profile, &s.Behavior, &s.Score, &s.Grade, &s.Stage, &s.OldScore, &s.OldGrade)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, ErrNotFound
	}
	if err != nil {
		return s, fmt.Errorf("add points to lead %d: %w", id, err)
	}
	return s, nil
}

// decayed is the SQL for behaviour points stored at a time, as they stand at another:
// halved every half-life seconds (0: never), and never grown by a time before the
// stored one.
func decayed(points, storedAt, at, halfLifeSeconds string) string {
	return `CASE WHEN ` + halfLifeSeconds + ` <= 0 OR ` + at + ` <= ` + storedAt + ` THEN ` + points +
		` ELSE ` + points + ` * power(0.5, extract(epoch FROM ` + at + ` - ` + storedAt + `) / ` + halfLifeSeconds + `) END`
}

// gradeCase is the SQL for the grade of a score.
func gradeCase(score, hot, warm string) string {
	return `CASE WHEN ` + score + ` >= ` + hot + ` THEN 'hot' WHEN ` + score + ` >= ` + warm + ` THEN 'warm' ELSE 'cold' END`
}

// DecaySQL and GradeSQL expose the two formulas to the package that re-scores leads
// in bulk, so that one definition of each exists.
func DecaySQL(points, storedAt, at, halfLifeSeconds string) string {
	return decayed(points, storedAt, at, halfLifeSeconds)
}

// GradeSQL is the SQL for the grade of a score given the hot and warm thresholds.
func GradeSQL(score, hot, warm string) string { return gradeCase(score, hot, warm) }

// BANT is what sales has learnt of a lead's Budget, Authority, Need and Timeframe.
type BANT struct {
	Budget    string `json:"budget"`
	Authority string `json:"authority"`
	Need      string `json:"need"`
	Timeframe string `json:"timeframe"`
}

// Complete reports whether all four are recorded.
func (b BANT) Complete() bool {
	return b.Budget != "" && b.Authority != "" && b.Need != "" && b.Timeframe != ""
}

// BANTKeys are the keys of a BANT object, in order.
var BANTKeys = []string{"budget", "authority", "need", "timeframe"}

// RemoveTags takes tags off a lead and records lead_updated (via) when it had any.
func RemoveTags(ctx context.Context, tx pgx.Tx, id int64, tags []string, via string) ([]string, error) {
	var now []string
	err := tx.QueryRow(ctx, `UPDATE leads SET tags = ARRAY(SELECT t FROM unnest(tags) t WHERE NOT t = ANY($2)),
		updated_at = now() WHERE id = $1 AND tags && $2 RETURNING tags`, id, tags).Scan(&now)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("remove tags of lead %d: %w", id, err)
	}
	return now, AppendEvent(ctx, tx, id, TypeLeadUpdated, map[string]any{"via": via, "changed": []string{"tags"}})
}

// Unsubscribe marks a lead unsubscribed for good and records unsubscribed (props) if
// it was not already. It reports whether it was subscribed until now.
func Unsubscribe(ctx context.Context, tx pgx.Tx, id int64, props map[string]any) (bool, error) {
	var at time.Time
	err := tx.QueryRow(ctx, `UPDATE leads SET unsubscribed_at = now(), updated_at = now()
		WHERE id = $1 AND unsubscribed_at IS NULL RETURNING unsubscribed_at`, id).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("unsubscribe lead %d: %w", id, err)
	}
	return true, AppendEvent(ctx, tx, id, "unsubscribed", props)
}

// SetOwner makes a user the owner of a lead (0: no owner) and returns the owner the
// row now holds. It records no event: the caller records why the owner changed
// (lead_assigned, lead_accepted) in the same transaction.
func SetOwner(ctx context.Context, tx pgx.Tx, id, ownerID int64) (int64, error) {
	var owner *int64
	err := tx.QueryRow(ctx, `UPDATE leads SET owner_id = nullif($2, 0), updated_at = now()
		WHERE id = $1 RETURNING owner_id`, id, ownerID).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("set owner of lead %d: %w", id, err)
	}
	if owner == nil {
		return 0, nil
	}
	return *owner, nil
}
