// Package dbtest gives tests a real, isolated PostgreSQL database with nurture's schema.
//
// With NURTURE_TEST_DATABASE_URL set, databases are created on that server (the URL's
// user needs CREATEDB). Without it, a throwaway cluster is started from the system's
// PostgreSQL binaries, exactly as `nurture serve` starts its embedded one, in a folder of
// the temporary directory shared by every test binary of a `go test ./...` run. Its
// superuser makes the databases; tests connect, as nurture does, as the role that owns
// them and is not a superuser, so that what needs more than that fails in tests too.
//
// Each call to New creates a fresh database from a migrated template (a file copy, far
// quicker than migrating) and drops it when the test ends. A package using dbtest calls
// Main from its TestMain so that the cluster is released when the package's tests end.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/nurture-dev/nurture/engine/pglocal"
	"github.com/nurture-dev/nurture/engine/schema"
	"github.com/nurture-dev/nurture/migrations"
)

// PoolSize is the most connections a test's pool opens, as many as nurture's own pool
// so that workers are not starved in tests and benchmarks; they are opened on demand.
const PoolSize = 32

// EnvURL names the variable that points tests at an existing server.
const EnvURL = "NURTURE_TEST_DATABASE_URL"

var (
	once     sync.Once
	server   *url.URL // tests' connections; the path is replaced per database
	admin    *url.URL // connections that make and drop databases
	owner    string   // the role that owns the databases, or "" for admin's
	cluster  *pglocal.Cluster
	template string
	setupErr error
)

// Main runs a package's tests and then releases the throwaway cluster, if one was
// started. Call it from TestMain: func TestMain(m *testing.M) { dbtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		if err := cluster.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "dbtest:", err)
		}
	}
	os.Exit(code)
}

// New returns a pool on a fresh, migrated database that is dropped after the test.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(NewURL(t))
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	cfg.MaxConns = PoolSize
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// NewURL creates a fresh, migrated database and returns its URL; it is dropped after
// the test (its connections are ended first).
func NewURL(t testing.TB) string {
	t.Helper()
	once.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("dbtest: %v", setupErr)
	}
	name := "test_" + randomHex(8)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, adminURL("postgres"))
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	defer admin.Close(ctx)
	for attempt := 0; ; attempt++ {
		_, err = admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s%s", name, template, ownerClause()))
		// Two CREATE DATABASE from one template at the same instant can collide (55006).
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || attempt > 50 {
			break
		}
		time.Sleep(time.Duration(10+attempt*5) * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, adminURL("postgres"))
		if err != nil {
			t.Errorf("dbtest: drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: drop %s: %v", name, err)
		}
	})
	return urlFor(name)
}

func setup() error {
	ctx := context.Background()
	if raw := os.Getenv(EnvURL); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" {
			return fmt.Errorf("%s must be a postgres:// URL: %q", EnvURL, raw)
		}
		server, admin = u, u
	} else {
		// "v2": clusters of the earlier layout (a trusted superuser) are left alone for
		// checkouts of earlier versions, whose tests may run beside these.
		dir := filepath.Join(os.TempDir(), "nurture-test-v2-"+strconv.Itoa(os.Getuid()))
		c, err := pglocal.Start(ctx, pglocal.Config{
			Dir:    dir,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			return fmt.Errorf("start throwaway PostgreSQL (set %s to use a server of your own): %w", EnvURL, err)
		}
		cluster = c
		if server, err = url.Parse(c.URL()); err != nil {
			return err
		}
		if admin, err = url.Parse(c.SuperuserURL("postgres")); err != nil {
			return err
		}
		owner = server.User.Username()
	}
	name, err := templateName()
	if err != nil {
		return err
	}
	template = name
	return ensureTemplate(ctx)
}

// templateName changes whenever the migrations do, so a stale template is never used.
func templateName() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	if err != nil {
		return "", err
	}
	rm, err := rivermigrate.New(riverpgxv5.New(nil), nil)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "river:%d", len(rm.AllVersions()))
	// A template's objects keep their owner in every copy.
	fmt.Fprintf(h, "owner:%s", owner)
	return "nurture_tmpl_" + hex.EncodeToString(h.Sum(nil)[:6]), nil
}

func ensureTemplate(ctx context.Context) error {
	admin, err := pgx.Connect(ctx, adminURL("postgres"))
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	// Test binaries of one run start together: one builds the template, the others wait.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(7301)"); err != nil {
		return err
	}
	defer admin.Exec(ctx, "SELECT pg_advisory_unlock(7301)") //nolint:errcheck
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", template).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	building := template + "_building"
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
		return err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+building+ownerClause()); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, urlFor(building))
	if err != nil {
		return err
	}
	err = schema.Migrate(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	pool.Close()
	if err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, template)); err != nil {
		return err
	}
	// Templates of older migrations are no use any more.
	rows, err := admin.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'nurture\\_tmpl\\_%' AND datname <> $1", template)
	if err != nil {
		return err
	}
	old, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, name := range old {
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	}
	return nil
}

// urlFor is the URL tests connect to db with.
func urlFor(db string) string {
	u := *server
	u.Path = "/" + db
	return u.String()
}

// adminURL is the URL that databases are made and dropped with.
func adminURL(db string) string {
	u := *admin
	u.Path = "/" + db
	return u.String()
}

// ownerClause gives a new database to the tests' role, when that is not the admin's.
func ownerClause() string {
	if owner == "" {
		return ""
	}
	return " OWNER " + pgx.Identifier{owner}.Sanitize()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
