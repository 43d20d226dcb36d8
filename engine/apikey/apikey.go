// Package apikey issues and checks the bearer keys of the JSON API. A key is shown once
// when it is made; only its SHA-256 hash is stored, so a copy of the database does not
// give anyone access.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrInvalid is returned for a key that does not exist or was revoked.
var ErrInvalid = errors.New("invalid API key")

// ErrRevoked is returned by Ensure for a secret whose key was revoked (it stays
// revoked, and only a new secret brings the name back), and by RevokeByID for a key
// revoked already.
var ErrRevoked = errors.New("the API key was revoked")

// ErrNotFound is returned for a key ID that does not exist.
var ErrNotFound = errors.New("no such API key")

// MinLength is the shortest key accepted, to keep a bootstrap key from being guessable.
const MinLength = 16

// prefix marks keys that nurture generated, so that secret scanners can spot them.
const prefix = "nk_"

// BootstrapName is the name of the key set by NURTURE_API_KEY.
const BootstrapName = "bootstrap"

// DB is a pool or a transaction.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Key is a stored key, without its secret.
type Key struct {
	ID         int64      `db:"id"`
	Name       string     `db:"name"`
	CreatedAt  time.Time  `db:"created_at"`
	LastUsedAt *time.Time `db:"last_used_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
}

const keyColumns = `id, name, created_at, last_used_at, revoked_at`

func hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Create makes a new key and returns it with its secret, which is not stored and
// cannot be shown again. An empty name is made up from the key's ID ("key-7"); the
// bootstrap key's name is NURTURE_API_KEY's and cannot be taken.
func Create(ctx context.Context, db DB, name string) (Key, string, error) {
	name = strings.TrimSpace(name)
	if strings.EqualFold(name, BootstrapName) {
		return Key{}, "", fmt.Errorf("create API key: the name %q is kept for NURTURE_API_KEY", BootstrapName)
	}
	if len(name) > 100 || strings.IndexFunc(name, unicode.IsControl) >= 0 || !utf8.ValidString(name) {
		return Key{}, "", fmt.Errorf("create API key: %.40q is not a name (at most 100 bytes, no control characters)", name)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return Key{}, "", err
	}
	secret := prefix + base64.RawURLEncoding.EncodeToString(b)
	rows, err := db.Query(ctx, `WITH n AS (SELECT nextval(pg_get_serial_sequence('api_keys', 'id')) AS id)
		INSERT INTO api_keys (id, name, hash) SELECT id, coalesce(nullif($1, ''), 'key-' || id), $2 FROM n
		RETURNING `+keyColumns, name, hash(secret))
	if err != nil {
		return Key{}, "", fmt.Errorf("create API key %q: %w", name, err)
	}
	k, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Key])
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "api_keys_name_key" {
		return Key{}, "", fmt.Errorf("create API key: a key named %q exists already", name)
	}
	if err != nil {
		return Key{}, "", fmt.Errorf("create API key %q: %w", name, err)
	}
	return k, secret, nil
}

// Ensure makes secret the key of the given name, replacing the one it had: this is
// how NURTURE_API_KEY bootstraps access, and changing the variable rotates the key.
// A revoked key is never brought back: when secret is the one that was revoked,
// Ensure changes nothing and returns ErrRevoked, so that a restart does not undo a
// revocation.
func Ensure(ctx context.Context, db DB, name, secret string) error {
	if len(secret) < MinLength {
		return fmt.Errorf("an API key must be at least %d characters long", MinLength)
	}
	var revoked bool
	err := db.QueryRow(ctx, `INSERT INTO api_keys (name, hash) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET hash = EXCLUDED.hash,
			revoked_at = CASE WHEN api_keys.hash = EXCLUDED.hash THEN api_keys.revoked_at END
		RETURNING revoked_at IS NOT NULL`, name, hash(secret)).Scan(&revoked)
	if err != nil {
		return fmt.Errorf("store API key %q: %w", name, err)
	}
	if revoked {
		return fmt.Errorf("API key %q: %w", name, ErrRevoked)
	}
	return nil
}

// List returns every key, revoked ones too, in the order they were made.
func List(ctx context.Context, db DB) ([]Key, error) {
	rows, err := db.Query(ctx, `SELECT `+keyColumns+` FROM api_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowToStructByName[Key])
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return keys, nil
}

// RevokeByID stops the key with the given ID from working and returns it. A key that
// was revoked already is returned, unchanged, with ErrRevoked; a missing one is
// ErrNotFound.
func RevokeByID(ctx context.Context, db DB, id int64) (Key, error) {
	rows, err := db.Query(ctx, `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL
		RETURNING `+keyColumns, id)
	if err != nil {
		return Key{}, fmt.Errorf("revoke API key %d: %w", id, err)
	}
	k, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Key])
	if errors.Is(err, pgx.ErrNoRows) {
		rows, err = db.Query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1`, id)
		if err != nil {
			return Key{}, fmt.Errorf("revoke API key %d: %w", id, err)
		}
		k, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Key])
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return Key{}, fmt.Errorf("revoke API key %d: %w", id, ErrNotFound)
		case err == nil:
			return k, fmt.Errorf("revoke API key %d: %w", id, ErrRevoked)
		}
	}
	if err != nil {
		return Key{}, fmt.Errorf("revoke API key %d: %w", id, err)
	}
	return k, nil
}

// Verify returns the key whose secret this is, or ErrInvalid. It notes when a key was
// last used, at most once a minute per key.
func Verify(ctx context.Context, db DB, secret string) (Key, error) {
	if len(secret) < MinLength || len(secret) > 200 {
		return Key{}, ErrInvalid
	}
	var k Key
	var lastUsed *time.Time
	err := db.QueryRow(ctx, `SELECT id, name, last_used_at FROM api_keys WHERE hash = $1 AND revoked_at IS NULL`,
		hash(secret)).Scan(&k.ID, &k.Name, &lastUsed)
	if errors.Is(err, pgx.ErrNoRows) {
		return Key{}, ErrInvalid
	}
	if err != nil {
		return Key{}, fmt.Errorf("verify API key: %w", err)
	}
	if lastUsed == nil || time.Since(*lastUsed) > time.Minute {
		if _, err := db.Exec(ctx, `UPDATE api_keys SET last_used_at = now() WHERE id = $1`, k.ID); err != nil {
			return Key{}, fmt.Errorf("verify API key: %w", err)
		}
	}
	return k, nil
}

// Revoke stops the named key from working.
func Revoke(ctx context.Context, db DB, name string) error {
	tag, err := db.Exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL`, name)
	if err != nil {
		return fmt.Errorf("revoke API key %q: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("revoke API key %q: %w", name, ErrNotFound)
	}
	return nil
}
