package sales_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/mail/mailtest"
	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/sales"
	"github.com/nurture-dev/nurture/engine/track"
	"github.com/nurture-dev/nurture/web"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const (
	testSecret    = "sales-test-secret-0123456789abcdefghijkl"
	webhookSecret = "webhook-secret-0123456789"
)

type testBundle struct {
	ctx    context.Context
	pool   *pgxpool.Pool
	sink   *mailtest.Server
	sales  *sales.Sales
	client *queue.Client
	hooks  *receiver
	web    *httptest.Server
}

// receiver is the webhook's receiving end: it records what it got and answers
// with the status fail gives (200 when nil).
type receiver struct {
	mu    sync.Mutex
	got   [][]byte
	sigs  []string
	fail  atomic.Int32 // a status to answer, 0: 200
	hang  atomic.Bool
	tries atomic.Int32
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.tries.Add(1)
	b, _ := io.ReadAll(req.Body)
	if r.hang.Load() {
		<-req.Context().Done()
		return
	}
	if code := r.fail.Load(); code != 0 {
		w.WriteHeader(int(code))
		return
	}
	r.mu.Lock()
	r.got = append(r.got, b)
	r.sigs = append(r.sigs, req.Header.Get(sales.SignatureHeader))
	r.mu.Unlock()
}

func (r *receiver) received() ([][]byte, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.got...), append([]string(nil), r.sigs...)
}

type quickRetry struct{}

func (quickRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(50 * time.Millisecond)
}

func setup(t *testing.T, tune func(*sales.Config)) *testBundle {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pool := dbtest.New(t)
	sink := mailtest.NewServer(t)
	set, err := message.Load("../../templates")
	require.NoError(t, err)
	signer, err := track.NewSigner([]byte(testSecret))
	require.NoError(t, err)
	smtpCfg, err := mail.ParseSMTPURL(sink.URL())
	require.NoError(t, err)
	sender := mail.NewSMTPSender(smtpCfg)
	t.Cleanup(func() { _ = sender.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	mailer := mail.New(mail.Config{BaseURL: "http://nurture.test", From: "Marketing <marketing@example.com>",
		Templates: func() *message.Set { return set }, Signer: signer, Sender: sender, Logger: log,
		Cap: mail.FrequencyCap{PerDay: 1}})
	hooks := &receiver{}
	hookSrv := httptest.NewServer(hooks)
	t.Cleanup(hookSrv.Close)
	cfg := sales.Config{Pool: pool, Mailer: mailer, Secret: []byte(testSecret), BaseURL: "http://nurture.test",
		WebhookURL: hookSrv.URL, WebhookSecret: webhookSecret, WebhookBackoff: 20 * time.Millisecond,
		WebhookTimeout: 300 * time.Millisecond, WebhookAttempts: 3, SLA: time.Hour, RetryAfter: 100 * time.Millisecond, Logger: log}
	if tune != nil {
		tune(&cfg)
	}
	s, err := sales.New(cfg)
	require.NoError(t, err)
	workers := queue.NewWorkers()
	river.AddWorker(workers, &mail.SendWorker{Mailer: mailer, Pool: pool})
	s.AddWorkers(workers)
	client, err := queue.New(pool, workers, queue.Config{Logger: log, RetryPolicy: quickRetry{}})
	require.NoError(t, err)
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() { _ = client.Stop(context.Background()) })
	srv := web.New(web.Config{}, web.Deps{Pool: pool, Queue: client, Logger: log, Sales: s})
	webSrv := httptest.NewServer(srv.Handler())
	t.Cleanup(webSrv.Close)
	return &testBundle{ctx: ctx, pool: pool, sink: sink, sales: s, client: client, hooks: hooks, web: webSrv}
}

func (b *testBundle) user(t *testing.T, nu sales.NewUser) *sales.User {
	t.Helper()
	if nu.Role == "" {
		nu.Role = sales.RoleSales
	}
	u, err := sales.AddUser(b.ctx, b.pool, nu)
	require.NoError(t, err)
	return u
}

func (b *testBundle) lead(t *testing.T, email string, in lead.Input) int64 {
	t.Helper()
	in.Email = email
	out, err := lead.Upsert(b.ctx, b.pool, "test", []lead.Input{in})
	require.NoError(t, err)
	return out[0].ID
}

// escalate does what the dispatcher does with an escalation_requested event.
func (b *testBundle) escalate(t *testing.T, leadID int64, reason string) {
	t.Helper()
	require.NoError(t, pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error {
		return b.sales.Escalated(b.ctx, tx, b.client, leadID, 0, map[string]any{"reason": reason})
	}))
}

