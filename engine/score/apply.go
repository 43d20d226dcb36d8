package score

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/scenario"
)

// Scorer holds the current model and scores events with it.
type Scorer struct {
	model atomic.Pointer[Model]
	log   *slog.Logger
}

// NewScorer makes a scorer with the default model; Load reads the real one.
func NewScorer(log *slog.Logger) *Scorer {
	if log == nil {
		log = slog.Default()
	}
	s := &Scorer{log: log}
	s.model.Store(Default())
	return s
}

// Model is the current model.
func (s *Scorer) Model() *Model { return s.model.Load() }

// Set makes m the current model.
func (s *Scorer) Set(m *Model) { s.model.Store(m) }

// Event is an event to score, as the dispatcher read it.
type Event struct {
	ID         int64
	Type       string
	OccurredAt time.Time
	Properties map[string]any
}

// scoredTypes are the events that can change a lead's score or stage besides the
// behaviour rules' own.
var scoredTypes = []string{lead.TypeLeadCreated, lead.TypeLeadUpdated, lead.TypeStageChanged}

// Apply scores one event of a lead in the caller's transaction: the profile rules
// when the lead was created or changed, the behaviour rules for what it did, then
// the lifecycle (MQL, SQL) and escalation. It records score_changed, grade_changed,
// score_crossed, stage_changed and escalation_requested as they happen, and updates
// l to what the row now holds.
func (s *Scorer) Apply(ctx context.Context, tx pgx.Tx, l *lead.Lead, ev Event) error {
	m := s.Model()
	if !slices.Contains(scoredTypes, ev.Type) && len(m.rulesOn(ev.Type)) == 0 {
		return nil
	}
	hist := lead.NewHistory(ctx, tx, l.ID)
	env := scenario.NewEnv(scenario.LeadEnvOf(l).WithHistory(hist), scenario.EventEnvOf(ev.Type, ev.OccurredAt, ev.Properties), ev.OccurredAt)
	var ledger []ledgerRow
	var profileDelta int
	// A model without profile rules has nothing to compare: the re-score that
	// applied it already took away what earlier models' profile rules gave.
	if (ev.Type == lead.TypeLeadCreated || ev.Type == lead.TypeLeadUpdated) && len(m.Profile) > 0 {
		rows, delta, err := s.profileChanges(ctx, tx, m, l.ID, env)
		if err != nil {
			return err
		}
		ledger = append(ledger, rows...)
		profileDelta = delta
	}
	awards, err := m.BehaviorAwards(env, &dbCounter{ctx: ctx, tx: tx, leadID: l.ID})
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		s.log.Warn("a scoring rule failed; it gave no points", "lead_id", l.ID, "event_id", ev.ID, "error", err)
	}
	var behavior float64
	for _, a := range awards {
		ledger = append(ledger, ledgerRow{kind: "behavior", rule: a.Rule.ID, points: float64(a.Points)})
		behavior += float64(a.Points)
	}
	scored := len(ledger) > 0
	if scored {
		if err := insertLedger(ctx, tx, l.ID, ev.ID, ev.OccurredAt, ledger); err != nil {
			return err
		}
		sc, err := lead.AddPoints(ctx, tx, l.ID, lead.PointsChange{Profile: profileDelta, Behavior: behavior,
			At: ev.OccurredAt, HalfLife: m.HalfLife, Grades: m.Grades})
		if err != nil {
			return err
		}
		l.ProfileScore, l.BehaviorScore, l.Score, l.Grade, l.Stage = sc.Profile, sc.Behavior, sc.Score, sc.Grade, sc.Stage
		if err := recordScoreEvents(ctx, tx, m, l.ID, ev, ledger, sc); err != nil {
			return err
		}
		env = scenario.NewEnv(scenario.LeadEnvOf(l).WithHistory(hist), env.Event, env.Now)
	}
	if err := s.lifecycle(ctx, tx, m, l, env, scored || ev.Type == lead.TypeLeadCreated || ev.Type == lead.TypeLeadUpdated); err != nil {
		return err
	}
	if ev.Type == lead.TypeStageChanged {
		to, _ := ev.Properties["to"].(string)
		if slices.Contains(m.Escalation.When, to) {
			by, _ := ev.Properties["by"].(string)
			return lead.AppendEvent(ctx, tx, l.ID, "escalation_requested", map[string]any{
				"reason": strings.ToUpper(to) + " に到達しました", "stage": to, "by": by, "stage_event_id": ev.ID})
		}
	}
	return nil
}

