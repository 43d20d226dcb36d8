// Package session keeps the console's sign-ins: a session is made on login, found
// from its cookie on each request, and ended on logout, on a password change (the
// user's other sessions) or when it expires. Sessions live in the sessions table,
// which this package alone writes; a cookie's secret is stored only as its SHA-256.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-dev/nurture/engine/lead"
)

// ErrNotFound is returned for a cookie that names no live session: unknown, ended
// or expired.
var ErrNotFound = errors.New("session not found")

// Defaults of Config.
const (
	DefaultIdle     = 12 * time.Hour
	DefaultLifetime = 7 * 24 * time.Hour
)

// Config is how long sessions last.
type Config struct {
	// Idle is how long a session lives unused. Defaults to DefaultIdle (12 hours).
	Idle time.Duration
	// Lifetime is how long a session lives however much it is used. Defaults to
	// DefaultLifetime (7 days).
	Lifetime time.Duration
}

func (c Config) withDefaults() Config {
	if c.Idle <= 0 {
		c.Idle = DefaultIdle
	}
	if c.Lifetime <= 0 {
		c.Lifetime = DefaultLifetime
	}
	return c
}

// Session is a signed-in user's session.
type Session struct {
	// Hash is the SHA-256 of the cookie's secret: the session's key.
	Hash       []byte
	UserID     int64
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// CheckCSRF reports whether token is the session's synchronizer token.
func (s *Session) CheckCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRFToken)) == 1
}

// randomToken is 32 random bytes, base64url without padding.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hash is the stored key of a cookie secret.
func hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Create starts a session for a user at now and returns the cookie's secret, which
// is stored nowhere: only its hash is.
func Create(ctx context.Context, db lead.DB, cfg Config, userID int64, ip, userAgent string, now time.Time) (string, *Session, error) {
	cfg = cfg.withDefaults()
	secret, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	s := &Session{Hash: hash(secret), UserID: userID, CSRFToken: csrf, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(min(cfg.Idle, cfg.Lifetime))}
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	// A user's dead sessions go when the user signs in again: the table keeps
	// only what may still be used, and what is left of users who never return.
	if _, err := db.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND (expires_at <= $2 OR ends_at <= $2)`, userID, now); err != nil {
		return "", nil, fmt.Errorf("create session for user %d: %w", userID, err)
	}
	_, err = db.Exec(ctx, `INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, ends_at, ip, user_agent)
		VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8)`, s.Hash, userID, csrf, now, s.ExpiresAt, now.Add(cfg.Lifetime), ip, userAgent)
	if err != nil {
		return "", nil, fmt.Errorf("create session for user %d: %w", userID, err)
	}
	return secret, s, nil
}

// touchEvery is how stale last_seen_at may grow before a request writes it: a page
// of the console does not cost a write each.
const touchEvery = time.Minute

// Find returns the live session of a cookie's secret at now, and extends its idle
// expiry (never past its lifetime). An unknown, ended or expired session is
// ErrNotFound.
func Find(ctx context.Context, db lead.DB, cfg Config, secret string, now time.Time) (*Session, error) {
	cfg = cfg.withDefaults()
	if secret == "" || len(secret) > 100 {
		return nil, ErrNotFound
	}
	s := &Session{Hash: hash(secret)}
	var endsAt time.Time
	err := db.QueryRow(ctx, `SELECT user_id, csrf_token, created_at, last_seen_at, expires_at, ends_at FROM sessions
		WHERE id_hash = $1 AND expires_at > $2 AND ends_at > $2`, s.Hash, now).
		Scan(&s.UserID, &s.CSRFToken, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &endsAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	if now.Sub(s.LastSeenAt) >= touchEvery {
		s.LastSeenAt = now
		s.ExpiresAt = now.Add(cfg.Idle)
		if s.ExpiresAt.After(endsAt) {
			s.ExpiresAt = endsAt
		}
		if _, err := db.Exec(ctx, `UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id_hash = $1`,
			s.Hash, now, s.ExpiresAt); err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
	}
	return s, nil
}

// Delete ends the session of a cookie's secret (logout). An unknown one is no error.
func Delete(ctx context.Context, db lead.DB, secret string) error {
	if _, err := db.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, hash(secret)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// EndOthers ends every session of a user but keep (the hash of the session that
// stays, nil for none), as a password change must, in the caller's transaction. It
// returns how many it ended.
func EndOthers(ctx context.Context, tx pgx.Tx, userID int64, keep []byte) (int64, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND ($2::bytea IS NULL OR id_hash <> $2)`, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("end sessions of user %d: %w", userID, err)
	}
	return tag.RowsAffected(), nil
}

// DeleteExpired removes the sessions dead at now, and returns how many.
func DeleteExpired(ctx context.Context, db lead.DB, now time.Time) (int64, error) {
	tag, err := db.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR ends_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}
