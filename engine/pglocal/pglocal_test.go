package pglocal_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/pglocal"
	"github.com/nurture-dev/nurture/engine/schema"
	"github.com/nurture-dev/nurture/engine/testlog"
)

// helperDirEnv, when set, turns the test binary into a helper process that uses the
// cluster in that directory: it prints "ready <reused> <data dir> <url>", waits until its
// stdin is closed, closes the cluster and prints "closed". It stands for a second nurture
// process (a server and an import, say) sharing one cluster.
const helperDirEnv = "PGLOCAL_TEST_HELPER_DIR"

// helperFallbackEnv is the helper's Config.FallbackRoot.
const helperFallbackEnv = "PGLOCAL_TEST_HELPER_FALLBACK"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperDirEnv); dir != "" {
		os.Exit(runHelper(dir))
	}
	// PostgreSQL processes orphaned by a test (the children of a killed postmaster, the
	// server of a helper process that exited) are re-parented to this process rather than
	// to PID 1, so that they can be reaped here instead of staying zombies behind an init
	// that does not reap (as in many containers). It also makes "the server's parent is
	// gone and nobody reaps it" happen the same way on every machine.
	const prSetChildSubreaper = 36
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		fmt.Fprintf(os.Stderr, "pglocal_test: prctl(PR_SET_CHILD_SUBREAPER): %v\n", errno)
	}
	code := m.Run()
	reapPostgresZombies()
	os.Exit(code)
}

func runHelper(dir string) int {
	c, err := pglocal.Start(context.Background(), pglocal.Config{Dir: dir, StartTimeout: 30 * time.Second,
		FallbackRoot: os.Getenv(helperFallbackEnv)})
	if err != nil {
		fmt.Printf("error %s\n", strings.ReplaceAll(err.Error(), "\n", " | "))
		return 1
	}
	fmt.Printf("ready %t %s %s\n", c.Reused(), c.DataDir(), c.URL())
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := c.Close(); err != nil {
		fmt.Printf("error %s\n", strings.ReplaceAll(err.Error(), "\n", " | "))
		return 1
	}
	fmt.Println("closed")
	return 0
}

