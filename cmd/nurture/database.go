package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nurture-dev/nurture/engine/pglocal"
	"github.com/nurture-dev/nurture/engine/schema"
)

// database is an open, migrated database and, when embedded, its private cluster.
type database struct {
	Pool    *pgxpool.Pool
	cluster *pglocal.Cluster
}

// openDatabase connects to NURTURE_DATABASE_URL, or starts (or joins) the embedded
// cluster under the data dir, then migrates the schema.
func openDatabase(ctx context.Context, cfg *Config, log *slog.Logger) (*database, error) {
	db := &database{}
	url := cfg.DatabaseURL
	if url == "" {
		dir, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		c, err := pglocal.Start(ctx, pglocal.Config{Dir: dir, Database: "nurture", Logger: log})
		if err != nil {
			return nil, fmt.Errorf("embedded database: %w", err)
		}
		db.cluster = c
		url = c.URL()
		log.Info("embedded PostgreSQL ready", "data_dir", c.DataDir(), "reused", c.Reused())
	} else {
		log.Info("using database", "url", redactURL(url))
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("NURTURE_DATABASE_URL: %w", err)
	}
	pcfg.ConnConfig.RuntimeParams["application_name"] = "nurture"
	// pgx defaults to max(4, CPUs) connections, too few for the job workers (River's
	// own machinery, step and send workers) and HTTP handlers of one process.
	if !strings.Contains(url, "pool_max_conns") {
		pcfg.MaxConns = 32
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	db.Pool = pool
	if err := schema.Migrate(ctx, pool, log); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the pool and releases the embedded cluster, which stops when no other
// nurture process uses it.
func (db *database) Close() {
	if db.Pool != nil {
		db.Pool.Close()
	}
	if db.cluster != nil {
		if err := db.cluster.Close(); err != nil {
			slog.Error("stop embedded PostgreSQL", "error", err)
		}
	}
}
