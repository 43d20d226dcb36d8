package score

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/scenario"
)

// DispatchLock is the advisory lock ("nurtdisp") the event dispatcher holds for each
// batch. The bulk operations here take it for each of their transactions, so that they
// never interleave with the dispatcher's scoring of the same leads: the dispatcher
// skips its turn (it only tries the lock) and carries on once they commit.
const DispatchLock int64 = 0x6e75727464697370

// lockDispatch waits for the dispatcher's lock in tx.
func lockDispatch(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, DispatchLock)
	return err
}

// The SQL of a lead's current behaviour points and grade, shared by the bulk
// statements below (the single-lead one lives in engine/lead).
func decaySQL(points, at string) string {
	return lead.DecaySQL(points, at, "$1::timestamptz", "$2::float8")
}

// finalSQL turns a lead's total into its grade; $3 and $4 are hot and warm.
func gradeSQL(total string) string { return lead.GradeSQL(total, "$3::int", "$4::int") }

// Decay brings every lead's behaviour points to now, in one set-based statement that
// writes only the leads whose whole score or grade changes (the stored points and
// their time stay consistent for the others: a reader decays them further). Leads
// whose grade changes get a grade_changed event. It returns how many leads it wrote.
func Decay(ctx context.Context, db *pgxpool.Pool, m *Model, now time.Time) (int64, error) {
	if m.HalfLife <= 0 {
		return 0, nil
	}
	b := decaySQL("behavior_score", "behavior_at")
	lb := decaySQL("l.behavior_score", "l.behavior_at")
	// Points under a hundredth are dropped to zero, so that a lead long idle leaves
	// the set this statement looks at.
	var n int64
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := lockDispatch(ctx, tx); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `WITH o AS (
			SELECT id, grade FROM leads
			WHERE behavior_score <> 0 AND (round(profile_score + `+b+`)::int <> score OR abs(`+b+`) < 0.01)
			FOR UPDATE),
		u AS (UPDATE leads l SET
				behavior_score = CASE WHEN abs(`+lb+`) < 0.01 THEN 0 ELSE `+lb+` END,
				behavior_at = greatest(l.behavior_at, $1::timestamptz),
				score = round(l.profile_score + `+lb+`)::int,
				grade = `+gradeSQL("round(l.profile_score + "+lb+")")+`
			FROM o WHERE l.id = o.id
			RETURNING l.id, l.grade, l.score, o.grade AS old_grade),
		e AS (INSERT INTO events (lead_id, type, properties)
			SELECT id, 'grade_changed', jsonb_build_object('from', old_grade, 'to', grade, 'score', score, 'by', 'decay')
			FROM u WHERE old_grade <> grade)
		SELECT count(*) FROM u`,
			now, m.HalfLife.Seconds(), m.Grades.Hot, m.Grades.Warm).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("decay scores: %w", err)
	}
	return n, nil
}

// Rescore makes every lead's score what the model m says: behaviour rows are valued
// at the points of their rule now (rows of a rule the model dropped count nothing;
// the points first awarded stay in the row), profile rules are evaluated for every
// lead again, and the totals are summed from the ledger in one set-based statement.
// A rule added or a condition changed counts from the events that follow; events
// before the edit are not read again. It returns how many leads it wrote.
//
// prev is the model applied before, if known: the steps whose rules m does not
// change (the behaviour rules' points, the profile rules) are skipped.
func Rescore(ctx context.Context, db *pgxpool.Pool, m, prev *Model, now time.Time, log *slog.Logger) (int64, error) {
	if prev != nil && sameRules(prev.Behavior, m.Behavior) && sameRules(prev.Profile, m.Profile) && prev.HalfLife == m.HalfLife {
		log.Debug("no rule's points changed; scores summed again for the grades")
		return Resum(ctx, db, m, now)
	}
	ids := make([]string, 0, len(m.Behavior))
	points := make([]float64, 0, len(m.Behavior))
	for _, r := range m.Behavior {
		ids = append(ids, r.ID)
		points = append(points, float64(r.Points))
	}
	// One pass over the ledger: a rule's points are looked up in the arrays (a rule
	// the model dropped finds none and counts nothing).
	const valued = `coalesce(($2::float8[])[array_position($1::text[], rule)], 0)`
	start := time.Now()
	if prev == nil || !sameRules(prev.Behavior, m.Behavior) {
		tag, err := db.Exec(ctx, `UPDATE score_ledger SET points = `+valued+`
			WHERE kind = 'behavior' AND points <> `+valued, ids, points)
		if err != nil {
			return 0, fmt.Errorf("re-value behaviour points: %w", err)
		}
		log.Debug("behaviour points re-valued", "ledger_rows", tag.RowsAffected(), "took", time.Since(start).Round(time.Millisecond).String())
	}
	start = time.Now()
	if prev == nil || !sameRules(prev.Profile, m.Profile) {
		if err := reprofile(ctx, db, m, now, log); err != nil {
			return 0, err
		}
		log.Debug("profile rules evaluated again", "took", time.Since(start).Round(time.Millisecond).String())
	}
	return Resum(ctx, db, m, now)
}