func TestStart(t *testing.T) {
	t.Parallel()

	type testBundle struct {
		dir    string // a directory the postgres account can enter
		logger *slog.Logger
		logs   *testlog.Buffer
	}

	setup := func(t *testing.T) (*testBundle, context.Context) {
		t.Helper()
		requireBinaries(t)
		logger, logs := testLogger(t)
		dir := traversableDir(t)
		requireNoLeftovers(t, filepath.Join(dir, "pg", "pgdata"))
		return &testBundle{dir: dir, logger: logger, logs: logs}, t.Context()
	}

	t.Run("StartsAndAcceptsConnections", func(t *testing.T) {
		t.Parallel()
		bundle, ctx := setup(t)

		// A name that must be quoted in SQL and escaped in the URL.
		cfg := pglocal.Config{Dir: bundle.dir, Database: "nurture-test db", Logger: bundle.logger}
		c := startCluster(ctx, t, cfg)
		require.False(t, c.Reused())
		require.Equal(t, filepath.Join(bundle.dir, "pg", "pgdata"), c.DataDir())
		require.FileExists(t, filepath.Join(c.DataDir(), "PG_VERSION"))
		require.FileExists(t, filepath.Join(bundle.dir, "pg.start.lock"))
		require.FileExists(t, filepath.Join(bundle.dir, "pg.use.lock"))

		require.Equal(t, "nurture-test db", queryString(ctx, t, c.URL(), "SELECT current_database()"))
		require.Equal(t, "nurture", queryString(ctx, t, c.URL(), "SELECT current_user::text"))
		require.Empty(t, queryString(ctx, t, c.URL(), "SHOW listen_addresses"), "no TCP listener")
		require.Equal(t, "UTF8", queryString(ctx, t, c.URL(), "SHOW server_encoding"))

		pid := postmasterPID(t, c.DataDir())
		require.True(t, processAlive(pid))
		if os.Geteuid() == 0 {
			uid, _ := postgresAccount(t)
			require.Equal(t, uid, processUID(t, pid), "as root, the server runs as the postgres account")
			fi, err := os.Stat(c.DataDir())
			require.NoError(t, err)
			require.Equal(t, uint32(uid), fi.Sys().(*syscall.Stat_t).Uid)
			require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
		}

		execSQL(ctx, t, c.URL(), "CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('survives restart')")
		require.NoError(t, c.Close())
		require.NoError(t, c.Close(), "a second Close is a no-op")
		require.NoFileExists(t, filepath.Join(c.DataDir(), "postmaster.pid"), "the server stopped")
		require.False(t, processAlive(pid))

		c2 := startCluster(ctx, t, cfg)
		require.False(t, c2.Reused())
		require.Equal(t, c.URL(), c2.URL())
		require.NotEqual(t, pid, postmasterPID(t, c2.DataDir()))
		require.Equal(t, "survives restart", queryString(ctx, t, c2.URL(), "SELECT v FROM kept"))
	})

	t.Run("RecoversFromInterruptedInitdb", func(t *testing.T) {
		t.Parallel()
		bundle, ctx := setup(t)

		// The first Start is interrupted (a Ctrl-C) while initdb runs: as soon as initdb
		// has written PG_VERSION in its scratch directory, long before it is done.
		cfg := pglocal.Config{Dir: bundle.dir, Logger: bundle.logger}
		version := filepath.Join(bundle.dir, "pg", "pgdata.init", "PG_VERSION")
		startCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			for startCtx.Err() == nil {
				if _, err := os.Stat(version); err == nil {
					cancel()
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
		_, err := pglocal.Start(startCtx, cfg)
		require.ErrorIs(t, err, context.Canceled)
		require.Contains(t, err.Error(), "pglocal: initdb")
		require.NoFileExists(t, filepath.Join(bundle.dir, "pg", "pgdata", "postmaster.pid"), "no server was started")
		require.NoFileExists(t, filepath.Join(bundle.dir, "pg", "pgdata", "PG_VERSION"), "nothing half-made looks like a cluster")

		c := startCluster(ctx, t, cfg)
		require.False(t, c.Reused())
		require.Equal(t, "nurture", queryString(ctx, t, c.URL(), "SELECT current_database()"))
	})

	t.Run("SecondStartReusesRunningCluster", func(t *testing.T) {
		t.Parallel()
		bundle, ctx := setup(t)

		cfg := pglocal.Config{Dir: bundle.dir, Logger: bundle.logger} // default database
		c1 := startCluster(ctx, t, cfg)
		c2 := startCluster(ctx, t, cfg)
		require.False(t, c1.Reused())
		require.True(t, c2.Reused())
		require.Equal(t, c1.URL(), c2.URL())
		require.Equal(t, c1.DataDir(), c2.DataDir())
		require.Contains(t, bundle.logs.String(), "using running embedded PostgreSQL")

		pid := postmasterPID(t, c1.DataDir())
		require.Equal(t, "nurture", queryString(ctx, t, c1.URL(), "SELECT current_database()"))
		execSQL(ctx, t, c1.URL(), "CREATE TABLE shared (v text)", "INSERT INTO shared VALUES ('from c1')")
		require.Equal(t, "from c1", queryString(ctx, t, c2.URL(), "SELECT v FROM shared"))

		// The process that started the server stops using it first: it stays up.
		require.NoError(t, c1.Close())
		require.Contains(t, bundle.logs.String(), "left running for its other users")
		require.Equal(t, pid, postmasterPID(t, c2.DataDir()))
		require.True(t, processAlive(pid))
		require.Equal(t, "from c1", queryString(ctx, t, c2.URL(), "SELECT v FROM shared"))

		// The last user stops it.
		require.NoError(t, c2.Close())
		require.NoFileExists(t, filepath.Join(c2.DataDir(), "postmaster.pid"))
		require.False(t, processAlive(pid))
	})

	t.Run("RecoversFromCrash", func(t *testing.T) {
		t.Parallel()
		bundle, ctx := setup(t)

		cfg := pglocal.Config{Dir: bundle.dir, Logger: bundle.logger}
		c1 := startCluster(ctx, t, cfg)
		execSQL(ctx, t, c1.URL(), "CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('committed before crash')")

		// An open session: its backend must go away with the postmaster too.
		conn, err := pgx.Connect(ctx, c1.URL())
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close(context.Background()) })

		pid := postmasterPID(t, c1.DataDir())
		reap(crashCluster(t, c1.DataDir())...)
		require.FileExists(t, filepath.Join(c1.DataDir(), "postmaster.pid"), "a crash leaves postmaster.pid behind")

		c2 := startCluster(ctx, t, cfg)
		require.False(t, c2.Reused(), "a dead server is not reused")
		newPID := postmasterPID(t, c2.DataDir())
		require.NotEqual(t, pid, newPID)
		require.True(t, processAlive(newPID))
		require.Equal(t, "committed before crash", queryString(ctx, t, c2.URL(), "SELECT v FROM kept"))
	})

	t.Run("RecoversFromStalePIDFile", func(t *testing.T) {
		t.Parallel()
		bundle, ctx := setup(t)

		cfg := pglocal.Config{Dir: bundle.dir, Logger: bundle.logger}
		c := startCluster(ctx, t, cfg)
		execSQL(ctx, t, c.URL(), "CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('kept')")
		require.NoError(t, c.Close())
		pidFile := filepath.Join(c.DataDir(), "postmaster.pid")
		require.NoFileExists(t, pidFile)

		// A crash leaves postmaster.pid and the socket's lock file, and their PID now
		// belongs to a live process that is not postgres (reused after a reboot, say).
		// PostgreSQL itself would refuse to start ("lock file already exists").
		victim := startSleeper(t)
		sockLock := filepath.Join(filepath.Dir(c.DataDir()), "run", ".s.PGSQL.5432.lock")
		require.NoFileExists(t, sockLock)
		writeStalePIDFile(t, pidFile, victim.pid)
		writeStalePIDFile(t, sockLock, victim.pid)
		c = startCluster(ctx, t, cfg)
		require.False(t, c.Reused())
		require.NotEqual(t, victim.pid, postmasterPID(t, c.DataDir()))
		require.Equal(t, "kept", queryString(ctx, t, c.URL(), "SELECT v FROM kept"))
		require.Contains(t, bundle.logs.String(), `msg="removing stale lock file left by a crash" file=`+pidFile)
		require.Contains(t, bundle.logs.String(), `msg="removing stale lock file left by a crash" file=`+sockLock)
		require.True(t, victim.alive(), "the process holding the stale PID is left alone")
		require.NoError(t, c.Close())

		// A PID that no process has (above this machine's pid_max, if it is the default).
		writeStalePIDFile(t, pidFile, 999999)
		c = startCluster(ctx, t, cfg)
		require.False(t, c.Reused())
		require.Equal(t, "kept", queryString(ctx, t, c.URL(), "SELECT v FROM kept"))
	})

	t.Run("CloseAfterCrashDoesNotSignalReusedPID", func(t *testing.T) {
		t.Parallel()
		bundle, ctx := setup(t)

		c := startCluster(ctx, t, pglocal.Config{Dir: bundle.dir, Logger: bundle.logger})
		pidFile := filepath.Join(c.DataDir(), "postmaster.pid")
		reap(crashCluster(t, c.DataDir())...)

		// The dead server's PID now belongs to some other program.
		victim := startSleeper(t)
		writeStalePIDFile(t, pidFile, victim.pid)
		require.NoError(t, c.Close())
		require.True(t, victim.alive(), "Close must not signal a process that is not the server")
	})

	t.Run("RootFallsBackWhenDirIsPrivate", func(t *testing.T) {
		t.Parallel()
		requireRoot(t)
		bundle, ctx := setup(t)

		private := filepath.Join(bundle.dir, "private")
		require.NoError(t, os.Mkdir(private, 0o700))
		dir := filepath.Join(private, "cluster")
		root := fallbackRoot(t)

		cfg := pglocal.Config{Dir: dir, Logger: bundle.logger, FallbackRoot: root}
		c := startCluster(ctx, t, cfg)
		home := requireFallbackHome(t, root, dir, c)
		require.NoDirExists(t, filepath.Join(dir, "pg"))
		require.FileExists(t, filepath.Join(dir, "pg.start.lock"), "locks stay in Dir")
		logs := bundle.logs.String()
		require.Contains(t, logs, "cannot enter the data dir")
		require.Contains(t, logs, "blocked_at="+private)

		uid, _ := postgresAccount(t)
		requireOwner(t, home, 0, 0o711) // root's: the server's account may only pass through
		for _, d := range []string{c.DataDir(), filepath.Join(home, "run")} {
			requireOwner(t, d, uid, 0o700)
		}
		require.Equal(t, "nurture", queryString(ctx, t, c.URL(), "SELECT current_database()"))

		// The fallback's random name is recorded in Dir, so the cluster is found again.
		execSQL(ctx, t, c.URL(), "CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('kept')")
		require.NoError(t, c.Close())
		c = startCluster(ctx, t, cfg)
		require.Equal(t, filepath.Join(home, "pgdata"), c.DataDir())
		require.Equal(t, "kept", queryString(ctx, t, c.URL(), "SELECT v FROM kept"))
	})

	t.Run("RootFallsBackWhenSocketPathTooLong", func(t *testing.T) {
		t.Parallel()
		requireRoot(t)
		bundle, ctx := setup(t)

		dir := longDir(t, bundle.dir)
		root := fallbackRoot(t)

		c := startCluster(ctx, t, pglocal.Config{Dir: dir, Logger: bundle.logger, FallbackRoot: root})
		requireFallbackHome(t, root, dir, c)
		require.Contains(t, bundle.logs.String(), "too long for a Unix socket")
		require.NoDirExists(t, filepath.Join(dir, "pg"))
		require.Equal(t, "nurture", queryString(ctx, t, c.URL(), "SELECT current_database()"))
	})

	t.Run("UnprivilegedFallsBackWhenSocketPathTooLong", func(t *testing.T) {
		t.Parallel()
		requireRoot(t) // to run a helper process as another account
		bundle, ctx := setup(t)
		uid, gid := postgresAccount(t)

		// The test binary, where the postgres account can run it.
		bin := filepath.Join(traversableDir(t), "pglocal.test")
		copyFile(t, os.Args[0], bin, 0o755)

		dir := longDir(t, bundle.dir)
		require.NoError(t, os.Chown(dir, uid, gid))
		root := fallbackRoot(t)
		require.NoError(t, os.Chmod(root, 0o1777)) // like /var/tmp

		h := startHelper(t, bin, dir, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, helperFallbackEnv+"="+root)
		ready := h.ready(t)
		require.False(t, ready.reused)
		home := filepath.Dir(ready.dataDir)
		require.Equal(t, root, filepath.Dir(home))
		requireOwner(t, home, uid, 0o700) // made by, and private to, the helper's account
		require.Equal(t, "nurture", queryString(ctx, t, ready.url, "SELECT current_database()"))
		pid := postmasterPID(t, ready.dataDir)
		require.Equal(t, uid, processUID(t, pid))

		h.close(t)
		require.False(t, processAlive(pid))
		require.NoFileExists(t, filepath.Join(ready.dataDir, "postmaster.pid"))
	})

	t.Run("FallbackRefusesDirsItDidNotMake", func(t *testing.T) {
		t.Parallel()
		requireRoot(t)
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Skip("no nobody account")
		}
		nobodyUID, _ := strconv.Atoi(nobody.Uid)
		bundle, _ := setup(t)
		private := filepath.Join(bundle.dir, "private")
		require.NoError(t, os.Mkdir(private, 0o700))
		root := fallbackRoot(t)
		require.NoError(t, os.Chmod(root, 0o1777)) // like /var/tmp
		victim := filepath.Join(bundle.dir, "victim")
		require.NoError(t, os.Mkdir(victim, 0o700))

		// Before nurture's first start, a local user takes the name of root's choosing
		// that earlier versions used: with a directory of theirs, where root would put a
		// cluster they could tamper with, or with a link to a directory of root's, which
		// root would give to the postgres account.
		tests := []struct {
			name  string
			plant func(t *testing.T, path string)
		}{
			{"DirOfAnotherUser", func(t *testing.T, path string) {
				require.NoError(t, os.Mkdir(path, 0o777))
				require.NoError(t, os.Chmod(path, 0o777))
				require.NoError(t, os.Chown(path, nobodyUID, nobodyUID))
			}},
			{"SymbolicLink", func(t *testing.T, path string) {
				require.NoError(t, os.Symlink(victim, path))
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				logger, logs := testLogger(t)
				dir := filepath.Join(private, tt.name)
				planted := filepath.Join(root, legacyFallbackName(dir))
				tt.plant(t, planted)

				c := startCluster(ctx, t, pglocal.Config{Dir: dir, Logger: logger, FallbackRoot: root})
				home := requireFallbackHome(t, root, dir, c)
				require.NotEqual(t, planted, home)
				require.Contains(t, logs.String(), "not using a directory made by someone else")
				require.Equal(t, "nurture", queryString(ctx, t, c.URL(), "SELECT current_database()"))
				entries, err := os.ReadDir(planted)
				require.NoError(t, err)
				require.Empty(t, entries, "nothing was put in the planted directory")
			})
		}
		t.Cleanup(func() {
			requireOwner(t, victim, 0, 0o700)
			entries, err := os.ReadDir(victim)
			require.NoError(t, err)
			require.Empty(t, entries, "nothing was put where the link points")
		})
	})

	t.Run("FallbackChecksTheRecordedDir", func(t *testing.T) {
		t.Parallel()
		requireRoot(t)
		bundle, ctx := setup(t)
		dir := longDir(t, bundle.dir)
		root := fallbackRoot(t)

		cfg := pglocal.Config{Dir: dir, Logger: bundle.logger, FallbackRoot: root}
		c := startCluster(ctx, t, cfg)
		home := requireFallbackHome(t, root, dir, c)
		require.NoError(t, c.Close())

		// The recorded directory is not used once it is someone else's.
		require.NoError(t, os.Chown(home, 65534, 65534))
		_, err := pglocal.Start(ctx, cfg)
		require.ErrorContains(t, err, "refusing the embedded cluster's directory")
		require.ErrorContains(t, err, "is owned by uid 65534")
		require.NoError(t, os.Chown(home, 0, 0))

		// Nor is a record naming a directory elsewhere.
		record := filepath.Join(dir, "pg.home")
		require.NoError(t, os.WriteFile(record, []byte(filepath.Join(bundle.dir, legacyFallbackName(dir))+"\n"), 0o600))
		_, err = pglocal.Start(ctx, cfg)
		require.ErrorContains(t, err, "not a cluster directory of "+root)

		require.NoError(t, os.WriteFile(record, []byte(home+"\n"), 0o600))
		c = startCluster(ctx, t, cfg)
		require.Equal(t, filepath.Join(home, "pgdata"), c.DataDir())
	})

	t.Run("RequiresPasswords", func(t *testing.T) {
		t.Parallel()
		bundle, ctx := setup(t)

		c := startCluster(ctx, t, pglocal.Config{Dir: bundle.dir, Logger: bundle.logger})
		requirePasswordRequired(ctx, t, c)

		// The clients' role owns its database and may do nothing beyond.
		require.Equal(t, "nurture", queryString(ctx, t, c.URL(), "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = current_database()"))
		require.Equal(t, "false false false", queryString(ctx, t, c.URL(),
			"SELECT concat_ws(' ', rolsuper::text, rolcreatedb::text, rolcreaterole::text) FROM pg_roles WHERE rolname = current_user"))
		require.Equal(t, "true", queryString(ctx, t, c.SuperuserURL("postgres"), "SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user"))

		// Only the Unix socket, and only with a password.
		require.Equal(t, "local scram-sha-256", queryString(ctx, t, c.SuperuserURL("postgres"),
			"SELECT string_agg(type || ' ' || auth_method, ', ') FROM pg_hba_file_rules"))

		for _, name := range []string{"pg.password", "pg.superuser.password", "pg.start.lock", "pg.use.lock"} {
			requireOwner(t, filepath.Join(bundle.dir, name), os.Geteuid(), 0o600)
		}
		password, err := os.ReadFile(filepath.Join(bundle.dir, "pg.password"))
		require.NoError(t, err)
		require.NotContains(t, bundle.logs.String(), strings.TrimSpace(string(password)))
	})

	t.Run("UpgradesTrustCluster", func(t *testing.T) {
		t.Parallel()

		for _, running := range []bool{false, true} {
			name := "Stopped"
			if running {
				name = "LeftRunningByAnEarlierVersion"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				bundle, ctx := setup(t)
				// The legacy cluster keeps its socket under the data dir, as earlier
				// versions did: a short dir keeps that path within the socket limit
				// whatever TMPDIR is.
				short, err := os.MkdirTemp("", "u")
				require.NoError(t, err)
				require.NoError(t, os.Chmod(short, 0o755)) // the server's account passes through
				t.Cleanup(func() { _ = os.RemoveAll(short) })
				bundle.dir = short
				makeLegacyCluster(ctx, t, bundle.dir, running)

				cfg := pglocal.Config{Dir: bundle.dir, Logger: bundle.logger}
				c := startCluster(ctx, t, cfg)
				require.Equal(t, running, c.Reused())
				require.Contains(t, bundle.logs.String(), "securing an embedded PostgreSQL cluster made by an earlier nurture")
				require.Equal(t, "kept", queryString(ctx, t, c.URL(), "SELECT v FROM kept"))
				requirePasswordRequired(ctx, t, c)
				require.Equal(t, "postgres", queryString(ctx, t, c.SuperuserURL("postgres"), "SELECT rolname::text FROM pg_roles WHERE oid = 10"),
					"the old superuser, owner of the system catalogs, is renamed")

				// The database's objects now belong to the clients' role, so that the next
				// migrations may alter them.
				require.Equal(t, "0", queryString(ctx, t, c.URL(), ownedByOthers))
				execSQL(ctx, t, c.URL(),
					"ALTER TABLE kept ADD COLUMN w text",
					"INSERT INTO kept (v) VALUES ('after the upgrade')",
					"ALTER TYPE mood ADD VALUE 'sad'",
					"ALTER TABLE leads ADD COLUMN upgraded boolean",
					"ALTER TABLE river_job ADD COLUMN upgraded boolean")
				migrate(ctx, t, c.URL())
				require.NoError(t, c.Close())

				c = startCluster(ctx, t, cfg)
				require.Equal(t, 1, strings.Count(bundle.logs.String(), "securing an embedded PostgreSQL cluster"), "upgraded once")
				require.Equal(t, "2", queryString(ctx, t, c.URL(), "SELECT count(*)::text FROM kept"))
			})
		}
	})

	t.Run("SharedAcrossProcesses", func(t *testing.T) {
		t.Parallel()
		bundle, ctx := setup(t)

		h := startHelper(t, os.Args[0], bundle.dir, nil)
		ready := h.ready(t)
		require.False(t, ready.reused)

		c := startCluster(ctx, t, pglocal.Config{Dir: bundle.dir, Logger: bundle.logger})
		require.True(t, c.Reused())
		require.Equal(t, ready.url, c.URL())
		pid := postmasterPID(t, c.DataDir())
		execSQL(ctx, t, c.URL(), "CREATE TABLE shared (v text)", "INSERT INTO shared VALUES ('v')")

		// The process that started the server closes and exits: the server stays up for
		// this one, though its parent is gone.
		h.close(t)
		require.True(t, processAlive(pid))
		require.Equal(t, "v", queryString(ctx, t, c.URL(), "SELECT v FROM shared"))

		// Nobody reaps the orphaned server when it exits; Close must still see it stop.
		t.Cleanup(func() { reap(pid) })
		begin := time.Now()
		require.NoError(t, c.Close())
		require.Less(t, time.Since(begin), 10*time.Second)
		require.False(t, processAlive(pid))
		require.NoFileExists(t, filepath.Join(c.DataDir(), "postmaster.pid"))
	})

	t.Run("RecoversFromCrashOfOrphanedServer", func(t *testing.T) {
		t.Parallel()
		bundle, ctx := setup(t)

		cfg := pglocal.Config{Dir: bundle.dir, Logger: bundle.logger, StartTimeout: 20 * time.Second}

		// The process that started the server crashes: the server runs on, orphaned.
		h := startHelper(t, os.Args[0], bundle.dir, nil)
		ready := h.ready(t)
		execSQL(ctx, t, ready.url, "CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('kept')")
		h.kill(t)

		c1 := startCluster(ctx, t, cfg)
		require.True(t, c1.Reused(), "a server left by a crashed process is used")
		pid := postmasterPID(t, c1.DataDir())
		require.Equal(t, "kept", queryString(ctx, t, c1.URL(), "SELECT v FROM kept"))

		// Then the server crashes too, and stays a zombie: its parent is gone.
		crashed := crashCluster(t, c1.DataDir())
		t.Cleanup(func() { reap(crashed...) })
		require.Contains(t, crashed, pid)
		st, ok := readProcStat(pid)
		require.True(t, ok && st.state == 'Z', "the dead server is a zombie: %+v", st)

		c2 := startCluster(ctx, t, cfg)
		require.False(t, c2.Reused(), "a dead (zombie) server is not reused")
		require.NotEqual(t, pid, postmasterPID(t, c2.DataDir()))
		require.Equal(t, "kept", queryString(ctx, t, c2.URL(), "SELECT v FROM kept"))
	})

	t.Run("NoBinaries", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()

		empty := t.TempDir()
		dir := filepath.Join(t.TempDir(), "cluster")
		_, err := pglocal.Start(ctx, pglocal.Config{Dir: dir, BinDir: empty})
		require.ErrorIs(t, err, pglocal.ErrNoBinaries)
		require.Contains(t, err.Error(), "apt-get install postgresql")
		require.Contains(t, err.Error(), "(looked in "+empty+")")
		require.NoDirExists(t, dir, "nothing is created when there is nothing to run")

		// Half a set (like /usr/local/bin holding only initdb and postgres) is no set.
		partial := t.TempDir()
		for _, name := range []string{"initdb", "postgres"} {
			require.NoError(t, os.WriteFile(filepath.Join(partial, name), []byte("#!/bin/sh\nexit 1\n"), 0o755))
		}
		_, err = pglocal.Start(ctx, pglocal.Config{Dir: dir, BinDir: partial})
		require.ErrorIs(t, err, pglocal.ErrNoBinaries)
		require.Contains(t, err.Error(), "(looked in "+partial+")")
	})

	t.Run("DirRequired", func(t *testing.T) {
		t.Parallel()

		_, err := pglocal.Start(t.Context(), pglocal.Config{})
		require.EqualError(t, err, "pglocal: Config.Dir is required")
	})
}

