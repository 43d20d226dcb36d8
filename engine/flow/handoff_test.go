package flow_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/nurture-dev/nurture/engine/flow"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail/mailtest"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/sales"
	"github.com/nurture-dev/nurture/engine/score"
	"github.com/nurture-dev/nurture/web"
)

const handoffBaseURL = "http://nurture.test"

// salesBundle is an engine wired to the sales hand-off as serve wires it: one
// scorer shared by the dispatcher and the hand-off, the dispatcher's OnEscalation
// handing leads over, the hand-off's workers on the same River client, and the web
// server that serves the accept pages.
type salesBundle struct {
	*testBundle
	sales *sales.Sales
	web   *httptest.Server
}

func setupSales(t *testing.T, files map[string]string) *salesBundle {
	t.Helper()
	var handoff *sales.Sales
	b := newBundleWith(t, files, func(fc *flow.Config, qc *queue.Config) {
		fc.DispatchInterval = 50 * time.Millisecond
		qc.RetryPolicy = quickRetry{}
		fc.Scorer = score.NewScorer(fc.Logger)
		var err error
		handoff, err = sales.New(sales.Config{Pool: fc.Pool, Mailer: fc.Mailer, Secret: []byte(testSecret),
			BaseURL: handoffBaseURL, Model: fc.Scorer.Model, Logger: fc.Logger})
		require.NoError(t, err)
		fc.OnEscalation = handoff.Escalated
	}, func(w *river.Workers) { handoff.AddWorkers(w) })
	srv := web.New(web.Config{}, web.Deps{Pool: b.pool, Queue: b.client, Working: true, Sales: handoff,
		Scorer: b.engine.Scorer()})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &salesBundle{testBundle: b, sales: handoff, web: ts}
}

func (b *salesBundle) rep(t *testing.T, email, name string) *sales.User {
	t.Helper()
	u, err := sales.AddUser(b.ctx, b.pool, sales.NewUser{Email: email, Name: name, Role: sales.RoleSales})
	require.NoError(t, err)
	return u
}

// alertTo waits for the one alert mailed to rep.
func (b *salesBundle) alertTo(t *testing.T, rep string) mailParts {
	t.Helper()
	var got []mailtest.Message
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		got = nil
		for _, m := range b.sink.Messages() {
			for _, to := range m.To {
				if strings.EqualFold(to, rep) {
					got = append(got, m)
				}
			}
		}
		assert.Len(c, got, 1)
	}, 15*time.Second, 20*time.Millisecond, "no alert reached %s", rep)
	return readMail(t, got[0])
}

// mailParts is a message's subject and its parts, decoded.
type mailParts struct {
	Subject, Text, HTML string
}

func readMail(t *testing.T, m mailtest.Message) mailParts {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
	require.NoError(t, err)
	var p mailParts
	p.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	var walk func(h netmail.Header, r io.Reader)
	walk = func(h netmail.Header, r io.Reader) {
		mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
		require.NoError(t, err)
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(r, params["boundary"])
			for {
				part, err := mr.NextRawPart()
				if err == io.EOF {
					return
				}
				require.NoError(t, err)
				walk(netmail.Header(part.Header), part)
			}
		}
		switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, r)
		case "quoted-printable":
			r = quotedprintable.NewReader(r)
		}
		b, err := io.ReadAll(r)
		require.NoError(t, err)
		switch mt {
		case "text/plain":
			p.Text += string(b)
		case "text/html":
			p.HTML += string(b)
		}
	}
	walk(msg.Header, msg.Body)
	return p
}

// acceptLinkRE finds an accept link in text.
var acceptLinkRE = regexp.MustCompile(regexp.QuoteMeta(handoffBaseURL) + `/s/[A-Za-z0-9_-]+`)

// acceptHref is the address of the one link of an HTML part to an accept page.
func acceptHref(t *testing.T, doc string) string {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	require.NoError(t, err)
	var hrefs []string
	for n := range root.Descendants() {
		if n.Type != html.ElementNode || n.DataAtom != atom.A {
			continue
		}
		for _, a := range n.Attr {
			if a.Key == "href" && strings.Contains(a.Val, "/s/") {
				hrefs = append(hrefs, a.Val)
			}
		}
	}
	require.Len(t, hrefs, 1, "one link to the accept page in the HTML part:\n%s", doc)
	require.Regexp(t, "^"+acceptLinkRE.String()+"$", hrefs[0], "the signed URL, whole and unencoded")
	return hrefs[0]
}

// onServer points a link of a mail at the test's web server.
func (b *salesBundle) onServer(link string) string {
	return b.web.URL + strings.TrimPrefix(link, handoffBaseURL)
}