// Resum sums every lead's score from the ledger, writing the leads whose stored
// score, grade or points differ from it. It returns how many leads it wrote.
//
// It reads the ledger and the leads once, without locking them, and writes a lead
// only if its row still holds what was read: a writer that added points meanwhile
// (lead.AddPoints, in the transaction that added their ledger rows) changed the row,
// and the sum read before it misses those rows. The leads skipped so are locked and
// summed again in a second statement, which sees every writer that came before the
// lock.
func Resum(ctx context.Context, db *pgxpool.Pool, m *Model, now time.Time) (int64, error) {
	var written int64
	var skipped []int64
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		// The dispatcher waits its turn: its batches lock several leads each, and
		// this statement locks many, in another order.
		if err := lockDispatch(ctx, tx); err != nil {
			return err
		}
		// The sums of a large ledger by lead fit in memory with room to spare
		// here; a spilled aggregate costs several times the statement.
		if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '`+resumWorkMem+`'`); err != nil {
			return err
		}
		return tx.QueryRow(ctx, resumSQL(""), now, m.HalfLife.Seconds(), m.Grades.Hot, m.Grades.Warm).Scan(&written, &skipped)
	})
	if err != nil || len(skipped) == 0 {
		if err != nil {
			return 0, fmt.Errorf("re-score leads: %w", err)
		}
		return written, nil
	}
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := lockDispatch(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT FROM leads WHERE id = ANY($1) ORDER BY id FOR UPDATE`, skipped); err != nil {
			return err
		}
		var n int64
		var left []int64
		err := tx.QueryRow(ctx, resumSQL("$5::bigint[]"), now, m.HalfLife.Seconds(), m.Grades.Hot, m.Grades.Warm, skipped).Scan(&n, &left)
		if err == nil && len(left) > 0 {
			err = fmt.Errorf("%d locked leads changed under the lock", len(left))
		}
		written += n
		return err
	})
	if err != nil {
		return written, fmt.Errorf("re-score leads changed meanwhile: %w", err)
	}
	return written, nil
}

// sameRules reports whether two lists hold the same rules with the same points and
// conditions, in any order.
func sameRules(a, b []*Rule) bool {
	if len(a) != len(b) {
		return false
	}
	byID := make(map[string]*Rule, len(a))
	for _, r := range a {
		byID[r.ID] = r
	}
	for _, r := range b {
		o := byID[r.ID]
		if o == nil || o.Points != r.Points || exprSource(o.If) != exprSource(r.If) {
			return false
		}
	}
	return true
}

func exprSource(x *scenario.Expr) string {
	if x == nil {
		return ""
	}
	return x.Source
}

// resumWorkMem is the memory Resum's statement may use to sum the ledger by lead:
// about a hundred bytes a lead.
const resumWorkMem = "256MB"

