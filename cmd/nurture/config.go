package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/nurture-dev/nurture/engine/apikey"
	"github.com/nurture-dev/nurture/engine/lang"
	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/queue"
)

// Config is every setting of nurture. Each comes from a NURTURE_* environment variable
// and can be overridden by the flag of the same name (NURTURE_HTTP_ADDR, --http-addr).
type Config struct {
	// DatabaseURL is the PostgreSQL URL. Defaults to empty: a private PostgreSQL is
	// started under DataDir.
	DatabaseURL string
	// DataDir holds the embedded database and generated secrets. Defaults to ./.nurture.
	DataDir string
	// HTTPAddr is where the server listens. Defaults to 127.0.0.1:8080.
	HTTPAddr string
	// BaseURL is the public URL put in tracking and unsubscribe links. Defaults to
	// http://localhost:8080.
	BaseURL string
	// SMTPURL is where mail goes. Defaults to empty: mail stays in the outbox.
	SMTPURL string
	// From is the default sender. Defaults to "Marketing <marketing@example.com>".
	From string
	// Secret is the HMAC key of signed links. Defaults to one generated and kept in
	// DataDir/secret.
	Secret string
	// ScenariosDir and TemplatesDir hold marketers' files. Default to ./scenarios and
	// ./templates.
	ScenariosDir, TemplatesDir string
	// APIKey bootstraps an API key named "bootstrap". Defaults to none.
	APIKey string
	// Role is all, web or worker. Defaults to all.
	Role string
	// ClickSettle is how long a click waits before a scenario believes it. Defaults to 60s.
	ClickSettle time.Duration
	// TrustedProxies are the proxies whose X-Forwarded-For is believed, as a
	// comma-separated list of CIDR networks. Defaults to none.
	TrustedProxies string
	// LogLevel is debug, info, warn or error. Defaults to info.
	LogLevel string
	// LogFormat is text or json. Defaults to text.
	LogFormat string
	// SMTPPool is how many SMTP connections are kept and used at once. Defaults to 4.
	SMTPPool int
	// SendRate is the most messages per second a process sends; 0 is no limit.
	// Defaults to 0.
	SendRate float64
	// DKIMKey is a PEM private key file (RSA or Ed25519); set, every message is signed.
	// Defaults to none.
	DKIMKey string
	// DKIMSelector is the DKIM selector. Defaults to "nurture".
	DKIMSelector string
	// DKIMDomain is the signing domain. Defaults to the domain of NURTURE_FROM.
	DKIMDomain string
	// JobRescue is how long a job may stay running before it is taken for the job of
	// a process that died and run again. Defaults to 5m.
	JobRescue time.Duration
	// WatchInterval is how often serve looks at the scenarios and templates folders
	// for changed files; a change is loaded once it has stayed the same for one more
	// look. Defaults to 2s.
	WatchInterval time.Duration
	// FrequencyCap is the most marketing messages a lead gets from all scenarios in
	// any 24 hours and any 7 days, written "2/day,5/week", "3/week" or "off"; a send
	// step over it waits for the next allowed time. Templates marked transactional
	// are exempt. Defaults to 2/day,5/week.
	FrequencyCap mail.FrequencyCap
	// SalesWebhookURL receives a signed JSON POST (Slack-compatible "text") each time
	// a lead is handed to a sales rep. Defaults to none.
	SalesWebhookURL string
	// SalesWebhookSecret keys the webhook's X-Nurture-Signature; required with
	// SalesWebhookURL, at least 16 characters. Defaults to none.
	SalesWebhookSecret string
	// SalesDigest is when each active sales rep is mailed a digest of the last 24
	// hours (new hot leads, hand-offs waiting for them, score jumps), a cron
	// schedule evaluated in Japan time (Asia/Tokyo), or "off" (nil). Defaults to
	// "0 8 * * MON-FRI": 8:00 on weekdays.
	SalesDigest cron.Schedule
	// Lang is the language of check, simulate, preview and template errors: ja or
	// en. Defaults to the locale's (LC_ALL, LC_MESSAGES or LANG starting with "ja"
	// is Japanese), else English.
	Lang lang.Lang
}

// setting is one NURTURE_* variable and its flag.
type setting struct {
	env, def, usage string
	value           *string
}

func (s setting) flagName() string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s.env, "NURTURE_")), "_", "-")
}

// settings binds the configuration to its variables. Only settings a command uses
// become its flags; all use the same names.
type settings struct {
	all                                                                     []setting
	clickSettle, smtpPool, sendRate, jobRescue, frequencyCap, watchInterval string
	lang, salesDigest                                                       string
	getenv                                                                  func(string) string
}

