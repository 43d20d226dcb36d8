package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/mail/mailtest"
)

// A scenario run by a real `nurture serve` on a real database, River workers and SMTP
// server, driven through the HTTP API and the tracking links in the mail it sends. The
// clicker's copy waits an hour for the click, so that only the click can end its wait
// within the test; the quiet lead's copy waits seconds, so that its window closes.
const e2eScenario = `
id: e2e-followup
trigger: { event: form_submitted, if: event.form == "whitepaper" }
steps:
  - id: thanks
    send: whitepaper/thanks
  - id: clicked
    wait_until: { clicked: thanks, within: 4s }
    yes: hot
    no: reminder
  - id: reminder
    send: whitepaper/reminder
    next: end
  - id: hot
    send: whitepaper/case-study
`

var e2eLinkRE = regexp.MustCompile(`href="(http://[^"]+/t/c/[^"]+)"`)

func TestScenarioEndToEnd(t *testing.T) {
	t.Parallel()
	sink := mailtest.NewServer(t)
	scenarios := t.TempDir()
	clickerScenario := strings.Replace(e2eScenario, "within: 4s", "within: 1h", 1)
	quietScenario := strings.NewReplacer("id: e2e-followup", "id: e2e-quiet", `"whitepaper"`, `"checklist"`).Replace(e2eScenario)
	require.NoError(t, os.WriteFile(filepath.Join(scenarios, "followup.yaml"), []byte(clickerScenario), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(scenarios, "quiet.yaml"), []byte(quietScenario), 0o644))
	dbURL := dbtest.NewURL(t)
	srv := startServer(t, map[string]string{"NURTURE_DATABASE_URL": dbURL, "NURTURE_API_KEY": testAPIKey,
		"NURTURE_SMTP_URL": sink.URL(), "NURTURE_SCENARIOS_DIR": scenarios, "NURTURE_CLICK_SETTLE": "0s",
		"NURTURE_DATA_DIR": t.TempDir(), "NURTURE_BASE_URL": "http://nurture.test"})
	db, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close(context.Background()) })

	submit := func(email, form string) {
		status, body := srv.request(t, "POST", "/api/v1/events",
			`{"email": "`+email+`", "type": "form_submitted", "form": "`+form+`", "lead": {"last_name": "山田"}}`)
		require.Equal(t, http.StatusCreated, status, body)
	}
	// mailTo waits for the n-th message to an address and returns its subject and HTML.
	mailTo := func(to string, n int, within time.Duration) (string, string) {
		t.Helper()
		var found []mailtest.Message
		require.Eventually(t, func() bool {
			found = found[:0]
			for _, m := range sink.Messages() {
				if len(m.To) == 1 && m.To[0] == to {
					found = append(found, m)
				}
			}
			return len(found) >= n
		}, within, 10*time.Millisecond, "%s did not get mail %d", to, n)
		return parseMail(t, found[n-1].Data)
	}

	submit("clicker@example.co.jp", "whitepaper")
	submit("quiet@example.co.jp", "checklist")

	subject, html := mailTo("clicker@example.co.jp", 1, 15*time.Second)
	require.Contains(t, subject, "資料")
	link := e2eLinkRE.FindStringSubmatch(html)
	require.NotNil(t, link, html)
	// A click seconds after delivery is what link scanners do: make the message an
	// older one, as a reader's click would find it. The sink has the mail a moment
	// before its sent_at commits, so wait for that first.
	require.Eventually(t, func() bool {
		tag, err := db.Exec(context.Background(), `UPDATE messages SET sent_at = sent_at - interval '1 minute'
			WHERE sent_at IS NOT NULL AND lead_id = (SELECT id FROM leads WHERE email = 'clicker@example.co.jp')`)
		require.NoError(t, err)
		return tag.RowsAffected() == 1
	}, 5*time.Second, 5*time.Millisecond, "the first mail's sent_at was recorded")

	req, err := http.NewRequest(http.MethodGet, strings.Replace(link[1], "http://nurture.test", srv.URL, 1), nil)
	require.NoError(t, err)
	req.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15")
	res, err := noRedirect.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusFound, res.StatusCode)
	subject, _ = mailTo("clicker@example.co.jp", 2, 15*time.Second)
	require.Contains(t, subject, "事例", "the clicker got the case study")

	subject, _ = mailTo("quiet@example.co.jp", 2, 15*time.Second)
	require.NotContains(t, subject, "事例", "a lead without a click took the no branch")

	// The lead API shows the enrollment and its end.
	var id int64
	require.NoError(t, db.QueryRow(context.Background(), `SELECT id FROM leads WHERE email = 'clicker@example.co.jp'`).Scan(&id))
	require.Eventually(t, func() bool {
		status, body := srv.request(t, "GET", "/api/v1/leads/"+jsonNumber(id), "")
		require.Equal(t, http.StatusOK, status)
		ens, _ := body["enrollments"].([]any)
		if len(ens) != 1 {
			return false
		}
		en := ens[0].(map[string]any)
		return en["scenario"] == "e2e-followup" && en["exit_reason"] == "completed"
	}, 10*time.Second, 20*time.Millisecond)
	// The enrollment ended on the yes branch, so no step of it can mail again: the
	// messages it made are all the mail the clicker will ever get from it.
	rows, err := db.Query(context.Background(), `SELECT step FROM messages WHERE lead_id = $1 ORDER BY id`, id)
	require.NoError(t, err)
	steps, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"thanks", "hot"}, steps, "the clicker got no reminder")
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// parseMail returns a message's decoded subject and HTML part.
func parseMail(t *testing.T, data []byte) (subject, html string) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	require.NoError(t, err)
	subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		require.NoError(t, err, "the message has an HTML part")
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			raw, err := io.ReadAll(p)
			require.NoError(t, err)
			dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
			require.NoError(t, err)
			return subject, string(dec)
		}
	}
}