// TestStartBinarySearch changes PATH, so it cannot run in parallel with other tests.
func TestStartBinarySearch(t *testing.T) {
	t.Run("PATHComesFirst", func(t *testing.T) {
		requireBinaries(t)
		fake := traversableDir(t)
		for _, name := range []string{"initdb", "postgres", "pg_isready", "psql"} {
			script := fmt.Sprintf("#!/bin/sh\necho fake %s from PATH >&2\nexit 3\n", name)
			require.NoError(t, os.WriteFile(filepath.Join(fake, name), []byte(script), 0o755))
		}
		t.Setenv("PATH", fake)
		logger, _ := testLogger(t)

		_, err := pglocal.Start(t.Context(), pglocal.Config{Dir: traversableDir(t), Logger: logger})
		require.Error(t, err)
		require.NotErrorIs(t, err, pglocal.ErrNoBinaries)
		require.Contains(t, err.Error(), "pglocal: initdb")
		require.Contains(t, err.Error(), "fake initdb from PATH")
	})

	t.Run("IncompletePATHDirFallsBackToUsrLib", func(t *testing.T) {
		requireBinaries(t)
		candidates, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
		if len(candidates) == 0 {
			t.Skip("no /usr/lib/postgresql/*/bin to fall back to")
		}
		partial := traversableDir(t)
		require.NoError(t, os.WriteFile(filepath.Join(partial, "initdb"), []byte("#!/bin/sh\nexit 3\n"), 0o755))
		t.Setenv("PATH", partial)
		logger, _ := testLogger(t)

		c := startCluster(t.Context(), t, pglocal.Config{Dir: traversableDir(t), Logger: logger})
		require.Equal(t, "nurture", queryString(t.Context(), t, c.URL(), "SELECT current_database()"))
	})
}