func newSettings(c *Config) *settings {
	s := &settings{}
	s.all = []setting{
		{"NURTURE_DATABASE_URL", "", "PostgreSQL URL; empty starts a private PostgreSQL under the data dir", &c.DatabaseURL},
		{"NURTURE_DATA_DIR", "./.nurture", "embedded database and generated secrets", &c.DataDir},
		{"NURTURE_HTTP_ADDR", "127.0.0.1:8080", "listen address", &c.HTTPAddr},
		{"NURTURE_BASE_URL", "http://localhost:8080", "public URL used in tracking and unsubscribe links", &c.BaseURL},
		{"NURTURE_SMTP_URL", "", "smtp://user:pass@host:port?tls=none|starttls|tls; empty keeps mail in the outbox", &c.SMTPURL},
		{"NURTURE_FROM", "Marketing <marketing@example.com>", "default From", &c.From},
		{"NURTURE_SECRET", "", "HMAC key for signed links; empty generates one kept in the data dir", &c.Secret},
		{"NURTURE_SCENARIOS_DIR", "./scenarios", "scenario files", &c.ScenariosDir},
		{"NURTURE_TEMPLATES_DIR", "./templates", "email templates", &c.TemplatesDir},
		{"NURTURE_API_KEY", "", "bootstrap API key (at least 16 characters)", &c.APIKey},
		{"NURTURE_ROLE", "all", "all, web or worker", &c.Role},
		{"NURTURE_CLICK_SETTLE", "60s", "how long a click waits before a scenario believes it", &s.clickSettle},
		{"NURTURE_TRUSTED_PROXIES", "", "comma-separated CIDRs of proxies whose X-Forwarded-For is believed", &c.TrustedProxies},
		{"NURTURE_LOG_LEVEL", "info", "debug, info, warn or error", &c.LogLevel},
		{"NURTURE_LOG_FORMAT", "text", "text or json", &c.LogFormat},
		{"NURTURE_SMTP_POOL", "4", "SMTP connections kept and used at once", &s.smtpPool},
		{"NURTURE_SEND_RATE", "0", "most messages per second this process sends; 0 is no limit", &s.sendRate},
		{"NURTURE_DKIM_KEY", "", "PEM private key file (RSA or Ed25519) to DKIM-sign every message", &c.DKIMKey},
		{"NURTURE_DKIM_SELECTOR", "nurture", "DKIM selector", &c.DKIMSelector},
		{"NURTURE_DKIM_DOMAIN", "", "DKIM signing domain; empty uses the domain of NURTURE_FROM", &c.DKIMDomain},
		{"NURTURE_JOB_RESCUE", "5m", "how long a job may run before it is taken for a dead process's and run again (more than 1m)", &s.jobRescue},
		{"NURTURE_WATCH_INTERVAL", "2s", "how often the scenarios and templates folders are looked at for changed files", &s.watchInterval},
		{"NURTURE_SALES_WEBHOOK_URL", "", "URL that gets a signed JSON POST when a lead is handed to sales (Slack-compatible text)", &c.SalesWebhookURL},
		{"NURTURE_SALES_WEBHOOK_SECRET", "", "HMAC key of the sales webhook's X-Nurture-Signature (at least 16 characters)", &c.SalesWebhookSecret},
		{"NURTURE_SALES_DIGEST", DefaultSalesDigest, "when each sales rep gets a digest of hot leads, leads waiting for them and score jumps: a cron schedule in Japan time, or \"off\"", &s.salesDigest},
		{"NURTURE_LANG", "", "language of check, simulate and template errors: ja or en; empty follows the locale (LC_ALL, LC_MESSAGES, LANG)", &s.lang},
		{"NURTURE_FREQUENCY_CAP", mail.DefaultFrequencyCap.String(), "most marketing mails per lead across all scenarios, per day and per week (\"2/day,5/week\", \"3/week\" or \"off\"); transactional templates are exempt", &s.frequencyCap},
	}
	return s
}

// databaseSettings are the settings of commands that only use the database.
var databaseSettings = []string{"NURTURE_DATABASE_URL", "NURTURE_DATA_DIR", "NURTURE_LOG_LEVEL", "NURTURE_LOG_FORMAT"}

// register makes flags of the named settings (all when names is nil), with defaults
// taken from the environment, so that a flag beats its variable and both beat the
// built-in default.
func (s *settings) register(fs *flag.FlagSet, getenv func(string) string, names []string) {
	s.getenv = getenv
	for _, st := range s.all {
		def := st.def
		if v := getenv(st.env); v != "" {
			def = v
		}
		*st.value = def
		if names != nil && !slices.Contains(names, st.env) {
			continue
		}
		usage := fmt.Sprintf("%s (%s", st.usage, st.env)
		if st.def != "" {
			usage += ", default " + st.def
		}
		usage += ")"
		fs.Func(st.flagName(), usage, func(v string) error { *st.value = v; return nil })
	}
}

// language is the language messages are printed in: NURTURE_LANG (or --lang),
// else the locale's.
func (s *settings) language() (lang.Lang, error) {
	if s.lang == "" {
		return lang.FromLocale(s.getenv), nil
	}
	l, err := lang.Parse(s.lang)
	if err != nil {
		return lang.English, fmt.Errorf("NURTURE_LANG: %w", err)
	}
	return l, nil
}

