package score_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/score"
)

// scoreLeads is how many leads BenchmarkScoreBulk loads; the ledger holds ten rows
// a lead.
var scoreLeads = flag.Int("score.leads", 1_000_000, "leads that BenchmarkScoreBulk loads (ten ledger rows each)")

// behaviorMix is the share of behaviour ledger rows each rule of the shipped model
// gets, in the model's order: opens and clicks most, forms rarely.
var behaviorMix = []float64{0.45, 0.20, 0.05, 0.05, 0.02, 0.13, 0.10}

// BenchmarkScoreBulk loads -score.leads leads (default 1,000,000) and ten times as
// many ledger rows, spread over the last 180 days and the rules of the shipped
// model, and times the bulk scoring statements next to plain UPDATEs of the same
// rows in the same run:
//
//   - decay one hour, one day and 30 days later, each beside a plain UPDATE of as
//     many leads, found by a scan as the decay finds them;
//   - a re-sum of every lead from the ledger when nothing changed;
//   - a re-score with a model whose open rule gives 2 points instead of 3 (half the
//     ledger rows re-valued, nearly every lead rewritten), beside a plain UPDATE of
//     the same ledger rows.
//
// The plain UPDATE of every lead runs before and after and counts at its mean. The
// tables' autovacuum is off and each step starts from a vacuumed table, so that no
// step pays for the dead rows of the one before.
//
//	go test -run '^$' -bench ScoreBulk -benchtime 1x ./engine/score/
//	go test -run '^$' -bench ScoreBulk -benchtime 1x ./engine/score/ -score.leads 100000
func BenchmarkScoreBulk(b *testing.B) {
	ctx := context.Background()
	src, err := os.ReadFile("../../scenarios/scoring.yaml")
	if err != nil {
		b.Fatal(err)
	}
	m, err := score.Parse("scoring.yaml", src)
	if err != nil {
		b.Fatal(err)
	}
	const open = "{ name: メール開封, on: email_opened, points: 3,"
	if !strings.Contains(string(src), open) {
		b.Fatal("the shipped model's open rule changed; update the benchmark")
	}
	edited, err := score.Parse("scoring.yaml", []byte(strings.Replace(string(src), open, "{ name: メール開封, on: email_opened, points: 2,", 1)))
	if err != nil {
		b.Fatal(err)
	}
	// The re-score's steps and their times, beside the figures.
	steps := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n := *scoreLeads
	for b.Loop() {
		pool := dbtest.New(b)
		now := time.Now().Truncate(time.Second)
		start := time.Now()
		loadLedger(b, ctx, pool, m, n, now)
		written, err := score.Resum(ctx, pool, m, now)
		if err != nil {
			b.Fatal(err)
		}
		vacuum(b, ctx, pool, "ANALYZE")
		b.Logf("%d leads, %d ledger rows loaded and summed (%d leads written) in %s", n, count(b, ctx, pool, `SELECT count(*) FROM score_ledger`),
			written, time.Since(start).Round(time.Millisecond))

		plainBefore := timed(b, ctx, pool, `UPDATE leads SET updated_at = now()`)
		for _, d := range []struct {
			name string
			by   time.Duration
		}{{"1h", time.Hour}, {"1d", 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}} {
			at := now.Add(d.by)
			start := time.Now()
			rows, err := score.Decay(ctx, pool, m, at)
			if err != nil {
				b.Fatal(err)
			}
			took := time.Since(start)
			vacuum(b, ctx, pool, "")
			plain := timed(b, ctx, pool, `UPDATE leads SET updated_at = now() WHERE behavior_at = $1`, at)
			b.ReportMetric(float64(rows), "decay_"+d.name+"_leads")
			b.ReportMetric(took.Seconds(), "decay_"+d.name+"_s")
			b.ReportMetric(plain.Seconds(), "plain_"+d.name+"_s")
			b.ReportMetric(took.Seconds()/plain.Seconds(), "decay_"+d.name+"_x_plain")
			now = at
		}

		start = time.Now()
		written, err = score.Resum(ctx, pool, m, now)
		if err != nil {
			b.Fatal(err)
		}
		resum := time.Since(start)
		vacuum(b, ctx, pool, "")

		plainLedger := timed(b, ctx, pool, `UPDATE score_ledger SET points = points WHERE kind = 'behavior' AND rule = $1`, m.Behavior[0].ID)
		vacuum(b, ctx, pool, "")
		start = time.Now()
		rescored, err := score.Rescore(ctx, pool, edited, nil, now, steps)
		if err != nil {
			b.Fatal(err)
		}
		rescore := time.Since(start)
		vacuum(b, ctx, pool, "")
		plainAfter := timed(b, ctx, pool, `UPDATE leads SET updated_at = now()`)
		plain := (plainBefore + plainAfter) / 2

		b.ReportMetric(plain.Seconds(), "plain_all_s")
		b.ReportMetric(resum.Seconds(), "resum_s")
		b.ReportMetric(float64(written), "resum_leads")
		b.ReportMetric(resum.Seconds()/plain.Seconds(), "resum_x_plain")
		b.ReportMetric(plainLedger.Seconds(), "plain_ledger_s")
		b.ReportMetric(rescore.Seconds(), "rescore_s")
		b.ReportMetric(float64(rescored), "rescore_leads")
		b.ReportMetric(rescore.Seconds()/plain.Seconds(), "rescore_x_plain")
		b.ReportMetric(rescore.Seconds()/(plain+plainLedger).Seconds(), "rescore_x_plain+ledger")
	}
}

