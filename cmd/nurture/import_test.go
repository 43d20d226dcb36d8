package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/japanese"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/lead"
)

// A list as a Japanese marketer gets it from a trade show: Shift_JIS, Japanese
// headers, a full name column, and a few rows that cannot be right.
const expoList = `氏名,メールアドレス,会社名,部署,役職,従業員数,電話番号,備考
山田 太郎,yamada@example.co.jp,株式会社サンプル,情報システム部,部長,"1,200名",03-1234-5678,展示会で名刺交換
佐藤 花子,sato@example.com,サンプル商事,営業部,課長,500人,,
鈴木 一郎,not-an-email,テスト工業,,,,,
田中 次郎,tanaka@example.jp,テスト工業,開発部,主任,たくさん,,
,,,,,,,
高橋 三郎,takahashi@example.jp,高橋製作所,総務部,,100～499,,"=HYPERLINK(""http://evil"")"
伊藤 四郎,ito@example.jp,伊藤商店,,,,,extra,cell
渡辺 五郎,YAMADA@example.co.jp,,,,,,
`

func TestImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("KeepsGoodRowsReportsBadOnesAndIsIdempotent", func(t *testing.T) {
		t.Parallel()
		url := dbtest.NewURL(t)
		vars := map[string]string{"NURTURE_DATABASE_URL": url}
		dir := t.TempDir()
		sjis, err := japanese.ShiftJIS.NewEncoder().String(expoList)
		require.NoError(t, err)
		file := filepath.Join(dir, "expo.csv")
		require.NoError(t, os.WriteFile(file, []byte(sjis), 0o644))
		report := filepath.Join(dir, "rejected.csv")

		stdout, stderr, err := runCommand(t, vars, "import", "--report", report, "--tag", "展示会2026", file)
		require.ErrorIs(t, err, errRejected)
		require.Equal(t, 1, exitCode(os.Stderr, err))
		require.Contains(t, stderr, "shift_jis")
		require.Contains(t, stderr, "氏名 → name")
		require.Contains(t, stdout, "3 created, 0 updated, 0 unchanged, 1 duplicate rows merged, 3 rejected", stdout)
		require.Contains(t, stdout, "line 4: email:")
		require.Contains(t, stdout, "line 5: employees:")
		require.Contains(t, stdout, "line 8:")

		pool, err := pgxpool.New(ctx, url)
		require.NoError(t, err)
		defer pool.Close()
		var last, first, company, title string
		var employees int
		var tags []string
		var attrs map[string]any
		require.NoError(t, pool.QueryRow(ctx, `SELECT last_name, first_name, company, title, employees, tags, attributes
			FROM leads WHERE email = 'yamada@example.co.jp'`).Scan(&last, &first, &company, &title, &employees, &tags, &attrs))
		require.Equal(t, "渡辺", last, "a later row of the same address wins")
		require.Equal(t, "五郎", first)
		require.Equal(t, "株式会社サンプル", company, "an empty cell never blanks a field")
		require.Equal(t, "部長", title)
		require.Equal(t, 1200, employees)
		require.Equal(t, []string{"展示会2026"}, tags)
		require.Equal(t, map[string]any{"備考": "展示会で名刺交換"}, attrs)
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM leads`).Scan(&n))
		require.Equal(t, 3, n)
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE type = 'lead_created' AND properties->>'via' = 'import'`).Scan(&n))
		require.Equal(t, 3, n)

		f, err := os.Open(report)
		require.NoError(t, err)
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		require.NoError(t, err)
		require.Equal(t, "\uFEFFline", rows[0][0], "the report opens in Excel as UTF-8")
		require.Len(t, rows, 4)
		require.Equal(t, []string{"4", "5", "8"}, []string{rows[1][0], rows[2][0], rows[3][0]})

		stdout, _, err = runCommand(t, vars, "import", file)
		require.ErrorIs(t, err, errRejected)
		require.Contains(t, stdout, "0 created, 0 updated, 3 unchanged, 1 duplicate rows merged, 3 rejected", "a second import changes nothing")
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n))
		require.Equal(t, 3, n, "and records no event")
	})

	t.Run("RejectsRowsOverTheLimitsByLineAndKeepsTheOthers", func(t *testing.T) {
		t.Parallel()
		url := dbtest.NewURL(t)
		pool, err := pgxpool.New(ctx, url)
		require.NoError(t, err)
		defer pool.Close()
		// A lead whose attributes are nearly as large as a lead's may be.
		full := make(map[string]any)
		for i := range 16 {
			full[fmt.Sprintf("a%02d", i)] = strings.Repeat("x", 4000)
		}
		_, err = lead.Upsert(ctx, pool, "test", []lead.Input{{Email: "full@example.com", Attributes: full}})
		require.NoError(t, err)

		file := filepath.Join(t.TempDir(), "leads.csv")
		content := "email,company,note\n" +
			"good@example.com,ACME,hello\n" +
			"user@[127.0.0.1],Literal,x\n" +
			"full@example.com,Full Inc," + strings.Repeat("あ", 1000) + "\n" +
			"other%relay@example.com,Routed,\n" +
			"later@example.com,Later,bye\n"
		require.NoError(t, os.WriteFile(file, []byte(content), 0o644))
		stdout, _, err := runCommand(t, map[string]string{"NURTURE_DATABASE_URL": url}, "import", file)
		require.ErrorIs(t, err, errRejected)
		require.Contains(t, stdout, "2 created, 0 updated, 0 unchanged, 0 duplicate rows merged, 3 rejected")
		require.Regexp(t, `line 3: email: .*\n.*line 4: attributes: "full@example.com" would make the lead's attributes \d+ bytes together; a lead has at most 65536\n.*line 5: email:`, stdout)

		rows, err := pool.Query(ctx, `SELECT company FROM leads ORDER BY email`)
		require.NoError(t, err)
		companies, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.Equal(t, []string{"", "ACME", "Later"}, companies, "the full lead's row was refused whole")
	})

	t.Run("ReportDefusesFormulas", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "'=HYPERLINK(1)", safeCell("=HYPERLINK(1)"))
		require.Equal(t, "'+1", safeCell("+1"))
		require.Equal(t, "'@SUM(A1)", safeCell("@SUM(A1)"))
		require.Equal(t, "山田", safeCell("山田"))
	})

	t.Run("DryRunWritesNothing", func(t *testing.T) {
		t.Parallel()
		url := dbtest.NewURL(t)
		file := filepath.Join(t.TempDir(), "leads.csv")
		require.NoError(t, os.WriteFile(file, []byte("email,company\na@example.com,ACME\n"), 0o644))
		stdout, _, err := runCommand(t, map[string]string{"NURTURE_DATABASE_URL": url}, "import", "--dry-run", file)
		require.NoError(t, err)
		require.Contains(t, stdout, "1 good, 0 rejected")
		pool, err := pgxpool.New(ctx, url)
		require.NoError(t, err)
		defer pool.Close()
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM leads`).Scan(&n))
		require.Zero(t, n)
	})

	t.Run("RefusesAFileWithoutAnEmailColumn", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "leads.csv")
		require.NoError(t, os.WriteFile(file, []byte("会社名,氏名\nACME,山田\n"), 0o644))
		_, _, err := runCommand(t, nil, "import", "--dry-run", file)
		require.ErrorContains(t, err, "email")
		require.True(t, strings.Contains(err.Error(), "メールアドレス"), err.Error())
	})
}
