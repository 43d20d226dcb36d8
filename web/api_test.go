package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/japanese"

	"github.com/nurture-dev/nurture/engine/apikey"
	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/web"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const testKey = "test-key-0123456789abcdef"

type testBundle struct {
	ctx  context.Context
	pool *pgxpool.Pool
	srv  *httptest.Server
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	return setupWith(t, web.Config{BodyLimit: "4K"})
}

// setupWith is setup with a server configured by cfg.
func setupWith(t testing.TB, cfg web.Config) *testBundle {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.New(t)
	require.NoError(t, apikey.Ensure(ctx, pool, apikey.BootstrapName, testKey))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	client, err := queue.New(pool, queue.NewWorkers(), queue.Config{Role: queue.RoleWeb, Logger: quiet})
	require.NoError(t, err)
	s := web.New(cfg, web.Deps{Pool: pool, Queue: client, Logger: quiet})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &testBundle{ctx: ctx, pool: pool, srv: srv}
}

type response struct {
	Status int
	Header http.Header
	Body   map[string]any
}

func (b *testBundle) do(t *testing.T, method, path, key, contentType, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	out := response{Status: res.StatusCode, Header: res.Header}
	require.NoError(t, json.Unmarshal(raw, &out.Body), "every answer is JSON: %s", raw)
	return out
}

func (b *testBundle) post(t *testing.T, path, body string) response {
	t.Helper()
	return b.do(t, http.MethodPost, path, testKey, "application/json", body)
}

func (b *testBundle) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(b.ctx, "SELECT count(*) FROM "+table).Scan(&n))
	return n
}

