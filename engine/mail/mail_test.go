package mail_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
	gomail "github.com/wneessen/go-mail"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/mail/mailtest"
	"github.com/nurture-dev/nurture/engine/message"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/track"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const testSecret = "test-secret-0123456789abcdef0123456789abcdef"

type testBundle struct {
	ctx    context.Context
	pool   *pgxpool.Pool
	mailer *mail.Mailer
	client *queue.Client
	smtp   *mailtest.Server
	signer *track.Signer
}

type setupOpts struct {
	outbox    bool
	smtp      *mail.SMTPConfig // overrides the test server's
	templates string           // defaults to the shipped ones
	cap       mail.FrequencyCap
}

// quickRetry retries a failed send after 100ms, whatever the attempt.
type quickRetry struct{}

func (quickRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(100 * time.Millisecond)
}

func setup(t *testing.T, opts setupOpts) *testBundle {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.New(t)
	if opts.templates == "" {
		opts.templates = "../../templates"
	}
	set, err := message.Load(opts.templates)
	require.NoError(t, err)
	signer, err := track.NewSigner([]byte(testSecret))
	require.NoError(t, err)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := &testBundle{ctx: ctx, pool: pool, signer: signer}

	var sender mail.Sender
	if !opts.outbox {
		b.smtp = mailtest.NewServer(t)
		cfg, err := mail.ParseSMTPURL(b.smtp.URL())
		require.NoError(t, err)
		if opts.smtp != nil {
			cfg = *opts.smtp
		}
		s := mail.NewSMTPSender(cfg)
		t.Cleanup(func() { _ = s.Close() })
		sender = s
	}
	b.mailer = mail.New(mail.Config{
		BaseURL: "https://nurture.example.com", From: "ナーチャー株式会社 <marketing@nurture.example.com>",
		Templates: func() *message.Set { return set }, Signer: signer, Sender: sender, Cap: opts.cap, Logger: quiet,
	})
	workers := queue.NewWorkers()
	river.AddWorker(workers, &mail.SendWorker{Mailer: b.mailer, Pool: pool})
	b.client, err = queue.New(pool, workers, queue.Config{Logger: quiet, RetryPolicy: quickRetry{}})
	require.NoError(t, err)
	require.NoError(t, b.client.Start(ctx))
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = b.client.Stop(stopCtx)
	})
	return b
}

func ptr[T any](v T) *T { return &v }

// senderFunc is a mail.Sender made of a function.
type senderFunc func(context.Context, *gomail.Msg) error

func (f senderFunc) Send(ctx context.Context, m *gomail.Msg) error { return f(ctx, m) }

func (b *testBundle) lead(t *testing.T, in lead.Input) int64 {
	t.Helper()
	out, err := lead.Upsert(b.ctx, b.pool, "test", []lead.Input{in})
	require.NoError(t, err)
	return out[0].ID
}

func (b *testBundle) enqueue(t *testing.T, leadID int64, template, purpose string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error {
		var err error
		id, _, err = b.mailer.Enqueue(b.ctx, tx, b.client, leadID, template, purpose)
		return err
	}))
	return id
}