func (b *testBundle) events(t *testing.T, leadID int64, typ string) []map[string]any {
	t.Helper()
	rows, err := b.pool.Query(b.ctx, `SELECT properties FROM events WHERE lead_id = $1 AND type = $2 ORDER BY id`, leadID, typ)
	require.NoError(t, err)
	props, err := pgx.CollectRows(rows, pgx.RowTo[map[string]any])
	require.NoError(t, err)
	return props
}

// waitEvents waits until the lead has n events of typ.
func (b *testBundle) waitEvents(t *testing.T, leadID int64, typ string, n int) []map[string]any {
	t.Helper()
	var got []map[string]any
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		got = b.events(t, leadID, typ)
		require.GreaterOrEqual(c, len(got), n)
	}, 15*time.Second, 20*time.Millisecond, "waiting for %d %s events", n, typ)
	return got
}

func mailTo(msgs []mailtest.Message, to string) []mailtest.Message {
	var out []mailtest.Message
	for _, m := range msgs {
		for _, r := range m.To {
			if strings.EqualFold(r, to) {
				out = append(out, m)
			}
		}
	}
	return out
}

// acceptURL finds the accept link in an alert.
func acceptURL(t *testing.T, m mailtest.Message) string {
	t.Helper()
	body := decodedBody(t, m)
	i := strings.Index(body, "http://nurture.test/s/")
	require.GreaterOrEqual(t, i, 0, "no accept link in the alert:\n%s", body)
	end := i + len("http://nurture.test/s/")
	for end < len(body) && strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", rune(body[end])) {
		end++
	}
	return body[i:end]
}