// validate checks the settings once, with errors that name the variable.
func (c *Config) validate(s *settings) error {
	var errs []error
	if l, err := s.language(); err != nil {
		errs = append(errs, err)
	} else {
		c.Lang = l
	}
	d, err := time.ParseDuration(s.clickSettle)
	if err != nil || d < 0 {
		errs = append(errs, fmt.Errorf("NURTURE_CLICK_SETTLE: %q is not a duration such as 60s", s.clickSettle))
	}
	c.ClickSettle = d
	if d, err := time.ParseDuration(s.jobRescue); err != nil || d <= 0 {
		errs = append(errs, fmt.Errorf("NURTURE_JOB_RESCUE: %q is not a duration such as 5m", s.jobRescue))
	} else {
		c.JobRescue = d
	}
	if d, err := time.ParseDuration(s.watchInterval); err != nil || d <= 0 {
		errs = append(errs, fmt.Errorf("NURTURE_WATCH_INTERVAL: %q is not a duration such as 2s", s.watchInterval))
	} else {
		c.WatchInterval = d
	}
	if n, err := strconv.Atoi(s.smtpPool); err != nil || n < 1 || n > 100 {
		errs = append(errs, fmt.Errorf("NURTURE_SMTP_POOL: %q is not a number from 1 to 100", s.smtpPool))
	} else {
		c.SMTPPool = n
	}
	if r, err := strconv.ParseFloat(s.sendRate, 64); err != nil || r < 0 {
		errs = append(errs, fmt.Errorf("NURTURE_SEND_RATE: %q is not a number of messages per second", s.sendRate))
	} else {
		c.SendRate = r
	}
	if fc, err := mail.ParseFrequencyCap(s.frequencyCap); err != nil {
		errs = append(errs, fmt.Errorf("NURTURE_FREQUENCY_CAP: %w", err))
	} else {
		c.FrequencyCap = fc
	}
	if _, err := netmail.ParseAddress(c.From); err != nil {
		errs = append(errs, fmt.Errorf("NURTURE_FROM: %q is not an address such as \"Marketing <marketing@example.com>\"", c.From))
	}
	switch c.Role {
	case queue.RoleAll, queue.RoleWeb, queue.RoleWorker:
	default:
		errs = append(errs, fmt.Errorf("NURTURE_ROLE: %q is not one of all, web, worker", c.Role))
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("NURTURE_BASE_URL: %q is not an http(s) URL", c.BaseURL))
	}
	if c.APIKey != "" && len(c.APIKey) < apikey.MinLength {
		errs = append(errs, fmt.Errorf("NURTURE_API_KEY: must be at least %d characters long", apikey.MinLength))
	}
	if c.SalesWebhookURL != "" {
		if u, err := url.Parse(c.SalesWebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("NURTURE_SALES_WEBHOOK_URL: not an http(s) URL"))
		}
		if len(c.SalesWebhookSecret) < 16 {
			errs = append(errs, errors.New("NURTURE_SALES_WEBHOOK_SECRET: must be set, at least 16 characters, with NURTURE_SALES_WEBHOOK_URL"))
		}
	}
	if sched, err := parseSalesDigest(s.salesDigest); err != nil {
		errs = append(errs, fmt.Errorf("NURTURE_SALES_DIGEST: %w", err))
	} else {
		c.SalesDigest = sched
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			errs = append(errs, errors.New("NURTURE_DATABASE_URL: not a postgres:// URL"))
		}
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("NURTURE_LOG_LEVEL: %w", err))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("NURTURE_LOG_FORMAT: %q is not text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

// DefaultSalesDigest is the sales digest's schedule unless NURTURE_SALES_DIGEST
// says otherwise: 8:00 on weekdays, Japan time.
const DefaultSalesDigest = "0 8 * * MON-FRI"

// parseSalesDigest reads the sales digest's schedule: a five-field cron expression
// (or a descriptor such as @daily) evaluated in Japan time, or "off" for none (nil).
func parseSalesDigest(spec string) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if strings.EqualFold(spec, "off") {
		return nil, nil
	}
	if spec == "" || strings.Contains(spec, "TZ=") {
		return nil, fmt.Errorf("%q is not a cron schedule such as %q (Japan time) or \"off\"", spec, DefaultSalesDigest)
	}
	sched, err := cron.ParseStandard("CRON_TZ=Asia/Tokyo " + spec)
	if err != nil {
		return nil, fmt.Errorf("%q is not a cron schedule such as %q (Japan time) or \"off\": %w", spec, DefaultSalesDigest, err)
	}
	return sched, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

// secret returns the configured secret, or the one kept in the data dir, made on first
// use. It is never logged.
func (c *Config) secret() ([]byte, error) {
	if c.Secret != "" {
		if len(c.Secret) < 32 {
			return nil, errors.New("NURTURE_SECRET: must be at least 32 characters long")
		}
		return []byte(c.Secret), nil
	}
	path := filepath.Join(c.DataDir, "secret")
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	raw := make([]byte, 48)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	b = []byte(base64.RawURLEncoding.EncodeToString(raw))
	// The folder stays enterable by others: the embedded cluster inside it is run by
	// the postgres account when nurture runs as root. The secret itself is private.
	if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
		return nil, err
	}
	// O_EXCL: two processes starting at once must not each write a different secret.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		time.Sleep(50 * time.Millisecond)
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return b, nil
}

// redactURL is a database URL fit for a log: no password.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.Redacted()
}