// resumSQL sums the ledger of every lead, or of the leads in the array ids names,
// and writes the leads whose row differs and did not change since it was read. It
// returns how many it wrote and the IDs of those it skipped. A lead without ledger
// rows (scored before the ledger existed) keeps its fixed points only. $1 is now,
// $2 the half-life in seconds, $3 and $4 the hot and warm thresholds.
func resumSQL(ids string) string {
	ledger, leads := "", "TRUE"
	if ids != "" {
		ledger, leads = "WHERE lead_id = ANY("+ids+")", "l.id = ANY("+ids+")"
	}
	lb := decaySQL("l.behavior_score", "l.behavior_at")
	return `WITH s AS (
			SELECT lead_id,
				coalesce(sum(points) FILTER (WHERE kind <> 'behavior'), 0)::int AS fixed,
				coalesce(sum(` + decaySQL("points", "at") + `) FILTER (WHERE kind = 'behavior'), 0) AS behavior
			FROM score_ledger ` + ledger + ` GROUP BY lead_id),
		o AS (SELECT l.id, l.grade, l.profile_score, l.behavior_score, l.behavior_at,
				coalesce(s.fixed, l.profile_score) AS fixed, coalesce(s.behavior, 0) AS behavior
			FROM leads l LEFT JOIN s ON s.lead_id = l.id
			WHERE ` + leads + ` AND (s.lead_id IS NOT NULL OR l.behavior_score <> 0)
				AND (l.profile_score <> coalesce(s.fixed, l.profile_score) OR abs(` + lb + ` - coalesce(s.behavior, 0)) >= 0.01
					OR l.score <> round(coalesce(s.fixed, l.profile_score) + coalesce(s.behavior, 0))::int)),
		u AS (UPDATE leads l SET profile_score = o.fixed, behavior_score = o.behavior,
				behavior_at = $1::timestamptz, score = round(o.fixed + o.behavior)::int,
				grade = ` + gradeSQL("round(o.fixed + o.behavior)") + `
			FROM o WHERE l.id = o.id AND l.profile_score = o.profile_score
				AND l.behavior_score = o.behavior_score AND l.behavior_at = o.behavior_at
			RETURNING l.id, l.grade, l.score, o.grade AS old_grade),
		e AS (INSERT INTO events (lead_id, type, properties)
			SELECT id, 'grade_changed', jsonb_build_object('from', old_grade, 'to', grade, 'score', score, 'by', 'rescore')
			FROM u WHERE old_grade <> grade)
		SELECT (SELECT count(*) FROM u), ARRAY(SELECT id FROM o EXCEPT SELECT id FROM u)`
}

// reprofilePage is how many leads reprofile evaluates per transaction.
const reprofilePage = 2000

