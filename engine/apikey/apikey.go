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
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrInvalid is returned for a key that does not exist or was revoked.
var ErrInvalid = errors.New("invalid API key")

// MinLength is the shortest key accepted, to keep a bootstrap key from being guessable.
const MinLength = 16

// prefix marks keys that nurture generated, so that secret scanners can spot them.
const prefix = "nk_"

// BootstrapName is the name of the key set by NURTURE_API_KEY.
const BootstrapName = "bootstrap"

// DB is a pool or a transaction.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Key is a stored key, without its secret.
type Key struct {
	ID   int64
	Name string
}

func hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Create makes a new key with the given name and returns its secret, which is not
// stored and cannot be shown again.
func Create(ctx context.Context, db DB, name string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := prefix + base64.RawURLEncoding.EncodeToString(b)
	if _, err := db.Exec(ctx, `INSERT INTO api_keys (name, hash) VALUES ($1, $2)`, name, hash(secret)); err != nil {
		return "", fmt.Errorf("create API key %q: %w", name, err)
	}
	return secret, nil
}

// Ensure makes secret the key of the given name, replacing the one it had: this is
// how NURTURE_API_KEY bootstraps access, and changing the variable rotates the key.
func Ensure(ctx context.Context, db DB, name, secret string) error {
	if len(secret) < MinLength {
		return fmt.Errorf("an API key must be at least %d characters long", MinLength)
	}
	_, err := db.Exec(ctx, `INSERT INTO api_keys (name, hash) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET hash = EXCLUDED.hash, revoked_at = NULL`, name, hash(secret))
	if err != nil {
		return fmt.Errorf("store API key %q: %w", name, err)
	}
	return nil
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
		return fmt.Errorf("revoke API key %q: no such key", name)
	}
	return nil
}
