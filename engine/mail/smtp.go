package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"golang.org/x/time/rate"
)

// SMTPConfig is where and how mail is delivered.
type SMTPConfig struct {
	Host string
	// Port defaults to 25 without TLS, 587 with STARTTLS and 465 with implicit TLS.
	Port int
	// TLS is "none", "starttls" or "tls" (implicit TLS). Defaults to "starttls".
	TLS                string
	Username, Password string
	// PoolSize is how many connections are kept open and used at once. Defaults to 4.
	PoolSize int
	// Rate is the most messages per second this process sends; 0 is no limit.
	Rate float64
	// Timeout bounds each SMTP conversation step. Defaults to 30 seconds.
	Timeout time.Duration
	// InsecureSkipVerify accepts any server certificate (test servers only).
	InsecureSkipVerify bool
	// DKIM signs every message when set.
	DKIM *gomail.DKIMSigner
}

// ParseSMTPURL reads NURTURE_SMTP_URL: smtp://user:pass@host:port?tls=none|starttls|tls.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "smtp" || u.Hostname() == "" {
		return SMTPConfig{}, errors.New("not an smtp://host:port URL")
	}
	cfg := SMTPConfig{Host: u.Hostname(), TLS: "starttls"}
	q := u.Query()
	if v := q.Get("tls"); v != "" {
		cfg.TLS = v
	}
	switch cfg.TLS {
	case "none":
		cfg.Port = 25
	case "starttls":
		cfg.Port = 587
	case "tls":
		cfg.Port = 465
	default:
		return SMTPConfig{}, fmt.Errorf("tls=%q: want none, starttls or tls", cfg.TLS)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return SMTPConfig{}, fmt.Errorf("port %q is not a port number", p)
		}
		cfg.Port = n
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	if v := q.Get("insecure"); v == "1" || v == "true" {
		cfg.InsecureSkipVerify = true
	}
	return cfg, nil
}

// LoadDKIM reads a PEM private key (RSA or Ed25519) for DKIM signing. The signature
// covers the List-Unsubscribe headers too, as mailbox providers require for one-click
// unsubscribe.
func LoadDKIM(keyFile, domain, selector string) (*gomail.DKIMSigner, error) {
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	key, err := gomail.PrivKeyFromPEM(pem)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	s := gomail.NewDKIMSigner(domain, selector, key)
	// Kept short: go-mail v0.8.1 folds a long h= tag in a way that breaks the
	// signature (seen with eight or more headers); these seven verify.
	s.SignHeaders("from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post")
	return s, nil
}

// SMTPSender delivers through an SMTP server over a pool of reused connections.
type SMTPSender struct {
	cfg     SMTPConfig
	idle    chan *gomail.Client // open connections nobody is using
	slots   chan struct{}       // one per connection that may be open
	limiter *rate.Limiter
}

var _ Sender = (*SMTPSender)(nil)

// NewSMTPSender makes a sender; it connects on first use.
func NewSMTPSender(cfg SMTPConfig) *SMTPSender {
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 4
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	s := &SMTPSender{
		cfg:   cfg,
		idle:  make(chan *gomail.Client, cfg.PoolSize),
		slots: make(chan struct{}, cfg.PoolSize),
	}
	if cfg.Rate > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), max(1, int(cfg.Rate)))
	}
	return s
}

// Describe names the server for logs, without credentials.
func (s *SMTPSender) Describe() string {
	return fmt.Sprintf("smtp://%s:%d (tls=%s, %d connections)", s.cfg.Host, s.cfg.Port, s.cfg.TLS, s.cfg.PoolSize)
}