// ownedByOthers counts the objects of the current database's public schema that the
// current role does not own.
const ownedByOthers = `SELECT (
	(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	  WHERE n.nspname = 'public' AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user))
	+ (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	  WHERE n.nspname = 'public' AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user))
	+ (SELECT count(*) FROM pg_type y JOIN pg_namespace n ON n.oid = y.typnamespace
	  WHERE n.nspname = 'public' AND y.typowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user))
	)::text`

// requirePasswordRequired checks that c's roles cannot connect without their password,
// nor with a wrong one.
func requirePasswordRequired(ctx context.Context, t *testing.T, c *pglocal.Cluster) {
	t.Helper()
	for _, url := range []string{c.URL(), c.SuperuserURL("postgres")} {
		for _, password := range []string{"", "wrong"} {
			cfg, err := pgx.ParseConfig(url)
			require.NoError(t, err)
			require.NotEmpty(t, cfg.Password)
			cfg.Password = password
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err == nil {
				_ = conn.Close(ctx)
			}
			require.ErrorContains(t, err, "password authentication failed for user \""+cfg.User+"\"")
		}
	}
}

// migrate runs nurture's migrations (River's and its own) on url.
func migrate(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	defer pool.Close()
	require.NoError(t, schema.Migrate(ctx, pool, slog.New(slog.DiscardHandler)))
}

