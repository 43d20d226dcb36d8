package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/mail/mailtest"
	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/testlog"
	"github.com/nurture-dev/nurture/engine/track"
	"github.com/nurture-dev/nurture/web"
)

const browserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// trackBundle is a whole sending and tracking setup: real PostgreSQL, River workers,
// an SMTP server and the HTTP server, whose clock runs an hour ahead so that hits are
// not taken for scanners clicking on delivery.
type trackBundle struct {
	ctx    context.Context
	pool   *pgxpool.Pool
	srv    *httptest.Server
	smtp   *mailtest.Server
	mailer *mail.Mailer
	client *queue.Client
	http   *http.Client
	signer *track.Signer
}

func setupTracking(t *testing.T) *trackBundle {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.New(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	set, err := message.Load("../templates")
	require.NoError(t, err)
	signer, err := track.NewSigner([]byte("web-test-secret-0123456789abcdef0123456789"))
	require.NoError(t, err)
	smtpSrv := mailtest.NewServer(t)
	cfg, err := mail.ParseSMTPURL(smtpSrv.URL())
	require.NoError(t, err)
	sender := mail.NewSMTPSender(cfg)
	t.Cleanup(func() { _ = sender.Close() })

	b := &trackBundle{ctx: ctx, pool: pool, smtp: smtpSrv, signer: signer}
	b.srv = httptest.NewUnstartedServer(nil)
	base := "http://" + b.srv.Listener.Addr().String()
	b.mailer = mail.New(mail.Config{BaseURL: base, From: "Marketing <marketing@example.com>",
		Templates: func() *message.Set { return set }, Signer: signer, Sender: sender, Logger: quiet})
	workers := queue.NewWorkers()
	river.AddWorker(workers, &mail.SendWorker{Mailer: b.mailer, Pool: pool})
	b.client, err = queue.New(pool, workers, queue.Config{Logger: quiet})
	require.NoError(t, err)
	require.NoError(t, b.client.Start(ctx))
	t.Cleanup(func() { _ = b.client.Stop(ctx) })

	rec := b.mailer.NewHitRecorder(pool, 1)
	t.Cleanup(rec.Close)
	s := web.New(web.Config{Now: func() time.Time { return time.Now().Add(time.Hour) }},
		web.Deps{Pool: pool, Queue: b.client, Logger: quiet, Mailer: b.mailer, Signer: signer, Recorder: rec})
	b.srv.Config.Handler = s.Handler()
	b.srv.Start()
	t.Cleanup(b.srv.Close)
	b.http = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return b
}

// sendTo sends a template to a new lead and returns the lead and the received HTML.
func (b *trackBundle) sendTo(t *testing.T, email, template string) (int64, string) {
	t.Helper()
	out, err := lead.Upsert(b.ctx, b.pool, "test", []lead.Input{{Email: email}})
	require.NoError(t, err)
	before := len(b.smtp.Messages())
	require.NoError(t, pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error {
		_, _, err := b.mailer.Enqueue(b.ctx, tx, b.client, out[0].ID, template, "test:"+email)
		return err
	}))
	msgs := b.smtp.Wait(t, before+1, 10*time.Second)
	html, err := htmlPart(msgs[before].Data)
	require.NoError(t, err)
	return out[0].ID, html
}

// htmlPart returns the decoded HTML part of a message.
func htmlPart(data []byte) (string, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return "", err
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err != nil {
			return "", fmt.Errorf("no HTML part: %w", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			raw, err := io.ReadAll(p)
			if err != nil {
				return "", err
			}
			html, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
			return string(html), err
		}
	}
}