// Send delivers one message. Its error is a *DeliveryError saying whether to retry.
func (s *SMTPSender) Send(ctx context.Context, m *gomail.Msg) error {
	if s.limiter != nil {
		if err := s.limiter.Wait(ctx); err != nil {
			return &DeliveryError{Temporary: true, Err: err}
		}
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return &DeliveryError{Temporary: true, Err: ctx.Err()}
	}
	defer func() { <-s.slots }()

	c, err := s.conn(ctx)
	if err != nil {
		// go-mail's IsTemp only knows SMTP replies: a refused or dropped connection
		// is as temporary as a 421.
		return &DeliveryError{Temporary: true, Err: fmt.Errorf("connect to %s:%d: %w", s.cfg.Host, s.cfg.Port, err)}
	}
	err = c.Send(m)
	if err != nil && !m.IsDelivered() && brokeBeforeMail(err) {
		// An idle connection the server has closed meanwhile (no NOOP asks first):
		// nothing was sent, so try once on a new one.
		_ = c.Close()
		if c, err = s.dial(ctx); err != nil {
			return &DeliveryError{Temporary: true, Err: fmt.Errorf("connect to %s:%d: %w", s.cfg.Host, s.cfg.Port, err)}
		}
		err = c.Send(m)
	}
	if err == nil || m.IsDelivered() {
		// Delivered: whatever failed after the server took it is not a failed send.
		if err != nil {
			_ = c.Close()
			return nil
		}
		s.idle <- c
		return nil
	}
	// A connection whose transaction failed is not used again: with no RSET after
	// each message, what state the server keeps for it is not known.
	_ = c.Close()
	return classify(err)
}

// brokeBeforeMail reports whether a send failed on the connection itself before the
// server heard of the message: at MAIL FROM, with no reply or with a 421 (the server
// closing the connection, as for one idle too long).
func brokeBeforeMail(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) || (se.Reason != gomail.ErrConnCheck && se.Reason != gomail.ErrSMTPMailFrom) {
		return false
	}
	code := se.ErrorCode()
	return code == 0 || code == 421
}

// conn returns an idle connection, or opens one.
func (s *SMTPSender) conn(ctx context.Context) (*gomail.Client, error) {
	select {
	case c := <-s.idle:
		return c, nil
	default:
	}
	return s.dial(ctx)
}

// dial opens a connection.
func (s *SMTPSender) dial(ctx context.Context) (*gomail.Client, error) {
	opts := []gomail.Option{
		// Each message costs four round trips (MAIL, RCPT, DATA, the message), not
		// seven: no NOOP to check the connection before each message and before the
		// RSET, and no RSET after a message the server took, whose transaction is
		// over anyway (RFC 5321 4.1.1.4). A connection the server dropped meanwhile
		// fails at MAIL FROM, and the message is sent again on a new one.
		gomail.WithoutNoop(),
		gomail.WithoutRset(),
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: s.cfg.Host, InsecureSkipVerify: s.cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12}), //nolint:gosec // only when the URL asks for it
	}
	switch s.cfg.TLS {
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case "tls":
		opts = append(opts, gomail.WithSSL())
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	if s.cfg.DKIM != nil {
		opts = append(opts, gomail.WithAlwaysDKIMSign(s.cfg.DKIM))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return nil, err
	}
	if err := c.DialWithContext(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Close closes the idle connections.
func (s *SMTPSender) Close() error {
	for {
		select {
		case c := <-s.idle:
			_ = c.Close()
		default:
			return nil
		}
	}
}

// DeliveryError is a failed delivery and what to do about it.
type DeliveryError struct {
	// Temporary failures (4xx replies, connection trouble) are retried later.
	Temporary bool
	// Bounce is a permanent rejection of the recipient (5xx to RCPT TO): the address
	// is suppressed.
	Bounce bool
	// Code is the SMTP reply code, 0 when there was none.
	Code int
	Err  error
}

func (e *DeliveryError) Error() string { return e.Err.Error() }
func (e *DeliveryError) Unwrap() error { return e.Err }

func classify(err error) *DeliveryError {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return &DeliveryError{Temporary: true, Err: err}
	}
	code := se.ErrorCode()
	d := &DeliveryError{Code: code, Err: err}
	switch {
	case code >= 400 && code < 500:
		d.Temporary = true
	case code >= 500 && se.Reason == gomail.ErrSMTPRcptTo:
		d.Bounce = true
	case code >= 500:
		// A 5xx to MAIL FROM or DATA rejects this message, not the address.
	default:
		// No reply code: the conversation broke off (EOF, timeout, reset).
		var ne net.Error
		d.Temporary = errors.As(err, &ne) || se.IsTemp() || code == 0
	}
	return d
}

// Domain is the domain of an address, for Message-IDs and DKIM.
func Domain(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.Trim(addr[i+1:], "> ")
	}
	return "localhost"
}