// makeLegacyCluster makes in dir the cluster that earlier versions made: nurture its
// bootstrap superuser, every local connection trusted, the schema migrated by that
// superuser and a few objects of its own. Unless running, the server is then stopped;
// running, it stands for a server started by a process of an earlier version.
func makeLegacyCluster(ctx context.Context, t *testing.T, dir string, running bool) {
	t.Helper()
	home := filepath.Join(dir, "pg")
	data, sock := filepath.Join(home, "pgdata"), filepath.Join(home, "run")
	require.NoError(t, os.Mkdir(home, 0o755))
	var cred *syscall.Credential
	for _, d := range []string{data, sock} {
		require.NoError(t, os.Mkdir(d, 0o700))
		if os.Geteuid() == 0 {
			uid, gid := postgresAccount(t)
			require.NoError(t, os.Chown(d, uid, gid))
			cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		}
	}
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(serverBinDir(t), name), args...)
		cmd.Env = []string{"LC_ALL=C.UTF-8", "PATH=" + os.Getenv("PATH"), "TZ=UTC"}
		cmd.Dir = sock
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s: %s", name, out)
	}
	run("initdb", "-D", data, "-U", "nurture", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions")
	conf, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fmt.Fprintf(conf, "\nlisten_addresses = ''\nunix_socket_directories = '%s'\nport = 5432\n", sock)
	require.NoError(t, err)
	require.NoError(t, conf.Close())
	run("pg_ctl", "-D", data, "-l", filepath.Join(data, "server.log"), "-w", "-s", "start")

	url := func(db string) string {
		return "postgres://nurture@/" + db + "?host=" + sock + "&port=5432&sslmode=disable"
	}
	execSQL(ctx, t, url("postgres"), "CREATE DATABASE nurture")
	migrate(ctx, t, url("nurture"))
	execSQL(ctx, t, url("nurture"),
		"CREATE TYPE mood AS ENUM ('happy')",
		"CREATE TABLE kept (id serial PRIMARY KEY, v text, m mood)",
		"INSERT INTO kept (v) VALUES ('kept')",
		"CREATE SEQUENCE standalone")
	require.Equal(t, "true", queryString(ctx, t, url("nurture"), "SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user"))
	if !running {
		run("pg_ctl", "-D", data, "-m", "fast", "-w", "-s", "stop")
	}
}