// reprofile evaluates the profile rules for every lead, a page at a time, and adds
// the ledger rows that bring each lead's profile points to what the rules say now.
func reprofile(ctx context.Context, db *pgxpool.Pool, m *Model, now time.Time, log *slog.Logger) error {
	var any bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM score_ledger WHERE kind = 'profile')`).Scan(&any); err != nil {
		return fmt.Errorf("re-profile: %w", err)
	}
	if len(m.Profile) == 0 && !any {
		return nil
	}
	var after int64
	for {
		leads, err := lead.FindLeads(ctx, db, lead.Filter{AfterID: after, Limit: reprofilePage})
		if err != nil {
			return fmt.Errorf("re-profile: %w", err)
		}
		if len(leads) == 0 {
			return nil
		}
		after = leads[len(leads)-1].ID
		err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			if err := lockDispatch(ctx, tx); err != nil {
				return err
			}
			// Read again under the lock: the page as the dispatcher left it.
			ids := make([]int64, len(leads))
			for i, l := range leads {
				ids[i] = l.ID
			}
			fresh, err := lead.FindLeadsByID(ctx, tx, ids)
			if err != nil {
				return err
			}
			return reprofilePageTx(ctx, tx, m, fresh, now, log)
		})
		if err != nil {
			return fmt.Errorf("re-profile: %w", err)
		}
	}
}

func reprofilePageTx(ctx context.Context, tx pgx.Tx, m *Model, leads []*lead.Lead, now time.Time, log *slog.Logger) error {
	ids := make([]int64, len(leads))
	for i, l := range leads {
		ids[i] = l.ID
	}
	rows, err := tx.Query(ctx, `SELECT lead_id, rule, sum(points) FROM score_ledger
		WHERE lead_id = ANY($1) AND kind = 'profile' GROUP BY lead_id, rule`, ids)
	if err != nil {
		return err
	}
	have := map[int64]map[string]float64{}
	for rows.Next() {
		var id int64
		var rule string
		var p float64
		if err := rows.Scan(&id, &rule, &p); err != nil {
			rows.Close()
			return err
		}
		if have[id] == nil {
			have[id] = map[string]float64{}
		}
		have[id][rule] = p
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var leadIDs []int64
	var rules []string
	var points []float64
	for _, l := range leads {
		want, failed, err := m.ProfileAwards(scenario.NewEnv(scenario.LeadEnvOf(l).WithHistory(lead.NewHistory(ctx, tx, l.ID)), scenario.EventEnv{}, now))
		if err != nil {
			log.Warn("a profile rule failed; it keeps the points it gave", "lead_id", l.ID, "error", err)
		}
		diff, _ := profileDiff(want, failed, have[l.ID])
		for _, d := range diff {
			leadIDs = append(leadIDs, l.ID)
			rules = append(rules, d.rule)
			points = append(points, d.points)
		}
	}
	if len(leadIDs) == 0 {
		return nil
	}
	_, err = tx.Exec(ctx, `INSERT INTO score_ledger (lead_id, kind, rule, awarded, points, at)
		SELECT x.lead_id, 'profile', x.rule, x.points, x.points, $4 FROM unnest($1::bigint[], $2::text[], $3::float8[]) AS x(lead_id, rule, points)`,
		leadIDs, rules, points, now)
	return err
}

// RescoreArgs re-scores every lead with a model version, once the version is loaded.
type RescoreArgs struct {
	Version string `json:"version"`
}

// Kind is the job kind of RescoreArgs.
func (RescoreArgs) Kind() string { return "score_rescore" }

// InsertOpts makes one job per version.
func (RescoreArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// DecayArgs is the periodic job that decays behaviour points and applies a model
// that no re-score has applied yet.
type DecayArgs struct{}

// Kind is the job kind of DecayArgs.
func (DecayArgs) Kind() string { return "score_decay" }

// Worker runs the scoring jobs.
type Worker struct {
	Scorer *Scorer
	Pool   *pgxpool.Pool
	Now    func() time.Time
	Log    *slog.Logger
}

// RescoreWorker works RescoreArgs.
type RescoreWorker struct {
	river.WorkerDefaults[RescoreArgs]
	*Worker
}

// Timeout gives a re-score of a large lead base time.
func (w *RescoreWorker) Timeout(*river.Job[RescoreArgs]) time.Duration { return time.Hour }

// Work re-scores with the job's model version, unless it is applied already or no
// longer current.
func (w *RescoreWorker) Work(ctx context.Context, job *river.Job[RescoreArgs]) error {
	return w.apply(ctx, job.Args.Version)
}

// DecayWorker works DecayArgs.
type DecayWorker struct {
	river.WorkerDefaults[DecayArgs]
	*Worker
}

// Timeout gives a decay over a large lead base time.
func (w *DecayWorker) Timeout(*river.Job[DecayArgs]) time.Duration { return 30 * time.Minute }

// Work applies the current model if no re-score has, then decays.
func (w *DecayWorker) Work(ctx context.Context, _ *river.Job[DecayArgs]) error {
	m := w.Scorer.Model()
	if err := w.apply(ctx, m.Version); err != nil {
		return err
	}
	start := time.Now()
	n, err := Decay(ctx, w.Pool, m, w.now())
	if err != nil {
		return err
	}
	w.log().Info("scores decayed", "leads_written", n, "half_life", m.HalfLife.String(), "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

// apply re-scores with a stored model version that is the current one and not yet
// applied; it marks it applied in the same breath.
func (w *Worker) apply(ctx context.Context, version string) error {
	m := w.Scorer.Model()
	if m.Version != version || version == "default" {
		return nil // a later model superseded it; its own job applies that one
	}
	var applied bool
	err := w.Pool.QueryRow(ctx, `SELECT applied_at IS NOT NULL FROM score_models WHERE version = $1`, version).Scan(&applied)
	if errors.Is(err, pgx.ErrNoRows) || applied {
		return nil
	}
	if err != nil {
		return fmt.Errorf("scoring model %s: %w", version, err)
	}
	start := time.Now()
	written, err := Rescore(ctx, w.Pool, m, w.previous(ctx), w.now(), w.log())
	if err != nil {
		return err
	}
	if _, err := w.Pool.Exec(ctx, `UPDATE score_models SET applied_at = now() WHERE version = $1`, version); err != nil {
		return fmt.Errorf("scoring model %s: %w", version, err)
	}
	w.log().Info("every lead re-scored with the scoring model", "version", version, "file", m.File, "leads_written", written,
		"took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// previous is the model applied last, or nil when none was or it no longer parses.
func (w *Worker) previous(ctx context.Context) *Model {
	var version string
	var src []byte
	err := w.Pool.QueryRow(ctx, `SELECT version, source FROM score_models WHERE applied_at IS NOT NULL
		ORDER BY applied_at DESC LIMIT 1`).Scan(&version, &src)
	if err != nil {
		return nil
	}
	m, err := Parse(FileName, src)
	if err != nil {
		return nil
	}
	return m
}

// Store records a loaded model so that its re-score is known to be due.
func Store(ctx context.Context, db *pgxpool.Pool, m *Model) (fresh bool, err error) {
	if m.Version == "default" {
		return false, nil
	}
	tag, err := db.Exec(ctx, `INSERT INTO score_models (version, source) VALUES ($1, $2) ON CONFLICT DO NOTHING`, m.Version, m.Source)
	if err != nil {
		return false, fmt.Errorf("store scoring model: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}
