package mail_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	gomail "github.com/wneessen/go-mail"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/mail/mailtest"
	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/track"
)

// benchMessages is how many messages each side of BenchmarkSend sends.
const benchMessages = 10000

// BenchmarkSend sends messages through the whole send path (a message row and a River
// job each, rendering with tracking, suppression checks, pooled SMTP, the outcome
// recorded with the job's completion) into an in-process SMTP sink, and, as the
// baselines in the same run, sends the same number of pre-built messages with a raw
// go-mail loop over as many connections into the same sink, and has River work as
// many no-op jobs on the send queue. The raw loop (raw_msgs/s) uses go-mail's
// defaults, as a loop written by hand would: a NOOP to check the connection before
// each message, and a NOOP and a RSET after it. The send path leaves those out, so
// the same loop without them is reported too (raw_lean_msgs/s): the stricter
// baseline, the cost of the path's own SMTP alone. Each raw loop runs before and
// after the path and counts at its mean, so that a machine whose speed drifts during
// the run (shared cores do) tilts the ratios less.
//
//	go test -run '^$' -bench Send -benchtime 1x ./engine/mail/
func BenchmarkSend(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		sink := mailtest.NewServer(b, mailtest.CountOnly())
		cfg, err := mail.ParseSMTPURL(sink.URL())
		if err != nil {
			b.Fatal(err)
		}
		cfg.PoolSize = 8
		leanBefore, rawBefore := rawLoop(b, sink, cfg, true), rawLoop(b, sink, cfg, false)
		path := sendPath(b, ctx, sink, cfg)
		raw := (rawBefore + rawLoop(b, sink, cfg, false)) / 2
		lean := (leanBefore + rawLoop(b, sink, cfg, true)) / 2
		noop := noopJobs(b, ctx)
		b.ReportMetric(raw, "raw_msgs/s")
		b.ReportMetric(lean, "raw_lean_msgs/s")
		b.ReportMetric(noop, "noop_jobs/s")
		b.ReportMetric(path, "path_msgs/s")
		b.ReportMetric(100*path/raw, "path_%_of_raw")
		b.ReportMetric(100*path/lean, "path_%_of_raw_lean")
		// A path that did nothing but a River job and a lean raw send per message,
		// each costing what it costs alone here, could go no faster than this.
		bound := 1 / (1/lean + 1/noop)
		b.ReportMetric(100*path/bound, "path_%_of_job+send")
	}
}

// rawLoop sends benchMessages pre-built messages over cfg.PoolSize connections, lean
// (no NOOP, no RSET, as SMTPSender) or with go-mail's defaults.
func rawLoop(b *testing.B, sink *mailtest.Server, cfg mail.SMTPConfig, lean bool) float64 {
	set, err := message.Load("../../templates")
	if err != nil {
		b.Fatal(err)
	}
	r, err := set.Render("whitepaper/thanks", message.Data{Lead: &lead.Lead{Email: "x@example.com", LastName: "山田"}})
	if err != nil {
		b.Fatal(err)
	}
	before := sink.Count()
	start := time.Now()
	var wg sync.WaitGroup
	per := benchMessages / cfg.PoolSize
	for w := range cfg.PoolSize {
		wg.Go(func() {
			opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTLSPolicy(gomail.NoTLS)}
			if lean {
				opts = append(opts, gomail.WithoutNoop(), gomail.WithoutRset())
			}
			c, err := gomail.NewClient(cfg.Host, opts...)
			if err != nil {
				b.Error(err)
				return
			}
			if err := c.DialWithContext(context.Background()); err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			for i := range per {
				m := gomail.NewMsg(gomail.WithEncoding(gomail.EncodingB64))
				_ = m.From("marketing@example.com")
				_ = m.To(fmt.Sprintf("raw%d-%d@example.com", w, i))
				m.Subject(r.Subject)
				m.SetMessageID()
				m.SetBodyString(gomail.TypeTextPlain, r.Text)
				m.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
				if err := c.Send(m); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	rate := float64(per*cfg.PoolSize) / time.Since(start).Seconds()
	if got := sink.Count() - before; got != per*cfg.PoolSize {
		b.Fatalf("raw loop: sink got %d", got)
	}
	return rate
}

// noopJobs queues benchMessages no-op jobs on the send queue, with the send path's
// queue settings, and times River working them off.
func noopJobs(b *testing.B, ctx context.Context) float64 {
	pool := dbtest.New(b)
	client, err := queue.New(pool, queue.NewWorkers(), queue.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	params := make([]river.InsertManyParams, benchMessages)
	for i := range params {
		params[i] = river.InsertManyParams{Args: queue.NoopArgs{}, InsertOpts: &river.InsertOpts{Queue: queue.Send}}
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := client.InsertManyTx(ctx, tx, params)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := client.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer client.Stop(ctx) //nolint:errcheck
	for {
		var done int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'completed'`).Scan(&done); err != nil {
			b.Fatal(err)
		}
		if done == benchMessages {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return float64(benchMessages) / time.Since(start).Seconds()
}

func sendPath(b *testing.B, ctx context.Context, sink *mailtest.Server, cfg mail.SMTPConfig) float64 {
	pool := dbtest.New(b)
	set, err := message.Load("../../templates")
	if err != nil {
		b.Fatal(err)
	}
	signer, _ := track.NewSigner([]byte(testSecret))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sender := mail.NewSMTPSender(cfg)
	defer sender.Close()
	mailer := mail.New(mail.Config{BaseURL: "https://nurture.example.com", From: "Marketing <marketing@example.com>",
		Templates: func() *message.Set { return set }, Signer: signer, Sender: sender, Logger: quiet})
	workers := queue.NewWorkers()
	river.AddWorker(workers, &mail.SendWorker{Mailer: mailer, Pool: pool})
	client, err := queue.New(pool, workers, queue.Config{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}

	// Leads with different names, and some with none (the template's fallback).
	names := []string{"山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", ""}
	inputs := make([]lead.Input, benchMessages)
	for i := range inputs {
		last := names[i%len(names)]
		inputs[i] = lead.Input{Email: fmt.Sprintf("lead%d@example.com", i), LastName: &last}
	}
	out, err := lead.Upsert(ctx, pool, "bench", inputs)
	if err != nil {
		b.Fatal(err)
	}
	// Queue everything first, then time the workers draining it.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, o := range out {
			if _, _, err := mailer.Enqueue(ctx, tx, client, o.ID, "whitepaper/thanks", "bench"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	before := sink.Count()
	start := time.Now()
	if err := client.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer client.Stop(ctx) //nolint:errcheck
	// Watch the sink, which costs the path nothing, until every message arrived; then
	// the database, until every outcome is committed (a few milliseconds more).
	for sink.Count()-before < benchMessages {
		time.Sleep(10 * time.Millisecond)
	}
	for {
		var left int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE status = 'queued'`).Scan(&left); err != nil {
			b.Fatal(err)
		}
		if left == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	rate := float64(benchMessages) / time.Since(start).Seconds()
	if got := sink.Count() - before; got != benchMessages {
		b.Fatalf("send path: sink got %d, want %d", got, benchMessages)
	}
	return rate
}