func TestLeadAPI(t *testing.T) {
	t.Parallel()

	t.Run("CreatesUpdatesAndShowsALead", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		res := b.post(t, "/api/v1/leads", `{"email":"taro@example.co.jp","last_name":"山田","first_name":"太郎","company":"株式会社サンプル","title":"部長","employees":1200,"attributes":{"予算":"未定"}}`)
		require.Equal(t, http.StatusCreated, res.Status, res.Body)
		id := int64(res.Body["id"].(float64))
		require.Equal(t, "/api/v1/leads/"+strconv.FormatInt(id, 10), res.Header.Get("Location"))
		require.Equal(t, "山田", res.Body["last_name"])

		res = b.post(t, "/api/v1/leads", `{"email":"TARO@example.co.jp","title":"本部長"}`)
		require.Equal(t, http.StatusOK, res.Status, res.Body)
		require.Equal(t, float64(id), res.Body["id"])
		require.Equal(t, "本部長", res.Body["title"])
		require.Equal(t, "株式会社サンプル", res.Body["company"])

		res = b.do(t, http.MethodGet, "/api/v1/leads/"+strconv.FormatInt(id, 10), testKey, "", "")
		require.Equal(t, http.StatusOK, res.Status)
		timeline := res.Body["timeline"].([]any)
		require.Len(t, timeline, 2)
		require.Equal(t, "lead_updated", timeline[0].(map[string]any)["type"])
		require.Equal(t, "lead_created", timeline[1].(map[string]any)["type"])
		require.Equal(t, map[string]any{"予算": "未定"}, res.Body["attributes"])
	})

	t.Run("RecordsEventsCreatingTheLead", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		res := b.post(t, "/api/v1/events", `{"email":"hanako@example.com","type":"form_submitted","form":"whitepaper","lead":{"company":"ACME","last_name":"佐藤"}}`)
		require.Equal(t, http.StatusCreated, res.Status, res.Body)
		require.Equal(t, true, res.Body["lead_created"])
		ev := res.Body["event"].(map[string]any)
		require.Equal(t, "form_submitted", ev["type"])
		require.Equal(t, "whitepaper", ev["properties"].(map[string]any)["form"])

		res = b.post(t, "/api/v1/events", `{"email":"Hanako@example.com","type":"page_visited","url":"https://example.com/pricing","occurred_at":"2026-04-01T09:30:00+09:00"}`)
		require.Equal(t, http.StatusCreated, res.Status, res.Body)
		require.Equal(t, false, res.Body["lead_created"])

		res = b.post(t, "/api/v1/events", `{"email":"hanako@example.com","type":"webinar.attended","props":{"title":"DX入門"}}`)
		require.Equal(t, http.StatusCreated, res.Status, res.Body)
		require.Equal(t, 1, b.count(t, "leads"))
		require.Equal(t, 4, b.count(t, "events"))
	})

	t.Run("RejectsBadRequestsAndWritesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		huge := `{"email":"a@example.com","company":"` + strings.Repeat("x", 5000) + `"}`
		sjis, err := japanese.ShiftJIS.NewEncoder().String(`{"email":"a@example.com","company":"株式会社サンプル"}`)
		require.NoError(t, err)
		tests := []struct {
			name, method, path, key, contentType, body string
			status                                     int
			field, message                             string
		}{
			{"NoKey", "POST", "/api/v1/leads", "", "application/json", `{"email":"a@example.com"}`, 401, "", "missing API key"},
			{"WrongKey", "POST", "/api/v1/leads", "wrong-key-0123456789", "application/json", `{"email":"a@example.com"}`, 401, "", "invalid API key"},
			{"WrongKeyOnRead", "GET", "/api/v1/leads/1", "nope", "", "", 401, "", "invalid API key"},
			{"NotJSON", "POST", "/api/v1/leads", testKey, "text/plain", `{"email":"a@example.com"}`, 415, "", "Content-Type: application/json"},
			{"Malformed", "POST", "/api/v1/leads", testKey, "application/json", `{"email": "a@example.com",}`, 400, "", "malformed JSON at byte"},
			{"Truncated", "POST", "/api/v1/leads", testKey, "application/json", `{"email": "a@exa`, 400, "", "malformed JSON"},
			{"Empty", "POST", "/api/v1/leads", testKey, "application/json", ``, 400, "", "request body is empty"},
			{"Array", "POST", "/api/v1/leads", testKey, "application/json", `[{"email":"a@example.com"}]`, 400, "", "must be a JSON object"},
			{"TrailingData", "POST", "/api/v1/leads", testKey, "application/json", `{"email":"a@example.com"} {}`, 400, "", "unexpected data"},
			{"UnknownField", "POST", "/api/v1/leads", testKey, "application/json", `{"email":"a@example.com","compnay":"typo"}`, 400, "compnay", `unknown field "compnay"`},
			{"WrongType", "POST", "/api/v1/leads", testKey, "application/json", `{"email":"a@example.com","employees":"many"}`, 400, "employees", "employees: must be a number"},
			{"InvalidEmail", "POST", "/api/v1/leads", testKey, "application/json", `{"email":"not-an-email"}`, 422, "email", "not an email address"},
			{"MissingEmail", "POST", "/api/v1/leads", testKey, "application/json", `{"company":"ACME"}`, 422, "email", "email: is required"},
			{"BadTimezone", "POST", "/api/v1/leads", testKey, "application/json", `{"email":"a@example.com","timezone":"Tokyo"}`, 422, "timezone", "IANA"},
			{"TooLarge", "POST", "/api/v1/leads", testKey, "application/json", huge, 413, "", "too large"},
			{"UnknownLead", "GET", "/api/v1/leads/999999", testKey, "", "", 404, "", "lead not found"},
			{"NonNumericLead", "GET", "/api/v1/leads/abc", testKey, "", "", 404, "", "lead not found"},
			{"EventWithoutType", "POST", "/api/v1/events", testKey, "application/json", `{"email":"a@example.com"}`, 422, "type", "type: is required"},
			{"EventSystemType", "POST", "/api/v1/events", testKey, "application/json", `{"email":"a@example.com","type":"email_clicked"}`, 422, "type", "recorded by nurture itself"},
			{"FormWithoutForm", "POST", "/api/v1/events", testKey, "application/json", `{"email":"a@example.com","type":"form_submitted"}`, 422, "form", "required"},
			{"PageWithBadURL", "POST", "/api/v1/events", testKey, "application/json", `{"email":"a@example.com","type":"page_visited","url":"javascript:alert(1)"}`, 422, "url", "not an http or https URL"},
			{"EventBadEmail", "POST", "/api/v1/events", testKey, "application/json", `{"email":"a@","type":"x"}`, 422, "email", "not an email address"},
			{"EventBadTime", "POST", "/api/v1/events", testKey, "application/json", `{"email":"a@example.com","type":"x","occurred_at":"yesterday"}`, 422, "occurred_at", "RFC 3339"},
			{"EventUnknownField", "POST", "/api/v1/events", testKey, "application/json", `{"email":"a@example.com","type":"x","properties":{}}`, 400, "properties", "unknown field"},
			{"EventLeadUnknownField", "POST", "/api/v1/events", testKey, "application/json", `{"email":"a@example.com","type":"x","lead":{"nmae":"x"}}`, 400, "lead.nmae", "unknown field"},
			{"NoRoute", "GET", "/api/v1/nothing", testKey, "", "", 404, "", "not found"},
			{"NULInAttribute", "POST", "/api/v1/leads", testKey, "application/json", `{"email":"a@example.com","attributes":{"note":"a\u0000b"}}`, 422, "attributes.note", "NUL"},
			{"NULInNestedAttribute", "POST", "/api/v1/leads", testKey, "application/json", `{"email":"a@example.com","attributes":{"deep":[{"k\u0000":1}]}}`, 422, "attributes.deep", "NUL"},
			{"NULInEventProperty", "POST", "/api/v1/events", testKey, "application/json", `{"email":"a@example.com","type":"x","props":{"title":"\u0000"}}`, 422, "props.title", "NUL"},
			{"NULInEventLead", "POST", "/api/v1/events", testKey, "application/json", `{"email":"a@example.com","type":"x","lead":{"attributes":{"note":"\u0000"}}}`, 422, "attributes.note", "NUL"},
			{"RawInvalidUTF8", "POST", "/api/v1/leads", testKey, "application/json", "{\"email\":\"a@example.com\",\"company\":\"AC\xffME\"}", 400, "", "not UTF-8 at byte 38"},
			{"ShiftJISBody", "POST", "/api/v1/leads", testKey, "application/json", sjis, 400, "", "not UTF-8"},
			{"ShiftJISCharset", "POST", "/api/v1/leads", testKey, "application/json; charset=Shift_JIS", `{"email":"a@example.com"}`, 415, "", "UTF-8"},
			{"EmailAddressLiteral", "POST", "/api/v1/leads", testKey, "application/json", `{"email":"user@[127.0.0.1]"}`, 422, "email", "no valid domain"},
			{"EmailPercentRoute", "POST", "/api/v1/leads", testKey, "application/json", `{"email":"victim%evil.example@example.com"}`, 422, "email", "routed"},
			{"EmailBangRoute", "POST", "/api/v1/events", testKey, "application/json", `{"email":"evil!victim@example.com","type":"x"}`, 422, "email", "routed"},
		}
		for _, tt := range tests {
			res := b.do(t, tt.method, tt.path, tt.key, tt.contentType, tt.body)
			require.Equal(t, tt.status, res.Status, "%s: %v", tt.name, res.Body)
			require.Contains(t, res.Body["error"], tt.message, tt.name)
			if tt.field != "" {
				require.Equal(t, tt.field, res.Body["field"], tt.name)
			}
			if tt.status == 401 {
				require.Equal(t, `Bearer realm="nurture"`, res.Header.Get("WWW-Authenticate"), tt.name)
			}
		}
		require.Zero(t, b.count(t, "leads"), "no bad request wrote a lead")
		require.Zero(t, b.count(t, "events"), "no bad request wrote an event")
	})
}

