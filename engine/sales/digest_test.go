package sales_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/sales"
)

// clock is a settable clock.
type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time      { return time.Unix(0, c.now.Load()) }
func (c *clock) set(t time.Time)     { c.now.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) { c.set(c.Now().Add(d)) }

// digestLead makes a lead owned by owner (0: none) with a score and grade.
func (b *testBundle) digestLead(t *testing.T, email, company string, owner int64, score int, grade string) int64 {
	t.Helper()
	id := b.lead(t, email, lead.Input{Company: &company, LastName: new("山田")})
	_, err := b.pool.Exec(b.ctx, `UPDATE leads SET score = $2, grade = $3, owner_id = nullif($4, 0) WHERE id = $1`, id, score, grade, owner)
	require.NoError(t, err)
	return id
}

// event records an event that happened at a time.
func (b *testBundle) event(t *testing.T, leadID int64, typ string, at time.Time, props string) {
	t.Helper()
	_, err := b.pool.Exec(b.ctx, `INSERT INTO events (lead_id, type, occurred_at, properties) VALUES ($1, $2, $3, $4::jsonb)`,
		leadID, typ, at, props)
	require.NoError(t, err)
}

// handedAt records a hand-off of a lead to a rep made at a time, decided or not.
func (b *testBundle) handedAt(t *testing.T, leadID, userID int64, at time.Time, decision string) {
	t.Helper()
	_, err := b.pool.Exec(b.ctx, `INSERT INTO assignments (lead_id, user_id, how, reason, created_at, decision, decided_at)
		VALUES ($1, $2, 'round_robin', 'test', $3, nullif($4, ''), CASE WHEN $4 = '' THEN NULL ELSE $3::timestamptz END)`,
		leadID, userID, at, decision)
	require.NoError(t, err)
}

