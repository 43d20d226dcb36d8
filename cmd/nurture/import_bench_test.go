package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/leadcsv"
)

// benchRows is the size of the generated list: the 100k.
const benchRows = 100_000

var (
	lastNames   = []string{"山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤"}
	firstNames  = []string{"太郎", "花子", "一郎", "次郎", "美咲", "健太", "陽子", "大輔", "直樹", "由美"}
	companies   = []string{"株式会社サンプル", "テスト工業株式会社", "例示商事", "見本システムズ", "試験製作所"}
	departments = []string{"情報システム部", "営業部", "マーケティング部", "経営企画部", "開発部"}
	titles      = []string{"部長", "課長", "主任", "担当", "取締役", "Director", "VP"}
)

// generatedList is a CSV of n distinct leads with Japanese headers, as an exported
// spreadsheet has them, and the same rows as values for COPY.
func generatedList(n int) ([]byte, [][]any) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"メールアドレス", "姓", "名", "会社名", "部署", "役職", "従業員数", "電話番号", "業種"})
	rows := make([][]any, 0, n)
	for i := range n {
		email := fmt.Sprintf("lead%06d@example%d.co.jp", i, i%97)
		last, first := lastNames[i%len(lastNames)], firstNames[(i/7)%len(firstNames)]
		company, dept, title := companies[i%len(companies)], departments[(i/3)%len(departments)], titles[i%len(titles)]
		employees := 10 + (i*37)%5000
		phone := fmt.Sprintf("03-%04d-%04d", i%10000, (i*7)%10000)
		_ = w.Write([]string{email, last, first, company, dept, title, strconv.Itoa(employees) + "名", phone, "製造業"})
		rows = append(rows, []any{email, first, last, company, dept, title, phone, int32(employees), "製造業"})
	}
	w.Flush()
	return buf.Bytes(), rows
}

// BenchmarkImport imports 100k generated rows through the same path as
// `nurture import` (CSV parsing, validation, batched upserts with events) and, as the
// baseline on the same machine in the same run, COPYs the same rows into a table just
// like leads (same columns, defaults and indexes) with nothing else done.
//
//	go test -run '^$' -bench Import -benchtime 1x ./cmd/nurture/
func BenchmarkImport(b *testing.B) {
	ctx := context.Background()
	data, rows := generatedList(benchRows)
	for b.Loop() {
		copyRate := rawCOPY(b, ctx, rows)

		pool := dbtest.New(b)
		importRate := importOnce(b, ctx, pool, data, benchRows)
		reimportRate := importOnce(b, ctx, pool, data, 0)

		b.ReportMetric(copyRate, "copy_rows/s")
		b.ReportMetric(importRate, "import_rows/s")
		b.ReportMetric(reimportRate, "reimport_rows/s")
		b.ReportMetric(100*importRate/copyRate, "import_%_of_copy")
	}
}

func rawCOPY(b *testing.B, ctx context.Context, rows [][]any) float64 {
	pool := dbtest.New(b)
	if _, err := pool.Exec(ctx, "CREATE TABLE leads_copy (LIKE leads INCLUDING ALL)"); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	n, err := pool.CopyFrom(ctx, pgx.Identifier{"leads_copy"},
		[]string{"email", "first_name", "last_name", "company", "department", "title", "phone", "employees", "industry"},
		pgx.CopyFromRows(rows))
	if err != nil || n != int64(len(rows)) {
		b.Fatalf("copy: %d rows, %v", n, err)
	}
	return float64(len(rows)) / time.Since(start).Seconds()
}

func importOnce(b *testing.B, ctx context.Context, pool *pgxpool.Pool, data []byte, wantCreated int) float64 {
	start := time.Now()
	r, err := leadcsv.NewReader(bytes.NewReader(data), leadcsv.Auto)
	if err != nil {
		b.Fatal(err)
	}
	imp := &importer{stderr: io.Discard}
	err = imp.run(ctx, r, func(batch []lead.Input) ([]lead.Outcome, error) {
		return lead.Upsert(ctx, pool, "import", batch)
	})
	elapsed := time.Since(start)
	if err != nil || len(imp.rejected) > 0 || imp.created != wantCreated || imp.rows != benchRows {
		b.Fatalf("import: %v, %d rejected, %d created, %d rows", err, len(imp.rejected), imp.created, imp.rows)
	}
	return float64(benchRows) / elapsed.Seconds()
}