// loadLedger loads n leads and 10n ledger rows valued with m, in SQL: a tenth of the
// leads are 部長, a fifth have 1,200 employees, one in fifty is a student, and each
// has the profile rows that says; behaviour rows fall on leads unevenly (a few leads
// did much, most little) over the 180 days before now, in behaviorMix's shares.
func loadLedger(b *testing.B, ctx context.Context, pool *pgxpool.Pool, m *score.Model, n int, now time.Time) {
	b.Helper()
	if len(m.Profile) != 3 || len(m.Behavior) != len(behaviorMix) {
		b.Fatal("the shipped model's rules changed; update the benchmark")
	}
	rules := make([]string, len(m.Behavior))
	points := make([]float64, len(m.Behavior))
	bounds := make([]float64, len(m.Behavior))
	var sum float64
	for i, r := range m.Behavior {
		rules[i], points[i], bounds[i] = r.ID, float64(r.Points), sum
		sum += behaviorMix[i]
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, q := range []string{
			`ALTER TABLE leads SET (autovacuum_enabled = off)`,
			`ALTER TABLE score_ledger SET (autovacuum_enabled = off)`,
			`SELECT setseed(0.5)`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO leads (id, email, title, employees, created_at, updated_at, behavior_at)
			SELECT g, 'bench' || g || '@example.com',
				CASE WHEN g % 10 = 0 THEN '営業部長' WHEN g % 50 = 7 THEN '学生' ELSE '担当' END,
				CASE WHEN g % 5 = 0 THEN 1200 ELSE 100 END,
				$2::timestamptz - interval '1 year', $2::timestamptz - interval '1 year', $2::timestamptz - interval '1 year'
			FROM generate_series(1, $1::bigint) g`, n, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('leads', 'id'), $1)`, n); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO score_ledger (lead_id, kind, rule, awarded, points, at)
			SELECT id, 'profile', $1, $2::float8, $2::float8, created_at FROM leads WHERE id % 10 = 0
			UNION ALL SELECT id, 'profile', $3, $4::float8, $4::float8, created_at FROM leads WHERE id % 5 = 0
			UNION ALL SELECT id, 'profile', $5, $6::float8, $6::float8, created_at FROM leads WHERE id % 50 = 7`,
			m.Profile[0].ID, float64(m.Profile[0].Points), m.Profile[1].ID, float64(m.Profile[1].Points),
			m.Profile[2].ID, float64(m.Profile[2].Points)); err != nil {
			return err
		}
		// The ledger's indexes and foreign key are made again after the rows are in,
		// from their own definitions: far quicker than row by row.
		rows, err := tx.Query(ctx, `SELECT pg_get_indexdef(indexrelid) FROM pg_index
			WHERE indrelid = 'score_ledger'::regclass AND NOT indisprimary
			UNION ALL SELECT 'ALTER TABLE score_ledger ADD CONSTRAINT ' || quote_ident(conname) || ' ' || pg_get_constraintdef(oid)
			FROM pg_constraint WHERE conrelid = 'score_ledger'::regclass AND contype = 'f'`)
		if err != nil {
			return err
		}
		remake, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DO $$ DECLARE r record; BEGIN
			FOR r IN SELECT conname FROM pg_constraint WHERE conrelid = 'score_ledger'::regclass AND contype = 'f' LOOP
				EXECUTE 'ALTER TABLE score_ledger DROP CONSTRAINT ' || quote_ident(r.conname);
			END LOOP;
			FOR r IN SELECT indexrelid::regclass AS name FROM pg_index WHERE indrelid = 'score_ledger'::regclass AND NOT indisprimary LOOP
				EXECUTE 'DROP INDEX ' || r.name;
			END LOOP;
		END $$`); err != nil {
			return err
		}
		// A lead's share of the rows falls with the square of a uniform draw; the
		// multiplication scatters the busy leads over the IDs.
		_, err = tx.Exec(ctx, `INSERT INTO score_ledger (lead_id, kind, rule, awarded, points, at)
			SELECT 1 + (floor($1::bigint * power(x.who, 2))::bigint * 2654435761) % $1::bigint, 'behavior',
				($2::text[])[width_bucket(x.what, $4::float8[])], ($3::float8[])[width_bucket(x.what, $4::float8[])],
				($3::float8[])[width_bucket(x.what, $4::float8[])], $5::timestamptz - x.ago * interval '180 days'
			FROM (SELECT random() AS who, random() AS what, random() AS ago
				FROM generate_series(1, 10 * $1::bigint - (SELECT count(*) FROM score_ledger))) x`,
			n, rules, points, bounds, now)
		if err != nil {
			return err
		}
		for _, q := range append([]string{`SET LOCAL maintenance_work_mem = '256MB'`}, remake...) {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("load the ledger: %v", err)
	}
}

// vacuum vacuums the two tables, with ANALYZE when asked, outside any timing.
func vacuum(b *testing.B, ctx context.Context, pool *pgxpool.Pool, analyze string) {
	b.Helper()
	if _, err := pool.Exec(ctx, `VACUUM `+analyze+` leads, score_ledger`); err != nil {
		b.Fatal(err)
	}
}

// timed runs one statement and returns how long it took.
func timed(b *testing.B, ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) time.Duration {
	b.Helper()
	start := time.Now()
	tag, err := pool.Exec(ctx, sql, args...)
	if err != nil {
		b.Fatalf("%s: %v", sql, err)
	}
	took := time.Since(start)
	b.Logf("%s: %d rows in %s", sql, tag.RowsAffected(), took.Round(time.Millisecond))
	vacuum(b, ctx, pool, "")
	return took
}

func count(b *testing.B, ctx context.Context, pool *pgxpool.Pool, sql string) int64 {
	b.Helper()
	var n int64
	if err := pool.QueryRow(ctx, sql).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}