// lifecycle moves the lead as the model's MQL and SQL rules say.
func (s *Scorer) lifecycle(ctx context.Context, tx pgx.Tx, m *Model, l *lead.Lead, env *scenario.Env, scored bool) error {
	next, err := m.NextStage(env, scored)
	if err != nil {
		s.log.Warn("a lifecycle rule failed; the lead stays where it is", "lead_id", l.ID, "stage", l.Stage, "error", err)
		return nil
	}
	if next == "" {
		return nil
	}
	_, err = lead.SetStage(ctx, tx, l.ID, lead.StageChange{To: next, Cause: "rule:lifecycle." + next})
	var se *lead.StageError
	switch {
	case errors.Is(err, lead.ErrStageUnchanged), errors.As(err, &se):
		return nil // another writer moved it first
	case err != nil:
		return err
	}
	l.Stage = next
	return nil
}

// ledgerRow is one row to add to the ledger.
type ledgerRow struct {
	kind   string
	rule   string
	points float64
}

func insertLedger(ctx context.Context, tx pgx.Tx, leadID, eventID int64, at time.Time, rows []ledgerRow) error {
	kinds := make([]string, len(rows))
	rules := make([]string, len(rows))
	points := make([]float64, len(rows))
	for i, r := range rows {
		kinds[i], rules[i], points[i] = r.kind, r.rule, r.points
	}
	var ev *int64
	if eventID != 0 {
		ev = &eventID
	}
	_, err := tx.Exec(ctx, `INSERT INTO score_ledger (lead_id, kind, rule, event_id, awarded, points, at)
		SELECT $1, x.kind, x.rule, $2, x.points, x.points, $3 FROM unnest($4::text[], $5::text[], $6::float8[]) AS x(kind, rule, points)`,
		leadID, ev, at, kinds, rules, points)
	if err != nil {
		return fmt.Errorf("score ledger of lead %d: %w", leadID, err)
	}
	return nil
}