func get(t *testing.T, link string) (int, string) {
	t.Helper()
	resp, err := http.Get(link)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func post(t *testing.T, link string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(link, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// TestHandoffFromTheEngine follows a lead from the events that qualify it, through
// the dispatcher, to the rep who accepts it from the link in the alert mail.
func TestHandoffFromTheEngine(t *testing.T) {
	t.Parallel()

	t.Run("ScoringToMQLAlertsTheRepWhoAcceptsFromTheMail", func(t *testing.T) {
		t.Parallel()
		b := setupSales(t, map[string]string{"scoring.yaml": shippedScoring(t)})
		rep := b.rep(t, "rep@example.com", "営業 太郎")

		in := lead.Input{Email: "yamada@example.co.jp", Title: new("情報システム部長"), Employees: new(1200), Company: new("株式会社<サンプル>")}
		id := b.record(t, in, lead.TypeFormSubmitted, map[string]any{"form": "document-request"})
		b.observe(t, id, "email_opened", map[string]any{"verdict": "human"})
		b.dispatched(t)
		require.Equal(t, 43, b.lead(t, id).Score, "10 + 20 + 10 + 3: under the MQL line of 50")
		require.Zero(t, b.countEvents(t, id, "escalation_requested"), "not qualified yet: nobody is told")
		b.record(t, lead.Input{Email: in.Email}, lead.TypeFormSubmitted, map[string]any{"form": "inquiry"})

		alert := b.alertTo(t, rep.Email)
		l := b.lead(t, id)
		require.Equal(t, lead.StageMQL, l.Stage, "63 points: MQL by the shipped model")
		require.NotNil(t, l.OwnerID)
		require.Equal(t, rep.ID, *l.OwnerID, "the only rep, by round robin")
		require.Equal(t, 1, b.countEvents(t, id, "escalation_requested"))
		require.Equal(t, 1, b.countEvents(t, id, sales.TypeAssigned))
		require.Contains(t, alert.Subject, "株式会社<サンプル>")
		require.Contains(t, alert.Text, "営業 太郎")
		require.Contains(t, alert.Text, "問い合わせ", "the score's breakdown names the rule")
		require.Contains(t, alert.HTML, "株式会社&lt;サンプル&gt;", "lead values stay escaped in the HTML part")
		require.NotContains(t, alert.HTML, "株式会社<サンプル>")

		// The HTML part links the accept page, its address whole; the text part
		// shows the same address.
		link := acceptHref(t, alert.HTML)
		require.Equal(t, link, acceptLinkRE.FindString(alert.Text), "the text part:\n%s", alert.Text)

		// A GET, as a mail scanner makes, shows the page and changes nothing.
		code, page := get(t, b.onServer(link))
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, page, "受け付ける")
		require.Contains(t, page, "株式会社&lt;サンプル&gt;")
		require.Equal(t, lead.StageMQL, b.lead(t, id).Stage)
		require.Zero(t, b.countEvents(t, id, sales.TypeAccepted))

		// The POST of the page's button accepts, once.
		code, page = post(t, b.onServer(link), url.Values{"action": {"accept"}})
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, page, "受け付けました")
		code, page = post(t, b.onServer(link), url.Values{"action": {"accept"}})
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, page, "受付済み", "a second use says it was done")
		l = b.lead(t, id)
		require.Equal(t, lead.StageSAL, l.Stage)
		require.Equal(t, rep.ID, *l.OwnerID)
		require.Equal(t, 1, b.countEvents(t, id, sales.TypeAccepted))

		// The stage change the acceptance made goes through the dispatcher too, and
		// SAL is no escalation stage: still one hand-off.
		b.dispatched(t)
		require.Equal(t, 1, b.countEvents(t, id, "escalation_requested"))
		require.Equal(t, 1, b.countEvents(t, id, sales.TypeAssigned))
		require.Equal(t, 1, b.sink.Count())
	})

	t.Run("EscalateStepAlertsWithItsReason", func(t *testing.T) {
		t.Parallel()
		b := setupSales(t, map[string]string{"qualify.yaml": `
id: qualify
trigger: { event: form_submitted, if: event.form == "qualify" }
steps:
  - escalate: 予算確保済みの大企業
`})
		rep := b.rep(t, "rep@example.com", "営業 花子")
		id := b.submit(t, "big@example.co.jp", "qualify")

		alert := b.alertTo(t, rep.Email)
		require.Contains(t, alert.Text, "予算確保済みの大企業", "the step's reason")
		require.Equal(t, "completed", b.ended(t, id, 10*time.Second))
		require.Equal(t, lead.StageInquiry, b.lead(t, id).Stage, "escalating is not qualifying")

		link := acceptHref(t, alert.HTML)
		code, page := post(t, b.onServer(link), url.Values{"action": {"reject"}})
		require.Equal(t, http.StatusUnprocessableEntity, code, "a reason is required")
		require.Contains(t, page, "理由")
		code, _ = post(t, b.onServer(link), url.Values{"action": {"reject"}, "reason": {"競合で導入済み"}})
		require.Equal(t, http.StatusOK, code)
		l := b.lead(t, id)
		require.Equal(t, lead.StageRecycled, l.Stage)
		require.Nil(t, l.OwnerID)
		require.Equal(t, 1, b.countEvents(t, id, sales.TypeRejected))
	})
}
