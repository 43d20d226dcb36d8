package sales

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/crypto/argon2"

	"github.com/nurture-dev/nurture/engine/lead"
	"github.com/nurture-dev/nurture/engine/scenario"
)

// Roles of users.
const (
	RoleAdmin    = "admin"
	RoleMarketer = "marketer"
	RoleSales    = "sales"
)

// Roles lists every role.
var Roles = []string{RoleAdmin, RoleMarketer, RoleSales}

// ErrUserNotFound is returned when a user does not exist.
var ErrUserNotFound = errors.New("user not found")

// ErrUserExists is returned when a user with the email exists already.
var ErrUserExists = errors.New("a user with that email exists already")

// User is a person of ours: an admin, a marketer or a sales rep.
type User struct {
	ID           int64      `json:"id"`
	Email        string     `json:"email"`
	Name         string     `json:"name"`
	Role         string     `json:"role"`
	Active       bool       `json:"active"`
	ManagerID    *int64     `json:"manager_id"`
	Territory    string     `json:"territory"`
	Capacity     int        `json:"capacity"`
	HasPassword  bool       `json:"has_password"`
	CreatedAt    time.Time  `json:"created_at"`
	DisabledAt   *time.Time `json:"disabled_at"`
	ManagerEmail string     `json:"manager_email,omitempty"`
}

// NewUser is a user to add.
type NewUser struct {
	Email, Name, Role string
	// ManagerEmail names the user's manager, who must exist; "" for none.
	ManagerEmail string
	// Territory is an expression over the lead (lead.country == "JP"); "" for none.
	Territory string
	// Capacity is the most open, unaccepted hand-offs the rep holds; 0 is no limit.
	Capacity int
	// Password, when not empty, lets the user log in to the console.
	Password string
}

const userColumns = `u.id, u.email, u.name, u.role, u.active, u.manager_id, u.territory, u.capacity,
	u.password_hash IS NOT NULL, u.created_at, u.disabled_at, coalesce(m.email, '')`

func scanUser(row pgx.Row) (*User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Active, &u.ManagerID, &u.Territory, &u.Capacity,
		&u.HasPassword, &u.CreatedAt, &u.DisabledAt, &u.ManagerEmail)
	return &u, err
}

// AddUser adds a user. A territory must compile; a bad field is a *lead.FieldError.
func AddUser(ctx context.Context, db lead.DB, nu NewUser) (*User, error) {
	nu.Email = strings.TrimSpace(nu.Email)
	nu.Name = strings.TrimSpace(nu.Name)
	if err := lead.CheckEmail(nu.Email); err != nil {
		return nil, &lead.FieldError{Field: "email", Reason: err.Error()}
	}
	if nu.Name == "" || utf8.RuneCountInString(nu.Name) > 200 {
		return nil, &lead.FieldError{Field: "name", Reason: "is required (at most 200 characters)"}
	}
	if !slices.Contains(Roles, nu.Role) {
		return nil, &lead.FieldError{Field: "role", Reason: "must be admin, marketer or sales"}
	}
	if nu.Capacity < 0 {
		return nil, &lead.FieldError{Field: "capacity", Reason: "must be 0 (no limit) or more"}
	}
	if nu.Territory = strings.TrimSpace(nu.Territory); nu.Territory != "" {
		if _, err := scenario.CompileExpr(nu.Territory); err != nil {
			return nil, &lead.FieldError{Field: "territory", Reason: err.Error()}
		}
	}
	var hash *string
	if nu.Password != "" {
		h, err := HashPassword(nu.Password)
		if err != nil {
			return nil, err
		}
		hash = &h
	}
	var managerID *int64
	if nu.ManagerEmail != "" {
		m, err := FindUserByEmail(ctx, db, nu.ManagerEmail)
		if errors.Is(err, ErrUserNotFound) {
			return nil, &lead.FieldError{Field: "manager", Reason: fmt.Sprintf("no user has the email %q", nu.ManagerEmail)}
		}
		if err != nil {
			return nil, err
		}
		managerID = &m.ID
	}
	var id int64
	err := db.QueryRow(ctx, `INSERT INTO users (email, name, role, password_hash, manager_id, territory, capacity)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		nu.Email, nu.Name, nu.Role, hash, managerID, nu.Territory, nu.Capacity).Scan(&id)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return nil, ErrUserExists
	}
	if err != nil {
		return nil, fmt.Errorf("add user: %w", err)
	}
	return FindUserByID(ctx, db, id)
}

// FindUserByID returns the user with the ID, or ErrUserNotFound.
func FindUserByID(ctx context.Context, db lead.DB, id int64) (*User, error) {
	u, err := scanUser(db.QueryRow(ctx, `SELECT `+userColumns+` FROM users u LEFT JOIN users m ON m.id = u.manager_id WHERE u.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrUserNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find user %d: %w", id, err)
	}
	return u, nil
}

// FindUserByEmail returns the user with the email (any case), or ErrUserNotFound.
func FindUserByEmail(ctx context.Context, db lead.DB, email string) (*User, error) {
	u, err := scanUser(db.QueryRow(ctx, `SELECT `+userColumns+` FROM users u LEFT JOIN users m ON m.id = u.manager_id
		WHERE lower(u.email) = lower($1)`, strings.TrimSpace(email)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrUserNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find user %q: %w", email, err)
	}
	return u, nil
}

// FindUsers returns every user, oldest first.
func FindUsers(ctx context.Context, db lead.DB) ([]*User, error) {
	rows, err := db.Query(ctx, `SELECT `+userColumns+` FROM users u LEFT JOIN users m ON m.id = u.manager_id ORDER BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// DisableUser stops a user: no log-in, no new leads. The leads the rep has not
// accepted yet are taken back and handed to others (see Sales.Disable). It reports
// whether the user was active until now.
func DisableUser(ctx context.Context, tx pgx.Tx, email string) (*User, bool, error) {
	var id int64
	err := tx.QueryRow(ctx, `UPDATE users SET active = false, disabled_at = now()
		WHERE lower(email) = lower($1) AND active RETURNING id`, strings.TrimSpace(email)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		u, err := FindUserByEmail(ctx, tx, email)
		return u, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("disable user: %w", err)
	}
	u, err := FindUserByID(ctx, tx, id)
	return u, true, err
}

// Argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword hashes a password with argon2id, in the PHC string format
// ($argon2id$v=19$m=19456,t=2,p=1$salt$hash), so the parameters can be raised later
// and old hashes still verify.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches a hash HashPassword made.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<22 || t > 20 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}