// waitStatus waits until the message leaves the queue and returns its status.
func (b *testBundle) waitStatus(t *testing.T, id int64, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var status, errText string
	for time.Now().Before(deadline) {
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT status, error FROM messages WHERE id = $1`, id).Scan(&status, &errText))
		if status == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("message %d is %s (%s), want %s", id, status, errText, want)
}

func (b *testBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(b.ctx, sql, args...).Scan(&n))
	return n
}

// parts splits a received multipart/alternative message into its decoded parts by type.
func parts(t *testing.T, msg *netmail.Message) map[string]string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mt)
	out := map[string]string{}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		ct, cparams, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		require.NoError(t, err)
		require.Equal(t, "utf-8", strings.ToLower(cparams["charset"]), ct)
		raw, err := io.ReadAll(p)
		require.NoError(t, err)
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			raw, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
			require.NoError(t, err)
		}
		out[ct] = string(raw)
	}
	return out
}

func TestSend(t *testing.T) {
	t.Parallel()

	t.Run("DeliversAJapaneseMultipartMessage", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		leadID := b.lead(t, lead.Input{Email: "yamada@example.co.jp", LastName: ptr("山田"), Company: ptr("株式会社サンプル")})
		id := b.enqueue(t, leadID, "whitepaper/thanks", "test:1")
		b.waitStatus(t, id, mail.StatusSent)

		msgs := b.smtp.Wait(t, 1, 5*time.Second)
		require.Len(t, msgs, 1)
		require.Equal(t, []string{"yamada@example.co.jp"}, msgs[0].To)
		msg, err := netmail.ReadMessage(bytes.NewReader(msgs[0].Data))
		require.NoError(t, err)

		var subject, messageID string
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT subject, message_id FROM messages WHERE id = $1`, id).Scan(&subject, &messageID))
		dec := new(mime.WordDecoder)
		gotSubject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
		require.NoError(t, err)
		require.Equal(t, subject, gotSubject)
		require.NotEmpty(t, subject)
		from, err := dec.DecodeHeader(msg.Header.Get("From"))
		require.NoError(t, err)
		require.Contains(t, from, "ナーチャー株式会社")
		require.Equal(t, "<"+messageID+">", msg.Header.Get("Message-ID"))
		require.Contains(t, msg.Header.Get("List-Unsubscribe"), "<https://nurture.example.com/u/")
		require.Contains(t, msg.Header.Get("List-Unsubscribe"), "<mailto:unsubscribe@nurture.example.com?subject=unsubscribe%20")
		require.Equal(t, "List-Unsubscribe=One-Click", msg.Header.Get("List-Unsubscribe-Post"))

		p := parts(t, msg)
		require.Contains(t, p["text/plain"], "山田")
		require.Contains(t, p["text/html"], "山田")
		require.Contains(t, p["text/html"], "https://nurture.example.com/t/o/", "an open pixel")
		require.Contains(t, p["text/html"], "https://nurture.example.com/t/c/", "tracked links")

		require.Equal(t, 1, b.count(t, `SELECT count(*) FROM events WHERE lead_id = $1 AND type = 'email_sent'`, leadID))
	})

	t.Run("SendsOncePerPurpose", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		leadID := b.lead(t, lead.Input{Email: "a@example.com"})
		first := b.enqueue(t, leadID, "whitepaper/thanks", "enrollment:1:step:thanks")
		second := b.enqueue(t, leadID, "whitepaper/thanks", "enrollment:1:step:thanks")
		require.Equal(t, first, second)
		b.waitStatus(t, first, mail.StatusSent)
		time.Sleep(200 * time.Millisecond)
		require.Len(t, b.smtp.Messages(), 1)
	})

	t.Run("AJobRunAgainDoesNotSendAgain", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		leadID := b.lead(t, lead.Input{Email: "once@example.com"})
		id := b.enqueue(t, leadID, "whitepaper/thanks", "test:once")
		b.waitStatus(t, id, mail.StatusSent)
		// As after a crash between the SMTP server's 250 and River's completion.
		_, err := b.client.Insert(b.ctx, mail.SendArgs{MessageID: id}, nil)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			return b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'send' AND state = 'completed'`) == 2
		}, 10*time.Second, 20*time.Millisecond)
		require.Len(t, b.smtp.Messages(), 1)
		require.Equal(t, 1, b.count(t, `SELECT count(*) FROM events WHERE type = 'email_sent'`))
	})

	t.Run("ReconnectsWhenTheServerDroppedAnIdleConnection", func(t *testing.T) {
		t.Parallel()
		srv := mailtest.NewServer(t, mailtest.IdleTimeout(200*time.Millisecond))
		cfg, err := mail.ParseSMTPURL(srv.URL())
		require.NoError(t, err)
		cfg.PoolSize = 1
		b := setup(t, setupOpts{smtp: &cfg})
		leadID := b.lead(t, lead.Input{Email: "idle@example.com"})
		first := b.enqueue(t, leadID, "whitepaper/thanks", "test:idle-1")
		b.waitStatus(t, first, mail.StatusSent)
		time.Sleep(500 * time.Millisecond) // the pooled connection is dropped by now
		second := b.enqueue(t, leadID, "whitepaper/case-study", "test:idle-2")
		b.waitStatus(t, second, mail.StatusSent)
		require.Equal(t, 1, b.count(t, `SELECT attempts FROM messages WHERE id = $1`, second), "no retry was needed")
		require.Len(t, srv.Messages(), 2)
	})

	t.Run("RetriesTemporaryFailures", func(t *testing.T) {
		t.Parallel()
		for _, code := range []int{421, 451} {
			b := setup(t, setupOpts{})
			refusals := 2
			b.smtp.OnRcpt(func(string) error {
				if refusals > 0 {
					refusals--
					return mailtest.Reply(code, "4.3.0 try again later")
				}
				return nil
			})
			leadID := b.lead(t, lead.Input{Email: "retry@example.com"})
			id := b.enqueue(t, leadID, "whitepaper/thanks", "test:retry")
			b.waitStatus(t, id, mail.StatusSent)
			require.Len(t, b.smtp.Messages(), 1, "code %d", code)
			require.Equal(t, 3, b.count(t, `SELECT attempts FROM messages WHERE id = $1`, id), "code %d", code)
			// Without a RSET after each message, a connection whose transaction
			// failed is not used again.
			require.Equal(t, 3, b.smtp.Conns(), "code %d: a connection per attempt", code)
		}
	})

	t.Run("RetriesARefusedConnection", func(t *testing.T) {
		t.Parallel()
		// A port with nothing listening yet: connections are refused.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		cfg, err := mail.ParseSMTPURL("smtp://" + addr + "?tls=none")
		require.NoError(t, err)
		b := setup(t, setupOpts{smtp: &cfg})
		leadID := b.lead(t, lead.Input{Email: "refused@example.com"})
		id := b.enqueue(t, leadID, "whitepaper/thanks", "test:refused")

		require.Eventually(t, func() bool {
			return b.count(t, `SELECT count(*) FROM messages WHERE id = $1 AND error LIKE '%refused%'`, id) == 1
		}, 10*time.Second, 20*time.Millisecond, "the refusal is recorded")
		ln, err = net.Listen("tcp", addr)
		require.NoError(t, err)
		srv := mailtest.Serve(t, ln)
		b.waitStatus(t, id, mail.StatusSent)
		require.Len(t, srv.Messages(), 1)
	})

	t.Run("BouncesSuppressAndStopMail", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.smtp.OnRcpt(func(to string) error {
			if strings.HasPrefix(strings.ToLower(to), "gone@") {
				return mailtest.Reply(550, "5.1.1 user unknown")
			}
			return nil
		})
		leadID := b.lead(t, lead.Input{Email: "Gone@example.com"})
		id := b.enqueue(t, leadID, "whitepaper/thanks", "test:bounce")
		b.waitStatus(t, id, mail.StatusBounced)
		require.Equal(t, 1, b.count(t, `SELECT count(*) FROM suppressions WHERE email = 'gone@example.com' AND reason = 'hard_bounce'`))
		require.Equal(t, 1, b.count(t, `SELECT count(*) FROM events WHERE lead_id = $1 AND type = 'email_bounced' AND properties->>'kind' = 'hard'`, leadID))

		b.smtp.OnRcpt(nil)
		again := b.enqueue(t, leadID, "whitepaper/case-study", "test:after-bounce")
		b.waitStatus(t, again, mail.StatusSuppressed)
		require.Empty(t, b.smtp.Messages(), "a suppressed address gets nothing")
	})

	t.Run("NeverMailsUnsubscribedOrUnconsentedLeads", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		unsub := b.lead(t, lead.Input{Email: "unsub@example.com"})
		_, err := b.pool.Exec(b.ctx, `UPDATE leads SET unsubscribed_at = now() WHERE id = $1`, unsub)
		require.NoError(t, err)
		denied := b.lead(t, lead.Input{Email: "denied@example.com", Consent: ptr(lead.ConsentDenied)})
		manual := b.lead(t, lead.Input{Email: "blocked@example.com"})
		_, err = b.pool.Exec(b.ctx, `INSERT INTO suppressions (email, reason) VALUES ('blocked@example.com', 'manual')`)
		require.NoError(t, err)

		for _, id := range []int64{
			b.enqueue(t, unsub, "whitepaper/thanks", "test:x"),
			b.enqueue(t, denied, "whitepaper/thanks", "test:x"),
			b.enqueue(t, manual, "whitepaper/thanks", "test:x"),
		} {
			b.waitStatus(t, id, mail.StatusSuppressed)
		}
		require.Empty(t, b.smtp.Messages())
	})

	t.Run("PersonalLinksGetASetEach", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		require.NoError(t, os.CopyFS(dir, os.DirFS("../../templates")))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "personal.md"), []byte("---\nsubject: ご案内\npreheader: ご案内です\n---\n"+
			"<a href=\"https://www.nurture.example/seminar?company={{.Lead.Company}}\" data-name=\"seminar\">申し込む</a>\n\n"+
			"<a href=\"https://www.nurture.example/faq\">よくある質問</a>\n"), 0o644))
		b := setup(t, setupOpts{templates: dir})
		companies := []string{"株式会社サンプル", "ACME & Co", "株式会社サンプル"}
		ids := make([]int64, len(companies))
		for i, c := range companies {
			leadID := b.lead(t, lead.Input{Email: fmt.Sprintf("p%d@example.com", i), Company: ptr(c)})
			ids[i] = b.enqueue(t, leadID, "personal", "test:personal")
			b.waitStatus(t, ids[i], mail.StatusSent)
		}
		var sets []int64
		var urls []string
		for _, id := range ids {
			var set int64
			var u string
			require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT s.id, s.links->0->>'url' FROM messages m JOIN link_sets s ON s.id = m.link_set_id
				WHERE m.id = $1`, id).Scan(&set, &u))
			sets, urls = append(sets, set), append(urls, u)
		}
		require.Equal(t, "https://www.nurture.example/seminar?company=ACME & Co", urls[1])
		require.NotEqual(t, sets[0], sets[1], "different links, different sets")
		require.Equal(t, sets[0], sets[2], "the same links, the same set")
		require.Equal(t, 2, b.count(t, `SELECT count(*) FROM link_sets`))

		// Each message's click token names its own set, and the redirect follows it.
		for i, id := range ids {
			res, err := b.mailer.RecordHit(b.ctx, b.pool, track.Token{Kind: track.Click, MessageID: id, Link: 0, LinkSet: sets[i]},
				track.Hit{At: time.Now(), Method: "GET", UserAgent: "Mozilla/5.0"})
			require.NoError(t, err)
			require.Equal(t, urls[i], res.RedirectURL)
		}
		// A link the set lacks is unknown.
		_, err := b.mailer.RecordHit(b.ctx, b.pool, track.Token{Kind: track.Click, MessageID: ids[0], Link: 5, LinkSet: sets[0]},
			track.Hit{At: time.Now(), Method: "GET"})
		require.ErrorIs(t, err, mail.ErrUnknownMessage)
	})

	t.Run("AJobWhoseContextEndsAfterTheSendStillRecordsIt", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		set, err := message.Load("../../templates")
		require.NoError(t, err)
		cfg, err := mail.ParseSMTPURL(b.smtp.URL())
		require.NoError(t, err)
		smtp := mail.NewSMTPSender(cfg)
		t.Cleanup(func() { _ = smtp.Close() })
		ctx, cancel := context.WithCancel(b.ctx)
		// The job's context ends (a timeout, a shutdown) just after the server took
		// the message: a job that returned then would be run again and mail again.
		m := mail.New(mail.Config{BaseURL: "https://nurture.example.com", From: "m@nurture.example.com",
			Templates: func() *message.Set { return set }, Signer: b.signer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Sender: senderFunc(func(sctx context.Context, msg *gomail.Msg) error {
				defer cancel()
				return smtp.Send(sctx, msg)
			})})
		leadID := b.lead(t, lead.Input{Email: "late@example.com"})
		var id int64
		require.NoError(t, b.pool.QueryRow(b.ctx, `INSERT INTO messages (lead_id, purpose, template, to_email, message_id)
			VALUES ($1, 'test:late', 'whitepaper/thanks', 'late@example.com', 'late@nurture.example.com') RETURNING id`, leadID).Scan(&id))
		w := &mail.SendWorker{Mailer: m, Pool: b.pool}
		err = w.Work(ctx, &river.Job[mail.SendArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 12}, Args: mail.SendArgs{MessageID: id}})
		require.NoError(t, err)
		require.Error(t, ctx.Err(), "the context ended during the job")
		var status string
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT status FROM messages WHERE id = $1`, id).Scan(&status))
		require.Equal(t, mail.StatusSent, status, "recorded before the job returned")
		require.Len(t, b.smtp.Messages(), 1)
	})

	t.Run("LinksThatCannotBeStoredAreTriedAgain", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		// The links must be stored before the message goes out: while they cannot
		// be, nothing is sent and the message stays queued, not failed.
		_, err := b.pool.Exec(b.ctx, `ALTER TABLE link_sets RENAME TO link_sets_away`)
		require.NoError(t, err)
		leadID := b.lead(t, lead.Input{Email: "later@example.com"})
		id := b.enqueue(t, leadID, "whitepaper/thanks", "test:later")
		require.Eventually(t, func() bool {
			return b.count(t, `SELECT count(*) FROM river_job WHERE args->>'message_id' = $1::bigint::text AND attempt >= 2`, id) == 1
		}, 10*time.Second, 20*time.Millisecond, "the job is tried again")
		require.Equal(t, 1, b.count(t, `SELECT count(*) FROM messages WHERE id = $1 AND status = 'queued'`, id))
		require.Empty(t, b.smtp.Messages(), "nothing went out without its links stored")
		_, err = b.pool.Exec(b.ctx, `ALTER TABLE link_sets_away RENAME TO link_sets`)
		require.NoError(t, err)
		b.waitStatus(t, id, mail.StatusSent)
		require.Len(t, b.smtp.Messages(), 1)
	})

	t.Run("OutboxKeepsMailOnTheMachine", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{outbox: true})
		leadID := b.lead(t, lead.Input{Email: "a@example.com", LastName: ptr("佐藤")})
		id := b.enqueue(t, leadID, "whitepaper/thanks", "test:outbox")
		b.waitStatus(t, id, mail.StatusOutbox)
		var html string
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT html FROM messages WHERE id = $1`, id).Scan(&html))
		require.Contains(t, html, "佐藤")
	})

	t.Run("SignsWithDKIMIncludingListUnsubscribe", func(t *testing.T) {
		t.Parallel()
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		require.NoError(t, err)
		keyFile := filepath.Join(t.TempDir(), "dkim.pem")
		require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
		signer, err := mail.LoadDKIM(keyFile, "nurture.example.com", "sel1")
		require.NoError(t, err)

		b := setup(t, setupOpts{})
		cfg, err := mail.ParseSMTPURL(b.smtp.URL())
		require.NoError(t, err)
		cfg.DKIM = signer
		b2 := setup(t, setupOpts{smtp: &cfg})
		leadID := b2.lead(t, lead.Input{Email: "dkim@example.com", LastName: ptr("鈴木")})
		id := b2.enqueue(t, leadID, "whitepaper/thanks", "test:dkim")
		b2.waitStatus(t, id, mail.StatusSent)
		msgs := b.smtp.Wait(t, 1, 5*time.Second)

		verifications, err := dkim.VerifyWithOptions(bytes.NewReader(msgs[0].Data), &dkim.VerifyOptions{
			LookupTXT: func(domain string) ([]string, error) {
				require.Equal(t, "sel1._domainkey.nurture.example.com", domain)
				return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
			},
		})
		require.NoError(t, err)
		require.Len(t, verifications, 1)
		require.NoError(t, verifications[0].Err)
		signed := strings.ToLower(strings.Join(verifications[0].HeaderKeys, ","))
		require.Contains(t, signed, "list-unsubscribe")
		require.Contains(t, signed, "list-unsubscribe-post")
	})
}

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw     string
		want    mail.SMTPConfig
		wantErr bool
	}{
		{raw: "smtp://mail.example.com", want: mail.SMTPConfig{Host: "mail.example.com", Port: 587, TLS: "starttls"}},
		{raw: "smtp://u:p%40ss@mail.example.com:2525?tls=none", want: mail.SMTPConfig{Host: "mail.example.com", Port: 2525, TLS: "none", Username: "u", Password: "p@ss"}},
		{raw: "smtp://mail.example.com?tls=tls", want: mail.SMTPConfig{Host: "mail.example.com", Port: 465, TLS: "tls"}},
		{raw: "smtp://mail.example.com?tls=maybe", wantErr: true},
		{raw: "http://mail.example.com", wantErr: true},
		{raw: "smtp://mail.example.com:99999", wantErr: true},
	}
	for _, tt := range tests {
		got, err := mail.ParseSMTPURL(tt.raw)
		if tt.wantErr {
			require.Error(t, err, tt.raw)
			continue
		}
		require.NoError(t, err, tt.raw)
		require.Equal(t, tt.want, got, tt.raw)
	}
}

