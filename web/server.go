// Package web is nurture's HTTP edge: the JSON API, tracking and unsubscribe
// endpoints, the console, and health. Handlers decode a request, call one engine
// function and encode its answer; echo stays inside this package.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/nurture-dev/nurture/engine/mail"
	"github.com/nurture-dev/nurture/engine/queue"
	"github.com/nurture-dev/nurture/engine/sales"
	"github.com/nurture-dev/nurture/engine/score"
	"github.com/nurture-dev/nurture/engine/session"
	"github.com/nurture-dev/nurture/engine/track"
)

// Config is how the HTTP server behaves.
type Config struct {
	// TrustedProxies are the networks of reverse proxies whose X-Forwarded-For is
	// believed. Defaults to none: the client IP is the connection's peer.
	TrustedProxies []*net.IPNet
	// BodyLimit is the largest request body accepted, as echo writes it ("1M").
	// Defaults to 1M.
	BodyLimit string
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// AuthFailureBurst is how many wrong API keys one client IP (an IPv6 /64) may send
	// in a row before it is answered 429 Too Many Requests. Defaults to 10.
	AuthFailureBurst int
	// AuthFailureInterval is how often such a client earns one more try. Defaults to
	// 6s: ten a minute.
	AuthFailureInterval time.Duration
	// HealthInterval is how often the database and the queue are checked for
	// /healthz, which answers from the latest check. Defaults to 5s.
	HealthInterval time.Duration
	// SecureCookies marks the console's cookies Secure, so that browsers send them
	// over https only; set it when the public URL is https. Defaults to false.
	SecureCookies bool
	// Session is how long console sessions last. Defaults to session's defaults:
	// 12 hours unused, 7 days in all.
	Session session.Config
	// LoginFailureBurst is how many wrong passwords one console account may get in
	// a row before its logins are refused for a while; a client IP (an IPv6 /64) may
	// get twice as many, over any accounts. Defaults to 5.
	LoginFailureBurst int
	// LoginFailureInterval is how often such an account or IP earns one more try.
	// Defaults to 1 minute.
	LoginFailureInterval time.Duration
}

// maxAuthClients is how many client IPs the failed-authentication limiter remembers.
const maxAuthClients = 10_000

// Deps are what the handlers use.
type Deps struct {
	Pool  *pgxpool.Pool
	Queue *queue.Client
	// Working is whether this process works jobs, for the health report.
	Working bool
	Logger  *slog.Logger
	// Mailer and Signer serve tracking and unsubscribe links; without them those
	// routes are not served.
	Mailer   *mail.Mailer
	Signer   *track.Signer
	Recorder *mail.HitRecorder
	// Scorer explains scores with the model in use; nil uses the default model.
	Scorer *score.Scorer
	// Sales serves the hand-off pages and API; without it those routes are not
	// served.
	Sales *sales.Sales
}

// Server is nurture's HTTP server.
type Server struct {
	cfg          Config
	deps         Deps
	log          *slog.Logger
	echo         *echo.Echo
	http         *http.Server
	authFailures *failureLimiter
	// loginFailures and accountFailures limit wrong console passwords per client
	// IP and per account.
	loginFailures   *failureLimiter
	accountFailures *failureLimiter
	health          *healthMonitor
}

// New builds the server and its routes.
func New(cfg Config, deps Deps) *Server {
	if cfg.BodyLimit == "" {
		cfg.BodyLimit = "1M"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AuthFailureBurst <= 0 {
		cfg.AuthFailureBurst = 10
	}
	if cfg.AuthFailureInterval <= 0 {
		cfg.AuthFailureInterval = 6 * time.Second
	}
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = 5 * time.Second
	}
	if cfg.LoginFailureBurst <= 0 {
		cfg.LoginFailureBurst = 5
	}
	if cfg.LoginFailureInterval <= 0 {
		cfg.LoginFailureInterval = time.Minute
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Logger,
		authFailures:    newFailureLimiter(cfg.AuthFailureInterval, cfg.AuthFailureBurst, maxAuthClients),
		loginFailures:   newFailureLimiter(cfg.LoginFailureInterval/2, 2*cfg.LoginFailureBurst, maxAuthClients),
		accountFailures: newFailureLimiter(cfg.LoginFailureInterval, cfg.LoginFailureBurst, maxAuthClients)}
	s.health = newHealthMonitor(s.checkHealth, cfg.HealthInterval)
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	s.echo = e
	s.routes()
	s.http = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(deps.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler is the server's HTTP handler, for tests and benchmarks.
func (s *Server) Handler() http.Handler { return s.echo }

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for requests in flight to finish,
// then stops the health checks.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	s.health.Close()
	return err
}

// ipExtractor believes X-Forwarded-For only from the configured proxies; with none,
// the peer address is the client, so a client cannot choose the IP we record.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// ParseCIDRs parses a comma-separated list of networks or addresses.
func ParseCIDRs(s string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			ip := net.ParseIP(part)
			if ip == nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR network", part)
			}
			bits := 128
			if ip.To4() != nil {
				bits = 32
			}
			part = fmt.Sprintf("%s/%d", part, bits)
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR network", part)
		}
		out = append(out, n)
	}
	return out, nil
}

// middlewares are the ones every request goes through.
func (s *Server) middlewares() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{
		middleware.RequestID(),
		middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
			LogStatus: true, LogURIPath: true, LogMethod: true, LogLatency: true,
			LogRemoteIP: true, LogRequestID: true, LogError: true, HandleError: true,
			LogResponseSize: true,
			LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
				level := slog.LevelInfo
				switch {
				case v.Status >= 500:
					level = slog.LevelError
				case v.Status >= 400:
					level = slog.LevelWarn
				}
				// The path only: query strings may carry tokens or personal data. A
				// signed token in the path is a capability (an unsubscribe link): the
				// route stands for it.
				path := v.URIPath
				if route := c.Path(); strings.Contains(route, ":token") {
					path = route
				}
				attrs := []slog.Attr{
					slog.String("method", v.Method), slog.String("path", path),
					slog.Int("status", v.Status), slog.Duration("latency", v.Latency),
					slog.String("ip", v.RemoteIP), slog.String("request_id", v.RequestID),
					slog.Int64("bytes", v.ResponseSize),
				}
				if v.Error != nil && v.Status >= 500 {
					attrs = append(attrs, slog.String("error", v.Error.Error()))
				}
				s.log.LogAttrs(c.Request().Context(), level, "request", attrs...)
				return nil
			},
		}),
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				s.log.Error("panic in handler", "path", c.Request().URL.Path, "error", err, "stack", string(stack))
				return err
			},
		}),
		middleware.BodyLimit(s.cfg.BodyLimit),
	}
}
