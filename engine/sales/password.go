package sales

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/nurture-dev/nurture/engine/lead"
)

// ErrBadCredentials is a login that failed: no such user, no password, a disabled
// user or a wrong password, which the caller must not tell apart.
var ErrBadCredentials = errors.New("wrong email or password")

// MinPasswordLength is the shortest password a user may set.
const MinPasswordLength = 12

// dummyHash is checked against when the user does not exist, so that a login for
// an unknown email takes as long as one with a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("not a password of anyone")
	return h
})

// Authenticate returns the active user whose email and password these are, or
// ErrBadCredentials.
func Authenticate(ctx context.Context, db lead.DB, email, password string) (*User, error) {
	var id int64
	var hash *string
	var active bool
	err := db.QueryRow(ctx, `SELECT id, password_hash, active FROM users WHERE lower(email) = lower($1)`,
		strings.TrimSpace(email)).Scan(&id, &hash, &active)
	if errors.Is(err, pgx.ErrNoRows) {
		CheckPassword(dummyHash(), password)
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("log in: %w", err)
	}
	if hash == nil {
		CheckPassword(dummyHash(), password)
		return nil, ErrBadCredentials
	}
	if !CheckPassword(*hash, password) || !active {
		return nil, ErrBadCredentials
	}
	return FindUserByID(ctx, db, id)
}

// CheckNewPassword says what is wrong with a password a user wants to set, as a
// *lead.FieldError, or nil.
func CheckNewPassword(password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return &lead.FieldError{Field: "password", Reason: fmt.Sprintf("must be at least %d characters", MinPasswordLength)}
	}
	if len(password) > 1024 {
		return &lead.FieldError{Field: "password", Reason: "must be at most 1024 bytes"}
	}
	return nil
}

// SetPassword sets a user's password in the caller's transaction. The caller ends
// the user's other sessions in the same transaction (session.EndOthers), so that a
// stolen session dies with the old password.
func SetPassword(ctx context.Context, tx pgx.Tx, userID int64, password string) error {
	if err := CheckNewPassword(password); err != nil {
		return err
	}
	h, err := HashPassword(password)
	if err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, h)
	if err != nil {
		return fmt.Errorf("set password of user %d: %w", userID, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrUserNotFound
	}
	return nil
}