// profileChanges compares the profile rules the lead matches now with what the
// ledger holds for each, and returns the rows that make up the difference.
func (s *Scorer) profileChanges(ctx context.Context, tx pgx.Tx, m *Model, leadID int64, env *scenario.Env) ([]ledgerRow, int, error) {
	want, failed, err := m.ProfileAwards(env)
	if err != nil {
		s.log.Warn("a profile rule failed; it keeps the points it gave", "lead_id", leadID, "error", err)
	}
	rows, err := tx.Query(ctx, `SELECT rule, sum(points) FROM score_ledger WHERE lead_id = $1 AND kind = 'profile' GROUP BY rule`, leadID)
	if err != nil {
		return nil, 0, fmt.Errorf("profile points of lead %d: %w", leadID, err)
	}
	have := map[string]float64{}
	for rows.Next() {
		var rule string
		var p float64
		if err := rows.Scan(&rule, &p); err != nil {
			rows.Close()
			return nil, 0, err
		}
		have[rule] = p
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	out, delta := profileDiff(want, failed, have)
	return out, delta, nil
}

// profileDiff is the ledger rows that take have (points by rule in the ledger) to
// want (points by rule the lead matches now), and their sum; rules that failed keep
// what they have.
func profileDiff(want map[string]int, failed map[string]bool, have map[string]float64) ([]ledgerRow, int) {
	var out []ledgerRow
	delta := 0
	for _, id := range slices.Sorted(maps.Keys(want)) {
		if d := float64(want[id]) - have[id]; d != 0 {
			out = append(out, ledgerRow{kind: "profile", rule: id, points: d})
			delta += int(math.Round(d))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(have)) {
		if _, ok := want[id]; !ok && have[id] != 0 && !failed[id] {
			out = append(out, ledgerRow{kind: "profile", rule: id, points: -have[id]})
			delta -= int(math.Round(have[id]))
		}
	}
	return out, delta
}

// recordScoreEvents records what a score change did: score_changed with the rules
// that gave the points, grade_changed, and score_crossed for each threshold passed.
func recordScoreEvents(ctx context.Context, tx pgx.Tx, m *Model, leadID int64, ev Event, ledger []ledgerRow, sc lead.Scores) error {
	rules := make([]map[string]any, len(ledger))
	var total float64
	for i, r := range ledger {
		rules[i] = map[string]any{"rule": r.rule, "kind": r.kind, "points": r.points}
		total += r.points
	}
	out := []lead.Observed{{LeadID: leadID, Type: "score_changed", Properties: map[string]any{
		"event_id": ev.ID, "event_type": ev.Type, "points": total, "rules": rules,
		"score": sc.Score, "previous": sc.OldScore}}}
	if sc.Grade != sc.OldGrade {
		out = append(out, lead.Observed{LeadID: leadID, Type: "grade_changed", Properties: map[string]any{
			"from": sc.OldGrade, "to": sc.Grade, "score": sc.Score, "event_id": ev.ID}})
	}
	for _, t := range m.Crossed(sc.OldScore, sc.Score) {
		dir := "up"
		if sc.Score < sc.OldScore {
			dir = "down"
		}
		out = append(out, lead.Observed{LeadID: leadID, Type: "score_crossed", Properties: map[string]any{
			"threshold": t, "direction": dir, "from": sc.OldScore, "to": sc.Score, "event_id": ev.ID}})
	}
	return lead.AppendEvents(ctx, tx, out)
}

// dbCounter counts a lead's ledger rows for a rule, in the transaction (so that
// rows this batch added count too).
type dbCounter struct {
	ctx    context.Context
	tx     pgx.Tx
	leadID int64
}

func (c *dbCounter) Count(rule string, since time.Time) (int, error) {
	var n int
	err := c.tx.QueryRow(c.ctx, `SELECT count(*) FROM score_ledger WHERE lead_id = $1 AND rule = $2 AND at >= $3 AND kind = 'behavior' AND points <> 0`,
		c.leadID, rule, since).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count rule %s of lead %d: %w", rule, c.leadID, err)
	}
	return n, nil
}

// AddFixed adds a scenario's points to a lead (an update step's points), as a fixed
// ledger row that does not fade, and records score_changed. It returns the new scores.
func (s *Scorer) AddFixed(ctx context.Context, tx pgx.Tx, l *lead.Lead, rule string, points int, at time.Time) (lead.Scores, error) {
	m := s.Model()
	if err := insertLedger(ctx, tx, l.ID, 0, at, []ledgerRow{{kind: "fixed", rule: rule, points: float64(points)}}); err != nil {
		return lead.Scores{}, err
	}
	sc, err := lead.AddPoints(ctx, tx, l.ID, lead.PointsChange{Profile: points, At: at, HalfLife: m.HalfLife, Grades: m.Grades})
	if err != nil {
		return sc, err
	}
	l.ProfileScore, l.BehaviorScore, l.Score, l.Grade = sc.Profile, sc.Behavior, sc.Score, sc.Grade
	err = recordScoreEvents(ctx, tx, m, l.ID, Event{Type: "scenario_step"}, []ledgerRow{{kind: "fixed", rule: rule, points: float64(points)}}, sc)
	return sc, err
}
