package web_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/sales"
	"github.com/nurture-dev/nurture/web"
)

const consolePassword = "correct horse battery"

type consoleBundle struct {
	ctx  context.Context
	pool *pgxpool.Pool
	srv  *httptest.Server
}

func setupConsole(t testing.TB, cfg web.Config) *consoleBundle {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.New(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	client, err := queue.New(pool, queue.NewWorkers(), queue.Config{Role: queue.RoleWeb, Logger: quiet})
	require.NoError(t, err)
	srv := httptest.NewServer(web.New(cfg, web.Deps{Pool: pool, Queue: client, Logger: quiet}).Handler())
	t.Cleanup(srv.Close)
	return &consoleBundle{ctx: ctx, pool: pool, srv: srv}
}

func (b *consoleBundle) addUser(t testing.TB, email, role string) *sales.User {
	t.Helper()
	u, err := sales.AddUser(b.ctx, b.pool, sales.NewUser{Email: email, Name: "担当 " + role, Role: role, Password: consolePassword})
	require.NoError(t, err)
	return u
}

func (b *consoleBundle) addLead(t testing.TB, in lead.Input) int64 {
	t.Helper()
	out, err := lead.Upsert(b.ctx, b.pool, "test", []lead.Input{in})
	require.NoError(t, err)
	return out[0].ID
}

// browser is one person's browser: its own cookies, redirects not followed so that
// each answer can be looked at.
type browser struct {
	b      *consoleBundle
	client *http.Client
	// origin, when set, is sent as the Origin of every POST.
	origin string
}

func (b *consoleBundle) browser(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{b: b, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	Status int
	Header http.Header
	Body   string
}

func (br *browser) do(t testing.TB, req *http.Request) page {
	t.Helper()
	res, err := br.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return page{Status: res.StatusCode, Header: res.Header, Body: string(body)}
}

func (br *browser) get(t testing.TB, path string) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, br.b.srv.URL+path, nil)
	require.NoError(t, err)
	return br.do(t, req)
}

func (br *browser) post(t testing.TB, path string, form url.Values) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, br.b.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if br.origin != "" {
		req.Header.Set("Origin", br.origin)
	}
	return br.do(t, req)
}

var csrfPattern = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// token is the form token of a page.
func token(t testing.TB, p page) string {
	t.Helper()
	m := csrfPattern.FindStringSubmatch(p.Body)
	require.NotNil(t, m, "the page has a form token: %s", p.Body)
	return m[1]
}

func (br *browser) login(t testing.TB, email, password string) page {
	t.Helper()
	p := br.get(t, "/admin/login")
	require.Equal(t, http.StatusOK, p.Status)
	return br.post(t, "/admin/login", url.Values{"email": {email}, "password": {password}, "csrf_token": {token(t, p)}})
}

// signedIn is a browser of a user who has logged in.
func (b *consoleBundle) signedIn(t testing.TB, email string) *browser {
	t.Helper()
	br := b.browser(t)
	p := br.login(t, email, consolePassword)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	return br
}

// formToken is the form token of a console page the browser opens.
func (br *browser) formToken(t testing.TB, path string) string {
	t.Helper()
	p := br.get(t, path)
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	return token(t, p)
}

