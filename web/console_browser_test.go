package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/sales"
	"github.com/nurture-dev/nurture/web"
)

// chromium starts a headless Chromium for a test. A machine without one fails the
// test rather than skipping it: CI installs it (see .ci/run).
func chromium(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if path, err = exec.LookPath("chromium-browser"); err != nil {
			t.Fatal("the console's browser tests need Chromium: install it with " +
				"`apt-get install -y chromium fonts-ipafont-gothic` (Debian), as .ci/run does")
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
	})
	return ctx
}

// screenshotDir is where the browser test leaves its screenshots: the folder in
// NURTURE_SCREENSHOT_DIR, to look at them, else the test's temporary folder.
func screenshotDir(t *testing.T) string {
	if dir := os.Getenv("NURTURE_SCREENSHOT_DIR"); dir != "" {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		return dir
	}
	return t.TempDir()
}

func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	b := setupConsole(t, web.Config{})
	b.addUser(t, "admin@example.co.jp", sales.RoleAdmin)
	id := b.addLead(t, lead.Input{Email: "taro@example.co.jp", LastName: ptr("山田"), FirstName: ptr("太郎"),
		Company: ptr(`株式会社サンプル<img src=x onerror="document.title='pwned'">`), Title: ptr("情報システム部長"),
		Tags: []string{"展示会2026"}})
	b.addLead(t, lead.Input{Email: "hanako@example.co.jp", LastName: ptr("佐藤"), FirstName: ptr("花子"), Company: ptr("日本商事株式会社")})
	require.NoError(t, pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error {
		return lead.AppendEvents(b.ctx, tx, []lead.Observed{
			{LeadID: id, Type: "email_opened", Properties: map[string]any{"message_id": 1, "verdict": "machine",
				"reasons": []string{"メールセキュリティの事前スキャン"}, "user_agent": `<script>document.title='pwned'</script>`}},
			{LeadID: id, Type: "email_clicked", Properties: map[string]any{"message_id": 1, "verdict": "human",
				"reasons": []string{}, "url": "https://example.co.jp/seminar"}},
		})
	}))
	ctx := chromium(t)
	dir := screenshotDir(t)
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name), png, 0o644)
		})
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err)
		return s
	}

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), "admin@example.co.jp"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), consolePassword),
		chromedp.Submit(chromedp.CSS(`input[name="password"]`)),
		chromedp.WaitVisible(chromedp.CSS(`svg.chart`)),
		shot("dashboard.png"),
	))
	dashboard := text("main")
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart rect").length`))
	require.NoError(t, err)

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+"/admin/leads?sort=score"),
		chromedp.WaitVisible(chromedp.CSS(`table.leads`)),
		shot("leads.png"),
	))
	leads := text("table.leads")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(b.srv.URL+"/admin/leads/"+strconv.FormatInt(id, 10)),
		chromedp.WaitVisible(chromedp.CSS(`ol.timeline`)),
		shot("lead.png"),
	))
	detail := text("main")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`select[name="stage"]`), "mql"),
		chromedp.Submit(chromedp.CSS(`form.stage-form button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
	))
	after := text("main")
	title, err := chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)

	require.Contains(t, dashboard, "ファネル（過去 90 日間）")
	require.Contains(t, dashboard, "問い合わせ → MQL")
	require.Equal(t, 5, bars)
	require.Contains(t, leads, "山田 太郎")
	require.Contains(t, leads, "佐藤 花子")
	require.Contains(t, leads, "展示会2026")
	require.Contains(t, detail, "情報システム部長")
	require.Contains(t, detail, `<img src=x onerror="document.title='pwned'">`, "the markup shows as text")
	require.Contains(t, detail, "メール開封")
	require.Contains(t, detail, "機械")
	require.Contains(t, detail, "メールセキュリティの事前スキャン")
	require.Contains(t, after, "ステージを変更しました。")
	require.Contains(t, after, "現在：MQL")
	require.True(t, strings.HasSuffix(title, "| nurture 管理画面"), title)
	require.Equal(t, "mql", b.stage(t, id))
	t.Logf("screenshots in %s", dir)
}
