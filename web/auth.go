package web

import (
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/nurture-dev/nurture/engine/apikey"
)

// requireAPIKey lets a request through only with a valid bearer key.
func (s *Server) requireAPIKey(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key, err := s.authenticate(c)
		if err != nil {
			return err
		}
		c.Set("api_key", key.Name)
		return next(c)
	}
}

// authenticate checks the request's bearer key. A client IP that sent too many wrong
// keys is answered 429 without the key being looked at, so that keys cannot be
// guessed at the speed of the database; a right key costs nothing, but is not looked
// at either while the IP is held back.
func (s *Server) authenticate(c echo.Context) (apikey.Key, error) {
	scheme, secret, ok := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return apikey.Key{}, newAPIError(http.StatusUnauthorized, "", "missing API key: send Authorization: Bearer <key>")
	}
	client := clientKey(c.RealIP())
	if wait := s.authFailures.wait(client, s.cfg.Now()); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return apikey.Key{}, newAPIError(http.StatusTooManyRequests, "", "too many wrong API keys from this address: try again in %d seconds", secs)
	}
	key, err := apikey.Verify(c.Request().Context(), s.deps.Pool, strings.TrimSpace(secret))
	if errors.Is(err, apikey.ErrInvalid) {
		s.authFailures.fail(client, s.cfg.Now())
	}
	return key, err
}

// clientKey is whom failures are counted against: the IP, or for IPv6 its /64, the
// block one subscriber usually holds whole.
func clientKey(ip string) string {
	parsed := net.ParseIP(ip)
	if parsed == nil || parsed.To4() != nil {
		return ip
	}
	return parsed.Mask(net.CIDRMask(64, 128)).String()
}

// failureLimiter is a token bucket of failures per client. Only failures take a token;
// a client with none left waits for the next.
type failureLimiter struct {
	every time.Duration
	burst int
	// most is how many clients are remembered; when full, clients whose bucket has
	// refilled are forgotten (they lose nothing), and if none has, one at random.
	most int

	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

func newFailureLimiter(every time.Duration, burst, most int) *failureLimiter {
	return &failureLimiter{every: every, burst: burst, most: most, clients: make(map[string]*rate.Limiter)}
}

// wait returns how long client must wait before its key is checked: 0 when it may
// try now.
func (l *failureLimiter) wait(client string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.clients[client]
	if !ok {
		return 0
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(l.every))
}

// fail takes a token from client's bucket.
func (l *failureLimiter) fail(client string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.clients[client]
	if !ok {
		if len(l.clients) >= l.most {
			l.forget(now)
		}
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.clients[client] = lim
	}
	lim.AllowN(now, 1)
}

func (l *failureLimiter) forget(now time.Time) {
	for k, lim := range l.clients {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.clients, k)
		}
	}
	for k := range l.clients {
		if len(l.clients) < l.most {
			return
		}
		delete(l.clients, k)
	}
}