func (b *trackBundle) get(t *testing.T, method, rawURL, agent string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	require.NoError(t, err)
	req.Header.Set("User-Agent", agent)
	res, err := b.http.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func (b *trackBundle) events(t *testing.T, leadID int64, typ string) []lead.Event {
	t.Helper()
	evs, err := lead.Timeline(b.ctx, b.pool, leadID, 100)
	require.NoError(t, err)
	var out []lead.Event
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

var (
	pixelRE = regexp.MustCompile(`src="(http://[^"]+/t/o/[^"]+)"`)
	linkRE  = regexp.MustCompile(`href="(http://[^"]+/t/c/[^"]+)"`)
	unsubRE = regexp.MustCompile(`href="(http://[^"]+/u/[^"]+)"`)
)

func TestTracking(t *testing.T) {
	t.Parallel()

	t.Run("OpensAndClicksReachTheTimeline", func(t *testing.T) {
		t.Parallel()
		b := setupTracking(t)
		leadID, html := b.sendTo(t, "reader@example.com", "whitepaper/case-study")

		pixel := pixelRE.FindStringSubmatch(html)
		require.NotNil(t, pixel, html)
		res := b.get(t, http.MethodGet, pixel[1], browserAgent)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "image/gif", res.Header.Get("Content-Type"))
		require.Contains(t, res.Header.Get("Cache-Control"), "no-store")

		links := linkRE.FindAllStringSubmatch(html, -1)
		require.NotEmpty(t, links)
		res = b.get(t, http.MethodGet, links[0][1], browserAgent)
		require.Equal(t, http.StatusFound, res.StatusCode)
		target, err := url.Parse(res.Header.Get("Location"))
		require.NoError(t, err)
		require.Contains(t, []string{"http", "https"}, target.Scheme)
		require.NotContains(t, target.Host, b.srv.Listener.Addr().String(), "redirects to the authored link")

		// The pixel is answered at once; its hit is recorded with the next batch.
		var opens []lead.Event
		require.Eventually(t, func() bool {
			opens = b.events(t, leadID, "email_opened")
			return len(opens) == 1
		}, 5*time.Second, 5*time.Millisecond)
		require.Equal(t, "human", opens[0].Properties["verdict"])
		require.Equal(t, browserAgent, opens[0].Properties["user_agent"])
		require.Equal(t, "127.0.0.1", opens[0].Properties["ip"])
		clicks := b.events(t, leadID, "email_clicked")
		require.Len(t, clicks, 1)
		require.Equal(t, target.String(), clicks[0].Properties["url"])

		var opened, clicked *time.Time
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT first_open_at, first_click_at FROM messages WHERE lead_id = $1`, leadID).Scan(&opened, &clicked))
		require.NotNil(t, opened)
		require.NotNil(t, clicked)
	})

	t.Run("AScannerMayClickBeforeTheServerAnswers", func(t *testing.T) {
		t.Parallel()
		b := setupTracking(t)
		// A receiving server's scanner follows the link while the sender still waits
		// for the answer to DATA: the link must redirect already.
		type seen struct {
			status          int
			location, state string
			err             error
		}
		got := make(chan seen, 1)
		b.smtp.OnData(func(m mailtest.Message) error {
			var s seen
			defer func() { got <- s }()
			html, err := htmlPart(m.Data)
			if s.err = err; err != nil {
				return nil
			}
			link := linkRE.FindStringSubmatch(html)
			if link == nil {
				s.err = fmt.Errorf("no tracked link in %s", html)
				return nil
			}
			req, _ := http.NewRequest(http.MethodGet, link[1], nil)
			req.Header.Set("User-Agent", browserAgent)
			res, err := b.http.Do(req)
			if s.err = err; err != nil {
				return nil
			}
			res.Body.Close()
			s.status, s.location = res.StatusCode, res.Header.Get("Location")
			s.err = b.pool.QueryRow(b.ctx, `SELECT status FROM messages WHERE to_email = 'early@example.com'`).Scan(&s.state)
			return nil
		})
		leadID, _ := b.sendTo(t, "early@example.com", "whitepaper/case-study")
		s := <-got
		require.NoError(t, s.err)
		require.Equal(t, "queued", s.state, "the click came before the send was recorded")
		require.Equal(t, http.StatusFound, s.status)
		require.True(t, strings.HasPrefix(s.location, "https://"), s.location)
		clicks := b.events(t, leadID, "email_clicked")
		require.Len(t, clicks, 1)
		require.Equal(t, s.location, clicks[0].Properties["url"])
	})

	t.Run("MessagesOfATemplateShareOneStoredSetOfLinks", func(t *testing.T) {
		t.Parallel()
		b := setupTracking(t)
		var targets []string
		for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			_, html := b.sendTo(t, to, "whitepaper/case-study")
			res := b.get(t, http.MethodGet, linkRE.FindStringSubmatch(html)[1], browserAgent)
			require.Equal(t, http.StatusFound, res.StatusCode)
			targets = append(targets, res.Header.Get("Location"))
		}
		require.Equal(t, targets[0], targets[1])
		require.Equal(t, targets[0], targets[2])
		var sets, messages int
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT count(DISTINCT link_set_id), count(*) FROM messages WHERE status = 'sent'`).Scan(&sets, &messages))
		require.Equal(t, 3, messages)
		require.Equal(t, 1, sets, "one set of links for the three messages")
	})

	t.Run("MailSentBeforeLinkSetsStillRedirects", func(t *testing.T) {
		t.Parallel()
		b := setupTracking(t)
		out, err := lead.Upsert(b.ctx, b.pool, "test", []lead.Input{{Email: "old@example.com"}})
		require.NoError(t, err)
		var id int64
		require.NoError(t, b.pool.QueryRow(b.ctx, `INSERT INTO messages (lead_id, purpose, template, to_email, message_id, status, attempts, sent_at, links)
			VALUES ($1, 'old', 'whitepaper/thanks', 'old@example.com', 'old@example.com', 'sent', 1, now() - interval '1 hour',
			'[{"index": 0, "url": "https://example.com/old", "name": "old"}]') RETURNING id`, out[0].ID).Scan(&id))
		tok := b.signer.Sign(track.Token{Kind: track.Click, MessageID: id, Link: 0})
		res := b.get(t, http.MethodGet, b.srv.URL+"/t/c/"+tok, browserAgent)
		require.Equal(t, http.StatusFound, res.StatusCode)
		require.Equal(t, "https://example.com/old", res.Header.Get("Location"))
		res = b.get(t, http.MethodGet, b.srv.URL+"/t/c/"+b.signer.Sign(track.Token{Kind: track.Click, MessageID: id, Link: 1}), browserAgent)
		require.Equal(t, http.StatusNotFound, res.StatusCode, "a link the message never had")
	})

	t.Run("BadTokensGet404AndRecordNothing", func(t *testing.T) {
		t.Parallel()
		b := setupTracking(t)
		leadID, html := b.sendTo(t, "t@example.com", "whitepaper/case-study")
		link := linkRE.FindStringSubmatch(html)[1]
		tok := link[strings.LastIndexByte(link, '/')+1:]
		tampered := []byte(tok)
		tampered[len(tampered)/2] ^= 1
		good, err := b.signer.Verify(tok)
		require.NoError(t, err)
		require.NotZero(t, good.LinkSet, "a click token names its link set")
		otherSet := good
		otherSet.LinkSet += 1000 // signed, but no such set
		for _, bad := range []string{
			strings.Replace(link, tok, b.signer.Sign(otherSet), 1),
			strings.Replace(link, tok, string(tampered), 1),
			strings.Replace(link, tok, tok[:len(tok)-2], 1),
			strings.Replace(link, "/t/c/", "/t/o/", 1), // a click token is not an open token
			link + "?url=https://evil.example.com",
		} {
			res := b.get(t, http.MethodGet, bad, browserAgent)
			if strings.Contains(bad, "evil") {
				require.Equal(t, http.StatusFound, res.StatusCode)
				require.NotContains(t, res.Header.Get("Location"), "evil", "the target never comes from the request")
				continue
			}
			require.Equal(t, http.StatusNotFound, res.StatusCode, bad)
		}
		require.Len(t, b.events(t, leadID, "email_clicked"), 1, "only the good request was recorded")
		require.Empty(t, b.events(t, leadID, "email_opened"))
	})

	t.Run("ScannersAreRecordedButNotBelieved", func(t *testing.T) {
		t.Parallel()
		b := setupTracking(t)
		leadID, html := b.sendTo(t, "scanned@example.com", "whitepaper/case-study")
		link := linkRE.FindStringSubmatch(html)[1]
		res := b.get(t, http.MethodHead, link, browserAgent)
		require.Equal(t, http.StatusFound, res.StatusCode)
		clicks := b.events(t, leadID, "email_clicked")
		require.Len(t, clicks, 1)
		require.Equal(t, "machine", clicks[0].Properties["verdict"])
		var clicked *time.Time
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT first_click_at FROM messages WHERE lead_id = $1`, leadID).Scan(&clicked))
		require.Nil(t, clicked, "a scanner's click is not a human click")
	})

	t.Run("UnsubscribeNeedsAPostAndSticks", func(t *testing.T) {
		t.Parallel()
		b := setupTracking(t)
		leadID, html := b.sendTo(t, "leaver@example.com", "whitepaper/case-study")
		unsub := unsubRE.FindStringSubmatch(html)
		require.NotNil(t, unsub, "the layout links to the unsubscribe page")
		pageURL := strings.ReplaceAll(unsub[1], "&amp;", "&")

		res := b.get(t, http.MethodGet, pageURL, browserAgent)
		require.Equal(t, http.StatusOK, res.StatusCode)
		l, err := lead.FindLeadByID(b.ctx, b.pool, leadID)
		require.NoError(t, err)
		require.Nil(t, l.UnsubscribedAt, "a GET never unsubscribes")

		req, err := http.NewRequest(http.MethodPost, pageURL, strings.NewReader("List-Unsubscribe=One-Click"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		post, err := b.http.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(post.Body)
		post.Body.Close()
		require.Equal(t, http.StatusOK, post.StatusCode)
		require.Contains(t, string(body), "配信を停止しました")
		require.Contains(t, string(body), "l***@example.com")

		evs := b.events(t, leadID, "unsubscribed")
		require.Len(t, evs, 1)
		require.Equal(t, "one-click", evs[0].Properties["via"])

		_, err = lead.Upsert(b.ctx, b.pool, "api", []lead.Input{{Email: "leaver@example.com", Consent: ptrTo(lead.ConsentGranted)}})
		require.NoError(t, err)
		l, err = lead.FindLeadByID(b.ctx, b.pool, leadID)
		require.NoError(t, err)
		require.NotNil(t, l.UnsubscribedAt, "a later upsert does not undo the unsubscribe")

		var id int64
		require.NoError(t, pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error {
			id, _, err = b.mailer.Enqueue(b.ctx, tx, b.client, leadID, "whitepaper/reminder", "test:after-unsubscribe")
			return err
		}))
		require.Eventually(t, func() bool {
			var status string
			_ = b.pool.QueryRow(b.ctx, `SELECT status FROM messages WHERE id = $1`, id).Scan(&status)
			return status == mail.StatusSuppressed
		}, 10*time.Second, 20*time.Millisecond)
		require.Len(t, b.smtp.Messages(), 1, "nothing more was sent")
	})
}

func ptrTo[T any](v T) *T { return &v }

// TestRequestLogKeepsTokensOut checks that the request log names the route of a
// tracking or unsubscribe link, not its token: a logged token would let whoever reads
// the logs unsubscribe the recipient.
func TestRequestLogKeepsTokensOut(t *testing.T) {
	t.Parallel()
	var logs testlog.Buffer
	signer, err := track.NewSigner([]byte("web-test-secret-0123456789abcdef0123456789"))
	require.NoError(t, err)
	pool := dbtest.New(t)
	set, err := message.Load("../templates")
	require.NoError(t, err)
	mailer := mail.New(mail.Config{BaseURL: "http://localhost", From: "m@example.com",
		Templates: func() *message.Set { return set }, Signer: signer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rec := mailer.NewHitRecorder(pool, 1)
	t.Cleanup(rec.Close)
	s := web.New(web.Config{}, web.Deps{Pool: pool, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Mailer: mailer, Signer: signer, Recorder: rec})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	tok := signer.Sign(track.Token{Kind: track.Unsubscribe, MessageID: 987654})
	for _, path := range []string{"/u/" + tok, "/t/o/" + tok, "/t/c/" + tok} {
		res, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		res.Body.Close()
	}
	require.Eventually(t, func() bool { return strings.Count(logs.String(), "msg=request") == 3 }, 5*time.Second, 10*time.Millisecond, logs.String())
	require.NotContains(t, logs.String(), tok)
	require.Contains(t, logs.String(), "path=/u/:token")
	require.Contains(t, logs.String(), "path=/t/o/:token")
}
