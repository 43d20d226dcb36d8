package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAPIUpserts posts new leads to POST /api/v1/leads over real HTTP from
// parallel clients (each request authenticated, upserted with its event, and answered
// with the lead), next to a static handler on the same kind of server in the same
// run as the baseline of what HTTP alone costs here.
//
//	go test -run '^$' -bench APIUpserts -benchtime 5000x ./web/
func BenchmarkAPIUpserts(b *testing.B) {
	var static float64
	b.Run("StaticHandler", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"id":1}`)
		}))
		defer srv.Close()
		static = measure(b, srv.URL+"/", http.StatusCreated)
	})
	b.Run("Upsert", func(b *testing.B) {
		tb := setup(b)
		rate := measure(b, tb.srv.URL+"/api/v1/leads", http.StatusCreated)
		if static > 0 {
			b.ReportMetric(100*rate/static, "%_of_static")
		}
	})
}

// measure posts a new lead per iteration from 8 clients at once and reports requests/s.
func measure(b *testing.B, url string, want int) float64 {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var seq atomic.Int64
	b.SetParallelism(4) // 4 × GOMAXPROCS clients
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			body := fmt.Sprintf(`{"email":"bench%d@example.co.jp","last_name":"山田","company":"株式会社サンプル","title":"部長","employees":1200}`, n)
			req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+testKey)
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != want {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
	rate := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(rate, "req/s")
	return rate
}
