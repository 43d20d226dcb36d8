package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/track"
	"github.com/nurture-dev/nurture/web"
)

// pixelMessages is how many sent messages the pixel hits are spread over.
const pixelMessages = 5000

// BenchmarkPixel loads open pixels over real HTTP from parallel clients, each hit
// verified, judged and durably recorded, next to a static handler serving the same GIF
// in the same run. It reports hits/s, counted until every hit is committed, and the
// p99 of the answers.
//
//	go test -run '^$' -bench Pixel -benchtime 60000x ./web/
func BenchmarkPixel(b *testing.B) {
	var static float64
	b.Run("StaticHandler", func(b *testing.B) {
		gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "image/gif")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(gif)
		}))
		defer srv.Close()
		static = hammer(b, func(int) string { return srv.URL + "/t/o/x" }, func() {})
	})
	b.Run("RecordedHits", func(b *testing.B) {
		ctx := context.Background()
		pool := dbtest.New(b)
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		set, err := message.Load("../templates")
		if err != nil {
			b.Fatal(err)
		}
		signer, _ := track.NewSigner([]byte("bench-secret-0123456789abcdef0123456789abcdef"))
		mailer := mail.New(mail.Config{BaseURL: "http://localhost", From: "m@example.com",
			Templates: func() *message.Set { return set }, Signer: signer, Logger: quiet})
		client, err := queue.New(pool, queue.NewWorkers(), queue.Config{Role: queue.RoleWeb, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		inputs := make([]lead.Input, pixelMessages)
		for i := range inputs {
			inputs[i] = lead.Input{Email: fmt.Sprintf("reader%d@example.com", i)}
		}
		if _, err := lead.Upsert(ctx, pool, "bench", inputs); err != nil {
			b.Fatal(err)
		}
		// Sent messages, as the send worker leaves them, written at once.
		rows, err := pool.Query(ctx, `INSERT INTO messages (lead_id, purpose, template, to_email, message_id, status, attempts, sent_at)
			SELECT id, 'bench', 'whitepaper/thanks', email, 'bench-' || id || '@example.com', 'sent', 1, now() - interval '1 hour'
			FROM leads RETURNING id`)
		if err != nil {
			b.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			b.Fatal(err)
		}
		urls := make([]string, len(ids))
		rec := mailer.NewHitRecorder(pool, 1)
		s := web.New(web.Config{}, web.Deps{Pool: pool, Queue: client, Logger: quiet, Mailer: mailer, Signer: signer, Recorder: rec})
		srv := httptest.NewServer(s.Handler())
		defer srv.Close()
		for i, id := range ids {
			urls[i] = srv.URL + "/t/o/" + signer.Sign(track.Token{Kind: track.Open, MessageID: id})
		}
		var before int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE type = 'email_opened'`).Scan(&before)
		// The clock stops once every hit is committed, not when the last answer is in:
		// pixels are answered at once and recorded with the next batch.
		rate := hammer(b, func(i int) string { return urls[i%len(urls)] }, rec.Close)
		var after int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE type = 'email_opened'`).Scan(&after)
		if after-before != b.N {
			b.Fatalf("%d hits recorded, want %d", after-before, b.N)
		}
		if static > 0 {
			b.ReportMetric(100*rate/static, "%_of_static")
		}
	})
}

// hammer GETs url(i) b.N times from 32 clients, runs done, and reports requests/s
// until done returned, and the p99 of the answers.
func hammer(b *testing.B, url func(int) string, done func()) float64 {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var seq atomic.Int64
	var mu sync.Mutex
	var latencies []time.Duration
	b.SetParallelism(16) // 16 × GOMAXPROCS clients
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			res, err := client.Get(url(int(seq.Add(1))))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("status %d", res.StatusCode)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		latencies = append(latencies, mine...)
		mu.Unlock()
	})
	done()
	rate := float64(b.N) / time.Since(start).Seconds()
	slices.Sort(latencies)
	if len(latencies) > 0 {
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99_ms")
	}
	b.ReportMetric(rate, "hits/s")
	return rate
}