func TestAttributeLimits(t *testing.T) {
	t.Parallel()
	b := setupWith(t, web.Config{BodyLimit: "16K"})
	// Every request is small; the lead they build up would not be.
	var res response
	for i := range 30 {
		res = b.post(t, "/api/v1/leads", fmt.Sprintf(`{"email":"big@example.com","attributes":{"a%02d":%q}}`, i, strings.Repeat("x", 4000)))
		if res.Status != http.StatusCreated && res.Status != http.StatusOK {
			break
		}
	}
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, res.Body)
	require.Equal(t, "attributes", res.Body["field"])
	require.Contains(t, res.Body["error"], "a lead has at most 65536")
	var size int
	require.NoError(t, b.pool.QueryRow(b.ctx, "SELECT octet_length(attributes::text) FROM leads").Scan(&size))
	require.Less(t, size, 70_000, "the lead stayed within the limit")

	res = b.post(t, "/api/v1/leads", `{"email":"many@example.com","attributes":{`+manyKeys(101)+`}}`)
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, res.Body)
	require.Equal(t, "attributes", res.Body["field"])

	res = b.post(t, "/api/v1/leads", `{"email":"memo@example.com","attributes":{"memo":"`+strings.Repeat("あ", 1400)+`"}}`)
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, res.Body)
	require.Equal(t, "attributes.memo", res.Body["field"])
	require.Contains(t, res.Body["error"], "more than the 4096")
	require.Equal(t, 1, b.count(t, "leads"), "only the lead built up to the limit")
}

func manyKeys(n int) string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf(`"k%03d":1`, i)
	}
	return strings.Join(keys, ",")
}

func TestAuthFailureLimit(t *testing.T) {
	t.Parallel()
	var now atomic.Pointer[time.Time]
	start := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	now.Store(&start)
	b := setupWith(t, web.Config{BodyLimit: "4K", Now: func() time.Time { return *now.Load() }})
	get := func(key string) response { return b.do(t, http.MethodGet, "/api/v1/leads/1", key, "", "") }

	for range 30 {
		require.Equal(t, http.StatusNotFound, get(testKey).Status, "a right key is never held back by itself")
		require.Equal(t, http.StatusUnauthorized, get("").Status, "nor is a missing key a guess")
	}
	for i := range 10 {
		require.Equal(t, http.StatusUnauthorized, get(fmt.Sprintf("wrong-key-%016d", i)).Status, "guess %d", i)
	}
	res := get("wrong-key-0123456789")
	require.Equal(t, http.StatusTooManyRequests, res.Status, res.Body)
	require.Equal(t, "6", res.Header.Get("Retry-After"))
	require.Contains(t, res.Body["error"], "too many wrong API keys")
	require.Equal(t, http.StatusTooManyRequests, get(testKey).Status, "while held back, no key is looked at")
	res = b.do(t, http.MethodGet, "/healthz", "wrong-key-0123456789", "", "")
	require.Equal(t, http.StatusTooManyRequests, res.Status, "healthz is no way around the limit")

	later := start.Add(6 * time.Second)
	now.Store(&later)
	require.Equal(t, http.StatusNotFound, get(testKey).Status, "one more try was earned")
	require.Equal(t, http.StatusUnauthorized, get("wrong-key-0123456789").Status)
	require.Equal(t, http.StatusTooManyRequests, get("wrong-key-0123456789").Status)
}