// serverBinDir is where the PostgreSQL server binaries are, as pglocal finds them.
func serverBinDir(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	require.NotEmpty(t, dirs)
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	return dirs[0]
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// startCluster starts a cluster and closes it when the test ends.
func startCluster(ctx context.Context, t *testing.T, cfg pglocal.Config) *pglocal.Cluster {
	t.Helper()
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	c, err := pglocal.Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

func queryString(ctx context.Context, t *testing.T, url, sql string) string {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var s string
	require.NoError(t, conn.QueryRow(ctx, sql).Scan(&s))
	return s
}

func execSQL(ctx context.Context, t *testing.T, url string, statements ...string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	for _, sql := range statements {
		_, err := conn.Exec(ctx, sql)
		require.NoError(t, err, sql)
	}
}

func requireBinaries(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("postgres"); err == nil {
		return
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres"); len(m) > 0 {
		return
	}
	t.Skip("no PostgreSQL server binaries installed")
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

func postgresAccount(t *testing.T) (uid, gid int) {
	t.Helper()
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Skip("no postgres account")
	}
	uid, err = strconv.Atoi(u.Uid)
	require.NoError(t, err)
	gid, err = strconv.Atoi(u.Gid)
	require.NoError(t, err)
	return uid, gid
}

// traversableDir is a t.TempDir that the postgres account can enter: t.TempDir makes
// its directories 0700, which would send the cluster to /var/tmp.
func traversableDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	require.NoError(t, os.Chmod(dir, 0o755))
	return dir
}

// longDir is a directory under parent whose socket path Dir/pg/run/.s.PGSQL.5432 is
// longer than a Unix socket address may be (107 bytes).
func longDir(t *testing.T, parent string) string {
	t.Helper()
	dir := filepath.Join(parent, strings.Repeat("d", 100))
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.Greater(t, len(filepath.Join(dir, "pg", "run", ".s.PGSQL.5432")), 107)
	return dir
}

// fallbackRoot stands for /var/tmp, where a cluster goes when Dir/pg will not do: a
// directory the postgres account can enter, with a path short enough for a socket
// under it (t.TempDir's paths, named after the test, may not be). It is removed when
// the test ends, after the clusters there are closed.
func fallbackRoot(t *testing.T) string {
	t.Helper()
	root, err := os.MkdirTemp("", "pgfb-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(root, 0o755))
	t.Cleanup(func() {
		dataDirs, _ := filepath.Glob(filepath.Join(root, "*", "pgdata"))
		for _, d := range dataDirs {
			if left := clusterProcesses(d); len(left) > 0 {
				for _, pid := range left {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
				t.Errorf("server processes left running in %s: %v", d, left)
			}
		}
		require.NoError(t, os.RemoveAll(root))
	})
	return root
}

// legacyFallbackName is the fixed name under the fallback root that earlier versions
// gave the cluster of dir.
func legacyFallbackName(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return "nurture-pg-" + hex.EncodeToString(sum[:6])
}

// requireFallbackHome checks that c lives in a directory of root with a random name made
// for dir and recorded in dir, and returns that directory.
func requireFallbackHome(t *testing.T, root, dir string, c *pglocal.Cluster) string {
	t.Helper()
	home := filepath.Dir(c.DataDir())
	require.Equal(t, root, filepath.Dir(home))
	require.True(t, strings.HasPrefix(filepath.Base(home), legacyFallbackName(dir)+"-"), home)
	record, err := os.ReadFile(filepath.Join(dir, "pg.home"))
	require.NoError(t, err)
	require.Equal(t, home+"\n", string(record))
	return home
}

// requireOwner checks path's owner and permissions, without following a link.
func requireOwner(t *testing.T, path string, uid int, perm os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	require.Equal(t, uint32(uid), fi.Sys().(*syscall.Stat_t).Uid, path)
	require.Equal(t, perm, fi.Mode().Perm(), path)
}

func postmasterPID(t *testing.T, dataDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	require.NoError(t, err)
	require.Positive(t, pid)
	return pid
}

func writeStalePIDFile(t *testing.T, path string, pid int) {
	t.Helper()
	content := fmt.Sprintf("%d\n%s\n1700000000\n5432\n/nonexistent\n\n  5432001         0\nready   \n", pid, filepath.Dir(path))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
}

type procStat struct {
	state byte
	ppid  int
	comm  string
}

func readProcStat(pid int) (procStat, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, false
	}
	fields := strings.Fields(s[end+1:])
	if len(fields) < 2 {
		return procStat{}, false
	}
	ppid, _ := strconv.Atoi(fields[1])
	return procStat{state: fields[0][0], ppid: ppid, comm: s[open+1 : end]}, true
}

// processAlive reports whether pid is a process that has not exited (a zombie has).
func processAlive(pid int) bool {
	st, ok := readProcStat(pid)
	return ok && st.state != 'Z' && st.state != 'X'
}

func processUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			uid, err := strconv.Atoi(strings.Fields(rest)[1]) // effective
			require.NoError(t, err)
			return uid
		}
	}
	t.Fatalf("no Uid line in /proc/%d/status", pid)
	return 0
}