func TestFrequencyCap(t *testing.T) {
	t.Parallel()

	t.Run("ASecondTransactionWaitsForTheFirstAndSeesItsMessage", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{cap: mail.FrequencyCap{PerDay: 1}})
		leadID := b.lead(t, lead.Input{Email: "raced@example.com"})
		now := time.Now()

		first, err := b.pool.Begin(b.ctx)
		require.NoError(t, err)
		defer first.Rollback(b.ctx) //nolint:errcheck
		until, err := b.mailer.Cap(b.ctx, first, leadID).Reserve("course/day1", now)
		require.NoError(t, err)
		require.True(t, until.IsZero(), "the day's first mail goes")
		_, _, err = b.mailer.Enqueue(b.ctx, first, b.client, leadID, "course/day1", "test:first")
		require.NoError(t, err)

		type reserved struct {
			until time.Time
			err   error
		}
		second := make(chan reserved, 1)
		go func() {
			var r reserved
			r.err = pgx.BeginFunc(b.ctx, b.pool, func(tx pgx.Tx) error {
				r.until, r.err = b.mailer.Cap(b.ctx, tx, leadID).Reserve("course/day2", now)
				return r.err
			})
			second <- r
		}()
		// The second waits for the lead's lock while the first has not committed.
		require.Eventually(t, func() bool {
			select {
			case r := <-second:
				second <- r
				return true // decided without waiting: the assertion below says so
			default:
			}
			var waiting int
			err := b.pool.QueryRow(b.ctx, `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
				WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()`).Scan(&waiting)
			return err == nil && waiting == 1
		}, 10*time.Second, 10*time.Millisecond)
		select {
		case r := <-second:
			t.Fatalf("the second send was decided before the first committed: until %v, error %v", r.until, r.err)
		default:
		}
		require.NoError(t, first.Commit(b.ctx))
		r := <-second
		require.NoError(t, r.err)
		require.WithinDuration(t, now.Add(24*time.Hour), r.until, 2*time.Second, "held until the first is a day old")
	})
}