func (b *testBundle) digests(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT count(*) FROM messages WHERE purpose LIKE 'digest:%' AND lead_id IS NULL`).Scan(&n))
	return n
}

func TestDigest(t *testing.T) {
	t.Parallel()
	jst := time.FixedZone("JST", 9*3600)
	monday := time.Date(2026, 4, 6, 8, 0, 0, 0, jst)

	t.Run("EachRepGetsWhatIsTheirsOnceADay", func(t *testing.T) {
		t.Parallel()
		clk := &clock{}
		clk.set(monday)
		b := setup(t, func(c *sales.Config) {
			c.Now, c.SLA, c.WebhookURL, c.WebhookSecret = clk.Now, 24*time.Hour, "", ""
		})
		taro := b.user(t, sales.NewUser{Email: "taro@example.com", Name: "営業 太郎"})
		hanako := b.user(t, sales.NewUser{Email: "hanako@example.com", Name: "営業 花子"})
		jiro := b.user(t, sales.NewUser{Email: "jiro@example.com", Name: "営業 次郎"})
		b.user(t, sales.NewUser{Email: "admin@example.com", Name: "管理者", Role: sales.RoleAdmin})

		// Taro: one lead turned hot two hours ago; one hot for two days (not new).
		hot := b.digestLead(t, "hot@client.example", "新規ホット株式会社", taro.ID, 72, "hot")
		b.event(t, hot, "grade_changed", monday.Add(-2*time.Hour), `{"from": "warm", "to": "hot", "score": 72}`)
		old := b.digestLead(t, "old@client.example", "以前からホット株式会社", taro.ID, 80, "hot")
		b.event(t, old, "grade_changed", monday.Add(-50*time.Hour), `{"from": "warm", "to": "hot", "score": 80}`)
		// Two hand-offs waiting for Taro, one past the SLA; one he accepted.
		late := b.digestLead(t, "late@client.example", "期限超過株式会社", taro.ID, 45, "warm")
		b.handedAt(t, late, taro.ID, monday.Add(-30*time.Hour), "")
		fresh := b.digestLead(t, "fresh@client.example", "受付待ち株式会社", taro.ID, 50, "warm")
		b.handedAt(t, fresh, taro.ID, monday.Add(-2*time.Hour), "")
		done := b.digestLead(t, "done@client.example", "受付済み株式会社", taro.ID, 40, "warm")
		b.handedAt(t, done, taro.ID, monday.Add(-3*time.Hour), "accepted")
		// A jump of 25 points within the day; 15 within it and 30 the day before.
		jumped := b.digestLead(t, "jump@client.example", "急上昇株式会社", taro.ID, 55, "warm")
		b.event(t, jumped, "score_changed", monday.Add(-3*time.Hour), `{"points": 15, "previous": 30, "score": 45}`)
		b.event(t, jumped, "score_changed", monday.Add(-time.Hour), `{"points": 10, "previous": 45, "score": 55}`)
		slow := b.digestLead(t, "slow@client.example", "緩やか株式会社", taro.ID, 50, "warm")
		b.event(t, slow, "score_changed", monday.Add(-30*time.Hour), `{"points": 30, "previous": 5, "score": 35}`)
		b.event(t, slow, "score_changed", monday.Add(-time.Hour), `{"points": 15, "previous": 35, "score": 50}`)
		// Someone else's jump is not Taro's.
		other := b.digestLead(t, "other@client.example", "他社担当株式会社", 0, 60, "hot")
		b.event(t, other, "score_changed", monday.Add(-time.Hour), `{"points": 40, "previous": 20, "score": 60}`)
		b.event(t, other, "grade_changed", monday.Add(-time.Hour), `{"from": "warm", "to": "hot", "score": 60}`)
		// Hanako: only old news. Jiro: disabled, with a hand-off waiting.
		quiet := b.digestLead(t, "quiet@client.example", "静か株式会社", hanako.ID, 90, "hot")
		b.event(t, quiet, "grade_changed", monday.Add(-72*time.Hour), `{"from": "warm", "to": "hot", "score": 90}`)
		away := b.digestLead(t, "away@client.example", "休職中担当株式会社", jiro.ID, 50, "warm")
		b.handedAt(t, away, jiro.ID, monday.Add(-time.Hour), "")
		_, err := b.pool.Exec(b.ctx, `UPDATE users SET active = false WHERE id = $1`, jiro.ID)
		require.NoError(t, err)

		n, err := b.sales.SendDigests(b.ctx, b.client)
		require.NoError(t, err)
		require.Equal(t, 1, n, "Taro only: Hanako has nothing new, Jiro is disabled")
		msgs := b.sink.Wait(t, 1, 10*time.Second)
		require.Len(t, mailTo(msgs, taro.Email), 1)
		body := decodedBody(t, msgs[0])
		require.Contains(t, body, "【営業ダイジェスト】4月6日（月） 営業 太郎 様")
		require.Contains(t, body, "新規ホット株式会社")
		require.Contains(t, body, "期限超過株式会社 山田（スコア 45・warm）: 待ち 30時間（期限を6時間超過）")
		require.Contains(t, body, "受付待ち株式会社 山田（スコア 50・warm）: 待ち 2時間（期限まで あと22時間）")
		require.Contains(t, body, "急上昇株式会社 山田: +25点（30→55）")
		for _, absent := range []string{"以前からホット株式会社", "受付済み株式会社", "緩やか株式会社", "他社担当株式会社", "静か株式会社", "休職中担当株式会社"} {
			require.NotContains(t, body, absent)
		}
		require.Contains(t, body, `href="http://nurture.test/s/`, "each waiting lead links its accept page")

		// Run again the same day (a retry, a restart): nothing more.
		n, err = b.sales.SendDigests(b.ctx, b.client)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Equal(t, 1, b.digests(t))

		// The digest is about no one lead: sent, and recorded on no lead's timeline.
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			var status string
			require.NoError(c, b.pool.QueryRow(b.ctx, `SELECT status FROM messages WHERE purpose LIKE 'digest:%'`).Scan(&status))
			require.Equal(c, "sent", status)
		}, 10*time.Second, 20*time.Millisecond)
		var alerts int
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT count(*) FROM events WHERE type IN ('alert_sent', 'email_sent')`).Scan(&alerts))
		require.Zero(t, alerts)

		// The next morning, through the periodic job: the hand-offs still wait.
		clk.add(24 * time.Hour)
		_, err = b.client.Insert(b.ctx, sales.DigestArgs{}, nil)
		require.NoError(t, err)
		msgs = b.sink.Wait(t, 2, 10*time.Second)
		body = decodedBody(t, msgs[1])
		require.Contains(t, body, "4月7日（火）")
		require.Contains(t, body, "待ち 54時間（期限を30時間超過）")
		require.NotContains(t, body, "新規ホット株式会社", "yesterday's news")
		require.Equal(t, 2, b.digests(t))
	})

	t.Run("NoScheduleNoPeriodicJob", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		require.Empty(t, b.sales.PeriodicJobs())
	})
}