func listPIDs() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// clusterProcesses lists the live processes of the server in dataDir: the postmaster
// and its children all work in the data directory.
func clusterProcesses(dataDir string) []int {
	want, err := filepath.EvalSymlinks(dataDir)
	if err != nil {
		want = dataDir
	}
	var pids []int
	for _, pid := range listPIDs() {
		if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil && cwd == want {
			pids = append(pids, pid)
		}
	}
	return pids
}

// crashCluster SIGKILLs the postmaster of the server in dataDir and waits until none of
// its processes is left: its children notice that it died and exit, but not at once.
// It returns the server's processes, which may now be zombies to reap.
func crashCluster(t *testing.T, dataDir string) []int {
	t.Helper()
	pid := postmasterPID(t, dataDir)
	procs := clusterProcesses(dataDir)
	require.Contains(t, procs, pid)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool { return len(clusterProcesses(dataDir)) == 0 },
		20*time.Second, 20*time.Millisecond, "server processes still running")
	return procs
}

// reap reaps those of pids that are zombie children of this process (see TestMain).
func reap(pids ...int) {
	self := os.Getpid()
	for _, pid := range pids {
		if st, ok := readProcStat(pid); ok && st.ppid == self && st.state == 'Z' {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
	}
}

// requireNoLeftovers fails the test if, once it has ended, a process of the server in
// dataDir still runs; it kills such processes.
func requireNoLeftovers(t *testing.T, dataDir string) {
	t.Helper()
	t.Cleanup(func() {
		if left := clusterProcesses(dataDir); len(left) > 0 {
			for _, pid := range left {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Errorf("server processes left running in %s: %v", dataDir, left)
		}
	})
}

// reapPostgresZombies reaps exited postgres processes that were re-parented to this
// process (see TestMain).
func reapPostgresZombies() {
	self := os.Getpid()
	for _, pid := range listPIDs() {
		if st, ok := readProcStat(pid); ok && st.ppid == self && st.state == 'Z' && st.comm == "postgres" {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
	}
}

type sleeper struct {
	pid  int
	done chan struct{}
}

// startSleeper runs a process that is not postgres, to hold a PID.
func startSleeper(t *testing.T) *sleeper {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	require.NoError(t, cmd.Start())
	s := &sleeper{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-s.done })
	return s
}

func (s *sleeper) alive() bool {
	select {
	case <-s.done:
		return false
	case <-time.After(100 * time.Millisecond): // a signal sent just before may land late
		return true
	}
}

type helperReady struct {
	reused  bool
	dataDir string
	url     string
}

type helper struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr string
	waited chan error
}

// startHelper runs bin (this test binary) as a helper process using the cluster in dir,
// as cred's account when cred is not nil.
func startHelper(t *testing.T, bin, dir string, cred *syscall.Credential, env ...string) *helper {
	t.Helper()
	stderr := filepath.Join(t.TempDir(), "helper.stderr")
	errf, err := os.Create(stderr)
	require.NoError(t, err)
	defer errf.Close()

	cmd := exec.Command(bin)
	cmd.Env = append([]string{helperDirEnv + "=" + dir, "PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stderr = errf
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Dir = "/"
	}
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	h := &helper{cmd: cmd, stdin: stdin, lines: make(chan string, 16), stderr: stderr, waited: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
		h.waited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		// Let a helper still running close its cluster, rather than orphan the server.
		_ = stdin.Close()
		select {
		case <-h.waited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-h.waited
		}
		if t.Failed() {
			b, _ := os.ReadFile(stderr)
			t.Logf("helper stderr:\n%s", b)
		}
	})
	return h
}

func (h *helper) next(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-h.lines:
		if !ok {
			b, _ := os.ReadFile(h.stderr)
			t.Fatalf("helper exited early; its stderr:\n%s", b)
		}
		return line
	case <-time.After(45 * time.Second):
		t.Fatal("no word from helper in 45s")
		return ""
	}
}

