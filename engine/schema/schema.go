// Package schema brings a database up to the schema this build of nurture needs: River's
// tables through rivermigrate and nurture's own from the embedded migrations, both under
// one advisory lock so that processes starting together migrate once.
package schema

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/nurture-dev/nurture/migrations"
)

// lockKey is the advisory lock held while migrating ("nurture" in ASCII).
const lockKey int64 = 0x6e757274757265

// versionTable is where tern records the app schema's version.
const versionTable = "public.nurture_schema_version"

// Migrate applies every pending migration, River's first. It is safe to call from
// several processes at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	// The lock is held on a connection of its own, outside the pool: callers waiting
	// for it must not sit on pool connections that River's migrator needs.
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return fmt.Errorf("migrate: take lock: %w", err)
	}

	rm, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: quieter(log)})
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	res, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	for _, v := range res.Versions {
		log.Info("applied River migration", "version", v.Version, "name", v.Name)
	}

	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := m.LoadMigrations(migrations.FS); err != nil {
		return fmt.Errorf("migrate: load migrations: %w", err)
	}
	m.OnStart = func(seq int32, name, direction, _ string) {
		log.Info("applying migration", "version", seq, "name", name)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Version is the app schema's current version and the latest this build knows.
func Version(ctx context.Context, pool *pgxpool.Pool) (current, latest int32, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Release()
	m, err := migrate.NewMigrator(ctx, conn.Conn(), versionTable)
	if err != nil {
		return 0, 0, err
	}
	if err := m.LoadMigrations(migrations.FS); err != nil {
		return 0, 0, err
	}
	current, err = m.GetCurrentVersion(ctx)
	return current, int32(len(m.Migrations)), err
}

// quieter passes on only warnings and errors: River's migrator logs each migration,
// which Migrate already does in its own words.
func quieter(log *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{log.Handler()})
}

type levelFilter struct{ slog.Handler }

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && f.Handler.Enabled(ctx, l)
}

func (f levelFilter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(attrs)}
}

func (f levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(name)}
}