func TestHandoff(t *testing.T) {
	t.Parallel()

	t.Run("EndToEnd", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *sales.Config) { c.SLA = 1500 * time.Millisecond })
		manager := b.user(t, sales.NewUser{Email: "boss@example.com", Name: "部長 花子", Role: sales.RoleAdmin})
		rep := b.user(t, sales.NewUser{Email: "rep@example.com", Name: "営業 太郎", ManagerEmail: manager.Email})
		company := "株式会社<テスト>"
		first := b.lead(t, "first@client.example", lead.Input{Company: &company})

		b.escalate(t, first, "料金ページを2回閲覧")
		assigned := b.waitEvents(t, first, sales.TypeAssigned, 1)
		require.Equal(t, float64(rep.ID), assigned[0]["user_id"])
		require.Equal(t, sales.HowRoundRobin, assigned[0]["how"])

		msgs := mailTo(b.sink.Wait(t, 1, 10*time.Second), rep.Email)
		require.Len(t, msgs, 1)
		body := decodedBody(t, msgs[0])
		require.Contains(t, body, "料金ページを2回閲覧")
		require.Contains(t, body, "営業 太郎")
		require.NotContains(t, body, "/t/o/", "an alert carries no open pixel")
		b.waitEvents(t, first, "alert_sent", 1)

		// The webhook, signed.
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			got, _ := b.hooks.received()
			require.Len(c, got, 1)
		}, 10*time.Second, 20*time.Millisecond)
		got, sigs := b.hooks.received()
		requireValidSignature(t, got[0], sigs[0])
		var hook map[string]any
		require.NoError(t, json.Unmarshal(got[0], &hook))
		require.Contains(t, hook["text"], "営業 太郎")
		require.Equal(t, "assigned", hook["event"])

		// A GET, as a scanner makes, changes nothing.
		link := strings.Replace(acceptURL(t, msgs[0]), "http://nurture.test", b.web.URL, 1)
		resp, err := http.Get(link)
		require.NoError(t, err)
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, string(page), "株式会社&lt;テスト&gt;", "the page escapes the lead's fields")
		require.Contains(t, string(page), "受け付ける")
		l, err := lead.FindLeadByID(b.ctx, b.pool, first)
		require.NoError(t, err)
		require.Equal(t, lead.StageInquiry, l.Stage)

		// The POST accepts, once.
		for range 2 {
			resp, err = http.PostForm(link, url.Values{"action": {"accept"}})
			require.NoError(t, err)
			page, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
		require.Contains(t, string(page), "受付済み", "a second use says it was done")
		l, err = lead.FindLeadByID(b.ctx, b.pool, first)
		require.NoError(t, err)
		require.Equal(t, lead.StageSAL, l.Stage)
		require.Equal(t, rep.ID, *l.OwnerID)
		require.Len(t, b.events(t, first, sales.TypeAccepted), 1)
		require.Len(t, b.events(t, first, lead.TypeStageChanged), 1)
		// The SLA check is cancelled: no re-alert can come.
		var state string
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT state FROM river_job WHERE kind = 'sales_sla'`).Scan(&state))
		require.Equal(t, "cancelled", state)

		// A second lead nobody accepts: the rep is alerted again and the manager
		// told, one SLA later.
		second := b.lead(t, "second@client.example", lead.Input{})
		start := time.Now()
		b.escalate(t, second, "問い合わせフォーム送信")
		b.waitEvents(t, second, sales.TypeSLAMissed, 1)
		require.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond, "not before the SLA")
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			msgs := b.sink.Messages()
			require.Len(c, mailTo(msgs, rep.Email), 3) // first alert, second alert, reminder
			require.Len(c, mailTo(msgs, manager.Email), 1)
		}, 10*time.Second, 20*time.Millisecond)
		require.Contains(t, decodedBody(t, mailTo(b.sink.Messages(), manager.Email)[0]), "部長 花子")
		require.Empty(t, b.events(t, first, sales.TypeSLAMissed), "the accepted lead is never re-alerted")
	})

	t.Run("ReassignsAfterTwoPeriods", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *sales.Config) { c.SLA = 300 * time.Millisecond; c.WebhookURL = ""; c.WebhookSecret = "" })
		one := b.user(t, sales.NewUser{Email: "one@example.com", Name: "一"})
		two := b.user(t, sales.NewUser{Email: "two@example.com", Name: "二"})
		id := b.lead(t, "slow@client.example", lead.Input{})
		b.escalate(t, id, "test")
		assigned := b.waitEvents(t, id, sales.TypeAssigned, 2)
		require.Equal(t, float64(one.ID), assigned[0]["user_id"])
		require.Equal(t, float64(two.ID), assigned[1]["user_id"])
		l, err := lead.FindLeadByID(b.ctx, b.pool, id)
		require.NoError(t, err)
		require.Equal(t, two.ID, *l.OwnerID)
	})

	t.Run("WebhookFailureRecorded", func(t *testing.T) {
		t.Parallel()
		for _, mode := range []string{"500", "timeout"} {
			t.Run(mode, func(t *testing.T) {
				t.Parallel()
				b := setup(t, nil)
				if mode == "500" {
					b.hooks.fail.Store(http.StatusInternalServerError)
				} else {
					b.hooks.hang.Store(true)
				}
				b.user(t, sales.NewUser{Email: "rep@example.com", Name: "営業"})
				id := b.lead(t, "hook@client.example", lead.Input{})
				b.escalate(t, id, "test")
				failed := b.waitEvents(t, id, sales.TypeWebhookFailed, 1)
				require.Equal(t, float64(3), failed[0]["attempts"])
				require.Equal(t, int32(3), b.hooks.tries.Load(), "tried three times")
			})
		}
	})

	t.Run("UnsubscribedLeadStillAlerts", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		rep := b.user(t, sales.NewUser{Email: "rep@example.com", Name: "営業"})
		id := b.lead(t, "gone@client.example", lead.Input{})
		require.NoError(t, pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error {
			_, err := lead.Unsubscribe(b.ctx, tx, id, map[string]any{"via": "test"})
			return err
		}))
		// The lead's daily cap is one and taken: an alert is not the lead's mail.
		_, err := b.pool.Exec(b.ctx, `INSERT INTO messages (lead_id, purpose, template, to_email, message_id, status)
			VALUES ($1, 'earlier', 'whitepaper/thanks', 'gone@client.example', 'x@example.com', 'sent')`, id)
		require.NoError(t, err)
		b.escalate(t, id, "test")
		msgs := b.sink.Wait(t, 1, 10*time.Second)
		require.Len(t, mailTo(msgs, rep.Email), 1)
		require.Empty(t, mailTo(msgs, "gone@client.example"))
		b.waitEvents(t, id, "alert_sent", 1)
		require.Empty(t, b.events(t, id, "email_sent"))
	})

	t.Run("DisabledRepGetsNone", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		off := b.user(t, sales.NewUser{Email: "off@example.com", Name: "休職"})
		on := b.user(t, sales.NewUser{Email: "on@example.com", Name: "在籍"})
		require.NoError(t, pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error {
			_, _, err := sales.DisableUser(b.ctx, tx, off.Email)
			return err
		}))
		for i := range 3 {
			b.escalate(t, b.lead(t, fmt.Sprintf("l%d@client.example", i), lead.Input{}), "test")
		}
		msgs := b.sink.Wait(t, 3, 10*time.Second)
		require.Len(t, mailTo(msgs, on.Email), 3)
		require.Empty(t, mailTo(msgs, off.Email))
	})

	t.Run("NoRepWaitsAndIsNotDropped", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		id := b.lead(t, "waiting@client.example", lead.Input{})
		b.escalate(t, id, "test")
		b.waitEvents(t, id, sales.TypeAssignmentPending, 1)
		rep := b.user(t, sales.NewUser{Email: "late@example.com", Name: "遅番"})
		assigned := b.waitEvents(t, id, sales.TypeAssigned, 1)
		require.Equal(t, float64(rep.ID), assigned[0]["user_id"])
		require.Len(t, b.events(t, id, sales.TypeAssignmentPending), 1, "recorded once however often it waits")
	})

	t.Run("TerritoryAndKeptOwner", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.user(t, sales.NewUser{Email: "any@example.com", Name: "全国"})
		jp := b.user(t, sales.NewUser{Email: "jp@example.com", Name: "大手", Territory: `lead.country == "JP" && lead.employees >= 1000`})
		country, big := "JP", 5000
		id := b.lead(t, "big@client.example", lead.Input{Country: &country, Employees: &big})
		b.escalate(t, id, "test")
		assigned := b.waitEvents(t, id, sales.TypeAssigned, 1)
		require.Equal(t, float64(jp.ID), assigned[0]["user_id"])
		require.Equal(t, sales.HowTerritory, assigned[0]["how"])
		h, err := sales.OpenHandoff(b.ctx, b.pool, id)
		require.NoError(t, err)
		_, err = b.sales.Reject(b.ctx, b.client, h.ID, "user:1", "")
		require.Error(t, err, "a reason is required")
		_, err = b.sales.Accept(b.ctx, b.client, h.ID, sales.UserCause(jp.ID))
		require.NoError(t, err)
		b.escalate(t, id, "again")
		assigned = b.waitEvents(t, id, sales.TypeAssigned, 2)
		require.Equal(t, sales.HowKept, assigned[1]["how"])
	})
}

func requireValidSignature(t *testing.T, body []byte, header string) {
	t.Helper()
	ts, mac, ok := strings.Cut(header, ",v1=")
	require.True(t, ok, header)
	ts = strings.TrimPrefix(ts, "t=")
	m := hmac.New(sha256.New, []byte(webhookSecret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	require.Equal(t, hex.EncodeToString(m.Sum(nil)), mac)
}

// TestRoundRobinEven hands 1,000 leads to four reps at once: each gets 250.
func TestRoundRobinEven(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *sales.Config) { c.WebhookURL = ""; c.WebhookSecret = "" })
	var reps []*sales.User
	for i := range 4 {
		reps = append(reps, b.user(t, sales.NewUser{Email: fmt.Sprintf("rr%d@example.com", i), Name: fmt.Sprint("rep", i)}))
	}
	const n = 1000
	var ids []int64
	for i := range n {
		ids = append(ids, b.lead(t, fmt.Sprintf("rr%d@client.example", i), lead.Input{}))
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, id := range ids {
		wg.Go(func() {
			errs <- pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error {
				_, err := b.sales.Assign(b.ctx, tx, b.client, sales.AssignArgs{LeadID: id, Reason: "rr"})
				return err
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	rows, err := b.pool.Query(b.ctx, `SELECT user_id, count(*) FROM assignments GROUP BY user_id`)
	require.NoError(t, err)
	counts := map[int64]int{}
	var uid int64
	var c int
	_, err = pgx.ForEachRow(rows, []any{&uid, &c}, func() error { counts[uid] = c; return nil })
	require.NoError(t, err)
	for _, r := range reps {
		require.Equal(t, n/len(reps), counts[r.ID], "rep %s", r.Email)
	}
}