func (h *helper) ready(t *testing.T) helperReady {
	t.Helper()
	line := h.next(t)
	f := strings.Fields(line)
	require.Len(t, f, 4, "helper said %q", line)
	require.Equal(t, "ready", f[0], "helper said %q", line)
	return helperReady{reused: f[1] == "true", dataDir: f[2], url: f[3]}
}

// close makes the helper close its cluster and exit.
func (h *helper) close(t *testing.T) {
	t.Helper()
	require.NoError(t, h.stdin.Close())
	require.Equal(t, "closed", h.next(t))
	select {
	case err := <-h.waited:
		require.NoError(t, err)
		h.waited <- nil
	case <-time.After(30 * time.Second):
		t.Fatal("helper did not exit")
	}
}

// kill crashes the helper: it exits without closing its cluster.
func (h *helper) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, h.cmd.Process.Kill())
	select {
	case err := <-h.waited:
		require.Error(t, err)
		h.waited <- nil
	case <-time.After(30 * time.Second):
		t.Fatal("helper did not exit")
	}
}

func copyFile(t *testing.T, from, to string, perm os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, perm))
}

// testLogger logs to a buffer the test can inspect, and to the test log on failure.
func testLogger(t *testing.T) (*slog.Logger, *testlog.Buffer) {
	t.Helper()
	buf := &testlog.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pglocal log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}