func (b *consoleBundle) stage(t testing.TB, id int64) string {
	t.Helper()
	var s string
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT stage FROM leads WHERE id = $1`, id).Scan(&s))
	return s
}

func TestConsoleAccess(t *testing.T) {
	t.Parallel()

	t.Run("LogsInAndOut", func(t *testing.T) {
		t.Parallel()
		b := setupConsole(t, web.Config{})
		b.addUser(t, "admin@example.co.jp", sales.RoleAdmin)
		br := b.browser(t)

		p := br.get(t, "/admin/leads?stage=mql")
		require.Equal(t, http.StatusSeeOther, p.Status)
		require.Equal(t, "/admin/login?next="+url.QueryEscape("/admin/leads?stage=mql"), p.Header.Get("Location"))

		p = br.get(t, "/admin/login?next="+url.QueryEscape("/admin/leads?stage=mql"))
		require.Contains(t, p.Body, `<html lang="ja">`)
		require.Contains(t, p.Body, "ログイン")
		p = br.post(t, "/admin/login", url.Values{"email": {"ADMIN@example.co.jp"}, "password": {consolePassword},
			"csrf_token": {token(t, p)}, "next": {"/admin/leads?stage=mql"}})
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		require.Equal(t, "/admin/leads?stage=mql", p.Header.Get("Location"))
		cookie := sessionCookie(t, p)
		require.True(t, cookie.HttpOnly)
		require.Equal(t, http.SameSiteLaxMode, cookie.SameSite)
		require.Equal(t, "/admin", cookie.Path)
		require.False(t, cookie.Secure, "plain http: a Secure cookie would never come back")

		// Only the cookie's hash is stored.
		var stored int
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT count(*) FROM sessions WHERE id_hash = sha256(convert_to($1, 'UTF8'))`, cookie.Value).Scan(&stored))
		require.Equal(t, 1, stored)
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT count(*) FROM sessions WHERE encode(id_hash, 'escape') LIKE '%' || $1 || '%'`, cookie.Value).Scan(&stored))
		require.Zero(t, stored)

		p = br.get(t, "/admin/")
		require.Equal(t, http.StatusOK, p.Status)
		require.Contains(t, p.Body, "ダッシュボード")
		require.Equal(t, "no-store", p.Header.Get("Cache-Control"))
		require.Contains(t, p.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")

		p = br.post(t, "/admin/logout", url.Values{"csrf_token": {token(t, p)}})
		require.Equal(t, http.StatusSeeOther, p.Status)
		require.Equal(t, "/admin/login", p.Header.Get("Location"))
		require.Equal(t, 0, countRows(t, b, "sessions"))
		require.Equal(t, http.StatusSeeOther, br.get(t, "/admin/").Status)

		// An open redirect through next is not.
		p = br.get(t, "/admin/login")
		p = br.post(t, "/admin/login", url.Values{"email": {"admin@example.co.jp"}, "password": {consolePassword},
			"csrf_token": {token(t, p)}, "next": {"//evil.example/admin"}})
		require.Equal(t, "/admin/", p.Header.Get("Location"))
	})

	t.Run("SecureCookieBehindHTTPS", func(t *testing.T) {
		t.Parallel()
		b := setupConsole(t, web.Config{SecureCookies: true})
		b.addUser(t, "admin@example.co.jp", sales.RoleAdmin)
		p := b.browser(t).login(t, "admin@example.co.jp", consolePassword)
		require.Equal(t, http.StatusSeeOther, p.Status)
		require.True(t, sessionCookie(t, p).Secure)
	})

	t.Run("RefusesWrongPasswordsThenLimits", func(t *testing.T) {
		t.Parallel()
		b := setupConsole(t, web.Config{LoginFailureBurst: 3})
		b.addUser(t, "admin@example.co.jp", sales.RoleAdmin)
		br := b.browser(t)
		for range 3 {
			p := br.login(t, "admin@example.co.jp", "wrong password!!")
			require.Equal(t, http.StatusUnauthorized, p.Status)
			require.Contains(t, p.Body, "メールアドレスまたはパスワードが違います")
		}
		// The account is held back, whatever the password and from wherever.
		p := b.browser(t).login(t, "Admin@Example.co.jp", consolePassword)
		require.Equal(t, http.StatusTooManyRequests, p.Status)
		require.NotEmpty(t, p.Header.Get("Retry-After"))
		require.Equal(t, 0, countRows(t, b, "sessions"))

		// An unknown email and a user without a password answer alike.
		_, err := sales.AddUser(b.ctx, b.pool, sales.NewUser{Email: "rep@example.co.jp", Name: "営業", Role: sales.RoleSales})
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, b.browser(t).login(t, "rep@example.co.jp", "").Status)
		require.Equal(t, http.StatusUnauthorized, b.browser(t).login(t, "nobody@example.co.jp", consolePassword).Status)
	})

	t.Run("RefusesLoginWithoutItsToken", func(t *testing.T) {
		t.Parallel()
		b := setupConsole(t, web.Config{})
		b.addUser(t, "admin@example.co.jp", sales.RoleAdmin)
		p := b.browser(t).post(t, "/admin/login", url.Values{"email": {"admin@example.co.jp"}, "password": {consolePassword}})
		require.Equal(t, http.StatusForbidden, p.Status)
		require.Contains(t, p.Body, "別のサイトから送信されました")
		require.Equal(t, 0, countRows(t, b, "sessions"))
	})

	t.Run("RefusesPostsWithoutTheFormToken", func(t *testing.T) {
		t.Parallel()
		b := setupConsole(t, web.Config{})
		b.addUser(t, "marketer@example.co.jp", sales.RoleMarketer)
		id := b.addLead(t, lead.Input{Email: "taro@example.co.jp"})
		br := b.signedIn(t, "marketer@example.co.jp")
		path := "/admin/leads/" + strconv.FormatInt(id, 10) + "/stage"

		p := br.post(t, path, url.Values{"stage": {"mql"}})
		require.Equal(t, http.StatusForbidden, p.Status)
		p = br.post(t, path, url.Values{"stage": {"mql"}, "csrf_token": {"forged"}})
		require.Equal(t, http.StatusForbidden, p.Status)
		// The right token from a page of another site is refused too.
		tok := br.formToken(t, "/admin/leads/"+strconv.FormatInt(id, 10))
		br.origin = "https://evil.example"
		require.Equal(t, http.StatusForbidden, br.post(t, path, url.Values{"stage": {"mql"}, "csrf_token": {tok}}).Status)
		// Logged out, a POST is refused rather than sent to the login page.
		require.Equal(t, http.StatusForbidden, b.browser(t).post(t, path, url.Values{"stage": {"mql"}}).Status)
		require.Equal(t, "inquiry", b.stage(t, id))

		br.origin = b.srv.URL
		p = br.post(t, path, url.Values{"stage": {"mql"}, "csrf_token": {tok}})
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		require.Equal(t, "mql", b.stage(t, id))
	})

	t.Run("KeepsSalesOutOfAdminPages", func(t *testing.T) {
		t.Parallel()
		b := setupConsole(t, web.Config{})
		b.addUser(t, "admin@example.co.jp", sales.RoleAdmin)
		b.addUser(t, "rep@example.co.jp", sales.RoleSales)
		rep := b.signedIn(t, "rep@example.co.jp")
		p := rep.get(t, "/admin/users")
		require.Equal(t, http.StatusForbidden, p.Status)
		require.Contains(t, p.Body, "権限がありません")
		p = rep.get(t, "/admin/")
		require.Equal(t, http.StatusOK, p.Status)
		require.NotContains(t, p.Body, `href="/admin/users"`)

		p = b.signedIn(t, "admin@example.co.jp").get(t, "/admin/users")
		require.Equal(t, http.StatusOK, p.Status)
		require.Contains(t, p.Body, "rep@example.co.jp")
	})

	t.Run("DisabledUserLosesSession", func(t *testing.T) {
		t.Parallel()
		b := setupConsole(t, web.Config{})
		b.addUser(t, "rep@example.co.jp", sales.RoleSales)
		rep := b.signedIn(t, "rep@example.co.jp")
		require.NoError(t, pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error {
			_, _, err := sales.DisableUser(b.ctx, tx, "rep@example.co.jp")
			return err
		}))
		require.Equal(t, http.StatusSeeOther, rep.get(t, "/admin/").Status)
		require.Equal(t, http.StatusUnauthorized, b.browser(t).login(t, "rep@example.co.jp", consolePassword).Status)
	})

	t.Run("PasswordChangeEndsOtherSessions", func(t *testing.T) {
		t.Parallel()
		b := setupConsole(t, web.Config{})
		b.addUser(t, "admin@example.co.jp", sales.RoleAdmin)
		b.addUser(t, "other@example.co.jp", sales.RoleMarketer)
		here := b.signedIn(t, "admin@example.co.jp")
		there := b.signedIn(t, "admin@example.co.jp")
		other := b.signedIn(t, "other@example.co.jp")

		tok := here.formToken(t, "/admin/password")
		p := here.post(t, "/admin/password", url.Values{"csrf_token": {tok}, "current": {"not it at all"},
			"password": {"a new long password"}, "confirm": {"a new long password"}})
		require.Equal(t, http.StatusUnprocessableEntity, p.Status)
		require.Contains(t, p.Body, "現在のパスワードが違います")
		p = here.post(t, "/admin/password", url.Values{"csrf_token": {tok}, "current": {consolePassword},
			"password": {"short"}, "confirm": {"short"}})
		require.Equal(t, http.StatusUnprocessableEntity, p.Status)
		require.Equal(t, http.StatusOK, there.get(t, "/admin/").Status)

		p = here.post(t, "/admin/password", url.Values{"csrf_token": {tok}, "current": {consolePassword},
			"password": {"a new long password"}, "confirm": {"a new long password"}})
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		p = here.get(t, p.Header.Get("Location"))
		require.Equal(t, http.StatusOK, p.Status)
		require.Contains(t, p.Body, "ほかのセッション 1 件をログアウトしました")
		require.Equal(t, http.StatusSeeOther, there.get(t, "/admin/").Status, "the other session ended")
		require.Equal(t, http.StatusOK, other.get(t, "/admin/").Status, "another user's session stays")
		require.Equal(t, http.StatusUnauthorized, b.browser(t).login(t, "admin@example.co.jp", consolePassword).Status)
		require.Equal(t, http.StatusSeeOther, b.browser(t).login(t, "admin@example.co.jp", "a new long password").Status)
	})
}

func sessionCookie(t testing.TB, p page) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == "nurture_session" {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", p.Header)
	return nil
}

func countRows(t testing.TB, b *consoleBundle, table string) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(b.ctx, "SELECT count(*) FROM "+table).Scan(&n))
	return n
}

func ptr[T any](v T) *T { return &v }

func TestConsolePages(t *testing.T) {
	t.Parallel()

	t.Run("EscapesWhatCameFromOutside", func(t *testing.T) {
		t.Parallel()
		b := setupConsole(t, web.Config{})
		b.addUser(t, "admin@example.co.jp", sales.RoleAdmin)
		id := b.addLead(t, lead.Input{Email: "x@example.co.jp", LastName: ptr(`<script>alert("name")</script>`),
			Company: ptr(`<img src=x onerror=alert(1)>`), Tags: []string{`"><svg onload=alert(2)>`}})
		require.NoError(t, pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error {
			return lead.AppendEvents(b.ctx, tx, []lead.Observed{
				{LeadID: id, Type: "email_opened", Properties: map[string]any{"message_id": 1, "verdict": "machine",
					"reasons": []string{"known scanner"}, "user_agent": `<script>alert("ua")</script>`}},
				{LeadID: id, Type: "email_clicked", Properties: map[string]any{"message_id": 1, "verdict": "human",
					"reasons": []string{}, "url": `javascript:alert("url")`}},
			})
		}))
		br := b.signedIn(t, "admin@example.co.jp")
		for _, path := range []string{"/admin/leads", "/admin/leads/" + strconv.FormatInt(id, 10)} {
			p := br.get(t, path)
			require.Equal(t, http.StatusOK, p.Status)
			for _, bad := range []string{`<script>alert(`, `<img src=x`, `<svg onload`, `href="javascript:`} {
				require.NotContains(t, p.Body, bad, path)
			}
			require.Contains(t, p.Body, html.EscapeString(`<script>alert("name")</script>`), path)
		}
		p := br.get(t, "/admin/leads/"+strconv.FormatInt(id, 10))
		require.Contains(t, p.Body, html.EscapeString(`<script>alert("ua")</script>`))
		require.Contains(t, p.Body, `<span class="verdict machine">機械</span>`)
		require.Contains(t, p.Body, `<span class="verdict human">人</span>`)
		require.Contains(t, p.Body, "理由：known scanner")
	})

	t.Run("AllowListsSortAndFilters", func(t *testing.T) {
		t.Parallel()
		b := setupConsole(t, web.Config{})
		b.addUser(t, "admin@example.co.jp", sales.RoleAdmin)
		low := b.addLead(t, lead.Input{Email: "low@example.co.jp", LastName: ptr("低")})
		high := b.addLead(t, lead.Input{Email: "high@example.co.jp", LastName: ptr("高")})
		_, err := b.pool.Exec(b.ctx, `UPDATE leads SET score = 90, created_at = now() - interval '1 day' WHERE id = $1`, high)
		require.NoError(t, err)
		br := b.signedIn(t, "admin@example.co.jp")

		order := func(p page) []string {
			require.Equal(t, http.StatusOK, p.Status, p.Body)
			return regexp.MustCompile(`href="/admin/leads/(\d+)"`).FindAllString(p.Body, -1)
		}
		ref := func(id int64) string { return `href="/admin/leads/` + strconv.FormatInt(id, 10) + `"` }
		require.Equal(t, []string{ref(low), ref(high)}, order(br.get(t, "/admin/leads")))
		require.Equal(t, []string{ref(high), ref(low)}, order(br.get(t, "/admin/leads?sort=score")))
		// Not a sort: ignored, newest first as with none.
		require.Equal(t, []string{ref(low), ref(high)}, order(br.get(t, "/admin/leads?sort="+url.QueryEscape("score;DROP TABLE leads"))))
		require.Equal(t, []string{ref(low), ref(high)}, order(br.get(t, "/admin/leads?stage="+url.QueryEscape("x' OR '1'='1")+"&grade=%00")))
		require.Equal(t, 2, countRows(t, b, "leads"))
		// A cursor that is no cursor is a plain refusal.
		require.Equal(t, http.StatusBadRequest, br.get(t, "/admin/leads?after=%27%3B--").Status)
	})

	t.Run("SearchesAndPages", func(t *testing.T) {
		t.Parallel()
		b := setupConsole(t, web.Config{})
		rep := b.addUser(t, "rep@example.co.jp", sales.RoleSales)
		b.addUser(t, "admin@example.co.jp", sales.RoleAdmin)
		var in []lead.Input
		for i := range 55 {
			in = append(in, lead.Input{Email: fmt.Sprintf("lead%02d@example.co.jp", i), LastName: ptr("山田"),
				FirstName: ptr(fmt.Sprintf("太郎%02d", i)), Company: ptr("株式会社サンプル"), Tags: []string{"展示会"}})
		}
		in = append(in, lead.Input{Email: "hanako@example.co.jp", LastName: ptr("佐藤"), FirstName: ptr("花子"),
			Company: ptr("100%_商事")})
		_, err := lead.Upsert(b.ctx, b.pool, "test", in)
		require.NoError(t, err)
		br := b.signedIn(t, "admin@example.co.jp")

		p := br.get(t, "/admin/leads?q="+url.QueryEscape("佐藤 花子"))
		require.Contains(t, p.Body, "hanako@example.co.jp")
		require.NotContains(t, p.Body, "lead00@")
		// % and _ are letters in a search, not patterns.
		p = br.get(t, "/admin/leads?q="+url.QueryEscape("%_"))
		require.Contains(t, p.Body, "hanako@example.co.jp")
		require.NotContains(t, p.Body, "lead00@")
		p = br.get(t, "/admin/leads?q="+url.QueryEscape("ＸＹＺ"))
		require.Contains(t, p.Body, "該当するリードはありません")

		// Keyset pages: 50, then the other 5 of the 55 with the tag.
		p = br.get(t, "/admin/leads?tag="+url.QueryEscape("展示会")+"&q="+url.QueryEscape("山田"))
		require.Equal(t, 50, strings.Count(p.Body, "株式会社サンプル"))
		next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(p.Body)
		require.NotNil(t, next)
		p = br.get(t, html.UnescapeString(next[1]))
		require.Equal(t, http.StatusOK, p.Status)
		require.Equal(t, 5, strings.Count(p.Body, "株式会社サンプル"))
		require.NotContains(t, p.Body, `rel="next"`)
		require.Contains(t, p.Body, "最初のページ")

		// Owner filter.
		_, err = b.pool.Exec(b.ctx, `UPDATE leads SET owner_id = $1 WHERE email = 'hanako@example.co.jp'`, rep.ID)
		require.NoError(t, err)
		p = br.get(t, "/admin/leads?owner="+strconv.FormatInt(rep.ID, 10))
		require.Equal(t, 1, strings.Count(p.Body, `href="/admin/leads/`))
	})

	t.Run("MovesAStageAsTheUser", func(t *testing.T) {
		t.Parallel()
		b := setupConsole(t, web.Config{})
		rep := b.addUser(t, "rep@example.co.jp", sales.RoleSales)
		id := b.addLead(t, lead.Input{Email: "taro@example.co.jp", LastName: ptr("山田")})
		br := b.signedIn(t, "rep@example.co.jp")
		path := "/admin/leads/" + strconv.FormatInt(id, 10)
		tok := br.formToken(t, path)

		p := br.post(t, path+"/stage", url.Values{"csrf_token": {tok}, "stage": {"lost"}})
		require.Equal(t, http.StatusUnprocessableEntity, p.Status)
		require.Contains(t, p.Body, "理由を入力してください")
		p = br.post(t, path+"/stage", url.Values{"csrf_token": {tok}, "stage": {"won"}})
		require.Equal(t, http.StatusUnprocessableEntity, p.Status)
		require.Equal(t, "inquiry", b.stage(t, id))

		p = br.post(t, path+"/stage", url.Values{"csrf_token": {tok}, "stage": {"sgl"}})
		require.Equal(t, http.StatusSeeOther, p.Status)
		require.Equal(t, "sgl", b.stage(t, id))
		var by string
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT properties->>'by' FROM events WHERE lead_id = $1 AND type = 'stage_changed'`, id).Scan(&by))
		require.Equal(t, "user:"+strconv.FormatInt(rep.ID, 10), by)
		p = br.get(t, p.Header.Get("Location"))
		require.Contains(t, p.Body, "ステージを変更しました")
		require.Contains(t, p.Body, "ステージ変更")

		require.Equal(t, http.StatusNotFound, br.get(t, "/admin/leads/999999").Status)
		require.Equal(t, http.StatusNotFound, br.get(t, "/admin/leads/abc").Status)
	})

	t.Run("DashboardShowsFunnelAndHotLeadsWaiting", func(t *testing.T) {
		t.Parallel()
		b := setupConsole(t, web.Config{})
		rep := b.addUser(t, "rep@example.co.jp", sales.RoleSales)
		b.addUser(t, "admin@example.co.jp", sales.RoleAdmin)
		hot := b.addLead(t, lead.Input{Email: "hot@example.co.jp", Company: ptr("熱い商事")})
		b.addLead(t, lead.Input{Email: "cold@example.co.jp", Company: ptr("冷たい工業")})
		_, err := b.pool.Exec(b.ctx, `UPDATE leads SET grade = 'hot', score = 80, owner_id = $2 WHERE id = $1`, hot, rep.ID)
		require.NoError(t, err)
		_, err = b.pool.Exec(b.ctx, `INSERT INTO assignments (lead_id, user_id, how, reason) VALUES ($1, $2, 'round_robin', 'スコア到達')`, hot, rep.ID)
		require.NoError(t, err)
		require.NoError(t, pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error {
			_, err := lead.SetStage(b.ctx, tx, hot, lead.StageChange{To: "mql", Cause: "test"})
			return err
		}))

		p := b.signedIn(t, "admin@example.co.jp").get(t, "/admin/")
		require.Equal(t, http.StatusOK, p.Status)
		require.Contains(t, p.Body, "<svg")
		require.Contains(t, p.Body, "ファネル")
		require.Contains(t, p.Body, "熱い商事")
		require.NotContains(t, p.Body, "冷たい工業")
		require.Contains(t, p.Body, "問い合わせ → MQL")
		require.Contains(t, p.Body, "50.0%")
		require.Contains(t, p.Body, `<span class="n">1</span><span class="k">営業の受付待ち（ホット）</span>`)
	})

	t.Run("ServesItsStylesheet", func(t *testing.T) {
		t.Parallel()
		b := setupConsole(t, web.Config{})
		br := b.browser(t)
		p := br.get(t, "/admin/login")
		href := regexp.MustCompile(`href="(/admin/static/console\.[0-9a-f]+\.css)"`).FindStringSubmatch(p.Body)
		require.NotNil(t, href)
		css := br.get(t, href[1])
		require.Equal(t, http.StatusOK, css.Status)
		require.Contains(t, css.Header.Get("Cache-Control"), "immutable")
		require.Contains(t, css.Body, ".timeline")
		require.Equal(t, http.StatusNotFound, br.get(t, "/admin/static/console.css").Status)
	})
}
