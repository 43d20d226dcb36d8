// Package pglocal runs a private PostgreSQL cluster from the system's own server
// binaries (initdb and postgres), so that nurture works with no database set up.
//
// A cluster lives in a directory. The first Start creates it with initdb; later ones
// reuse it. Several processes may use one cluster at once (a server and an import, say):
// the one that finds it stopped starts it, the others connect to it, and the last one to
// Close stops it. A postmaster.pid left behind by a crash is cleared before a start.
// Clients connect over a Unix socket only, so no TCP port is opened or needed.
//
// Every connection needs a password (scram-sha-256). The bootstrap superuser (postgres)
// only sets the cluster up; clients connect as the role nurture, which owns the database
// and is not a superuser. Both passwords are kept in private (0600) files in Dir, where
// every process sharing the cluster finds them. Clusters made by earlier versions, which
// trusted local connections, are upgraded in place on their next start.
//
// As root, initdb and postgres refuse to run; the cluster is then owned and run by an
// unprivileged account (postgres, or nobody).
package pglocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoBinaries is returned when no initdb/postgres pair is found.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries (initdb, postgres) found on PATH or under /usr/lib/postgresql/*/bin: install them (Debian: apt-get install postgresql) or set NURTURE_DATABASE_URL")

// Config says where a cluster lives and how to start it.
type Config struct {
	// Dir is the cluster's directory. It is created if missing. Required.
	Dir string

	// Database is the database created for clients. Defaults to "nurture".
	Database string

	// BinDir is where initdb and postgres are. Defaults to a search of PATH, then of
	// /usr/lib/postgresql/*/bin, newest version first.
	BinDir string

	// StartTimeout bounds how long a start may take. Defaults to 60 seconds.
	StartTimeout time.Duration

	// FallbackRoot is where the cluster goes when the server's account cannot reach Dir
	// or a socket path under Dir would be too long: into a private directory of a random
	// name made there, whose path is recorded in Dir. It must be a directory that the
	// server's account can enter. Defaults to /var/tmp.
	FallbackRoot string

	// Logger receives what the cluster does. Defaults to slog.Default().
	Logger *slog.Logger
}

// Cluster is a running cluster that this process uses. Close releases it.
type Cluster struct {
	cfg     Config
	dataDir string // the PGDATA directory
	sockDir string
	user    *account // nil when not running as root
	superPW string   // the superuser's password
	appPW   string   // the password of appRole, the clients' role
	useLock *os.File
	reused  bool
	closed  bool
}

const port = 5432 // only names the socket file: no TCP listener is opened

// Start creates the cluster if needed, starts it unless it runs already, waits until it
// accepts connections and creates the database. Close must be called when done.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Dir == "" {
		return nil, errors.New("pglocal: Config.Dir is required")
	}
	if cfg.Database == "" {
		cfg.Database = "nurture"
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	if cfg.FallbackRoot == "" {
		cfg.FallbackRoot = "/var/tmp"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for _, p := range []*string{&cfg.Dir, &cfg.FallbackRoot} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, err
		}
		*p = abs
	}

	bin, err := findBinDir(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	cfg.BinDir = bin

	acct, err := serverAccount()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("pglocal: create %s: %w", cfg.Dir, err)
	}

	// The start lock serialises the decisions "start it?" and "stop it?" between the
	// processes sharing this cluster; the use lock (shared) marks each process using it.
	startLock, err := lockFile(filepath.Join(cfg.Dir, "pg.start.lock"), syscall.LOCK_EX)
	if err != nil {
		return nil, err
	}
	defer unlockFile(startLock)

	home, err := clusterHome(cfg, acct, cfg.Logger)
	if err != nil {
		return nil, err
	}

	c := &Cluster{
		cfg:     cfg,
		dataDir: filepath.Join(home, "pgdata"),
		sockDir: filepath.Join(home, "run"),
		user:    acct,
	}
	if err := c.ensureDirs(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	legacy, err := c.legacyAuth()
	if err != nil {
		return nil, err
	}

	running, err := c.running()
	if err != nil {
		return nil, err
	}
	if running {
		c.reused = true
		cfg.Logger.Info("using running embedded PostgreSQL", "data_dir", c.dataDir)
	} else {
		if err := c.start(ctx); err != nil {
			return nil, err
		}
	}
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	if legacy {
		if err := c.upgrade(ctx); err != nil {
			return nil, err
		}
	}
	if c.superPW, err = readPassword(filepath.Join(cfg.Dir, superuserPasswordFile)); err != nil {
		return nil, fmt.Errorf("pglocal: the cluster's superuser password: %w (it was made with the cluster; without it, nurture cannot set the cluster up)", err)
	}
	if c.appPW, err = readOrCreatePassword(filepath.Join(cfg.Dir, appPasswordFile)); err != nil {
		return nil, err
	}
	if err := c.bootstrap(ctx, c.superPW, c.appPW); err != nil {
		return nil, err
	}

	c.useLock, err = lockFile(filepath.Join(cfg.Dir, "pg.use.lock"), syscall.LOCK_SH)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// URL is the connection URL of the cluster's database, as the role that owns it (not a
// superuser). It holds the role's password: never log it.
func (c *Cluster) URL() string {
	return c.urlFor(url.UserPassword(appRole, c.appPW), c.cfg.Database)
}

// SuperuserURL is the connection URL of database db as the cluster's superuser, for
// tools that set databases up (a test harness making databases from a template), never
// for the application. It holds the superuser's password: never log it.
func (c *Cluster) SuperuserURL(db string) string {
	return c.urlFor(url.UserPassword(superuser, c.superPW), db)
}

func (c *Cluster) urlFor(user *url.Userinfo, db string) string {
	q := url.Values{}
	q.Set("host", c.sockDir)
	q.Set("port", strconv.Itoa(port))
	q.Set("sslmode", "disable")
	return (&url.URL{Scheme: "postgres", User: user, Path: "/" + db, RawQuery: q.Encode()}).String()
}

// DataDir is the PGDATA directory of the cluster.
func (c *Cluster) DataDir() string { return c.dataDir }

// Reused reports whether Start found the cluster running already.
func (c *Cluster) Reused() bool { return c.reused }

// Close releases this process's use of the cluster and stops the server if no other
// process uses it.
func (c *Cluster) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	startLock, err := lockFile(filepath.Join(c.cfg.Dir, "pg.start.lock"), syscall.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlockFile(startLock)
	unlockFile(c.useLock)

	// Anyone else still using the cluster holds a shared lock: then an exclusive one
	// cannot be had, and the cluster stays up for them.
	f, err := os.OpenFile(filepath.Join(c.cfg.Dir, "pg.use.lock"), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		c.cfg.Logger.Info("embedded PostgreSQL left running for its other users", "data_dir", c.dataDir)
		return nil
	}
	return c.stop()
}

func (c *Cluster) stop() error {
	pid, _, err := c.readPID()
	if err != nil || pid == 0 {
		return err
	}
	if !isPostgres(pid) {
		// The server died without cleaning up (a crash), and its PID may now be another
		// program's: signal nothing. The next Start clears the stale postmaster.pid.
		c.cfg.Logger.Warn("embedded PostgreSQL is not running", "pid", pid, "data_dir", c.dataDir)
		return nil
	}
	// SIGINT is PostgreSQL's fast shutdown: clients are disconnected, work is kept.
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("pglocal: stop: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			c.cfg.Logger.Info("embedded PostgreSQL stopped", "data_dir", c.dataDir)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("pglocal: postgres (pid %d) did not stop within 30s", pid)
}

func (c *Cluster) ensureDirs() error {
	for _, d := range []string{c.dataDir, c.sockDir} {
		if err := c.mkdirOwned(d); err != nil {
			return err
		}
	}
	return nil
}

// initdb creates the cluster in a scratch directory and renames it into place only
// once it is complete with nurture's settings, so that a crash or an interrupt during
// creation leaves nothing that a later start would take for a cluster.
func (c *Cluster) initdb(ctx context.Context) error {
	c.cfg.Logger.Info("creating embedded PostgreSQL cluster", "data_dir", c.dataDir)
	scratch := c.dataDir + ".init"
	pw, err := readOrCreatePassword(filepath.Join(c.cfg.Dir, superuserPasswordFile))
	if err != nil {
		return err
	}
	// initdb reads the superuser's password from a file: one beside the cluster, made for
	// the server's account, gone once initdb is done.
	pwfile := filepath.Join(filepath.Dir(c.dataDir), "initdb.pwfile")
	if err := writeFileAtomic(pwfile, []byte(pw+"\n"), c.user); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	run := func(locale string) ([]byte, error) {
		if err := os.RemoveAll(scratch); err != nil {
			return nil, err
		}
		if err := c.mkdirOwned(scratch); err != nil {
			return nil, err
		}
		return c.command(ctx, "initdb", "-D", scratch, "-U", superuser, "--pwfile="+pwfile,
			"--auth=scram-sha-256", "-E", "UTF8", "--locale="+locale, "--no-instructions").CombinedOutput()
	}
	out, err := run("C.UTF-8")
	if err != nil && bytes.Contains(out, []byte("invalid locale")) {
		// Older systems may lack C.UTF-8; the plain C locale still stores UTF-8 text.
		out, err = run("C")
	}
	if err != nil {
		_ = os.RemoveAll(scratch)
		if ctx.Err() != nil {
			err = ctx.Err() // initdb was killed because the start was called off
		}
		return fmt.Errorf("pglocal: initdb: %w\n%s", err, out)
	}
	if err := c.configure(scratch); err != nil {
		return err
	}
	if err := c.writeHBA(scratch); err != nil {
		return err
	}
	// The data dir holds no cluster (no PG_VERSION), at most an empty directory.
	if err := os.RemoveAll(c.dataDir); err != nil {
		return err
	}
	if err := os.Rename(scratch, c.dataDir); err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	return nil
}

// mkdirOwned makes dir (or finds it) and makes it private to the server's account. A
// symbolic link is refused rather than followed: the chmod and chown go to the
// directory itself, whoever placed what where.
func (c *Cluster) mkdirOwned(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("pglocal: create %s: %w", dir, err)
	}
	f, err := openNoFollow(dir, syscall.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Chmod(0o700); err != nil {
		return fmt.Errorf("pglocal: chmod %s: %w", dir, err)
	}
	if c.user != nil {
		if err := f.Chown(c.user.uid, c.user.gid); err != nil {
			return fmt.Errorf("pglocal: give %s to %s: %w", dir, c.user.name, err)
		}
	}
	return nil
}

// configure appends nurture's settings to a new cluster's postgresql.conf.
func (c *Cluster) configure(dataDir string) error {
	conf := fmt.Sprintf(`
# Written by nurture: a private cluster reached over a Unix socket only.
listen_addresses = ''
unix_socket_directories = '%s'
port = %d
max_connections = 200
shared_buffers = 128MB
fsync = on
log_min_messages = warning
`, c.sockDir, port)
	f, err := os.OpenFile(filepath.Join(dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// running reports whether a live postmaster owns the cluster. Otherwise the lock files a
// dead server left (a crash, a reboot) are removed so that a new start can proceed:
// PostgreSQL takes a lock file whose PID is taken by a process, any process (a reused PID,
// or the dead server as a zombie nobody reaps), for a running server and will not start.
func (c *Cluster) running() (bool, error) {
	pid, _, err := c.readPID()
	if err != nil {
		return false, err
	}
	if pid != 0 && isPostgres(pid) {
		return true, nil
	}
	for _, path := range []string{
		filepath.Join(c.dataDir, "postmaster.pid"),
		filepath.Join(c.sockDir, fmt.Sprintf(".s.PGSQL.%d.lock", port)),
	} {
		if err := c.removeStaleLock(path); err != nil {
			return false, err
		}
	}
	return false, nil
}

// removeStaleLock removes a PostgreSQL lock file (its first line is the owner's PID)
// unless a live postgres process owns it.
func (c *Cluster) removeStaleLock(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || isPostgres(pid) {
		return nil // not one to judge: left to PostgreSQL
	}
	c.cfg.Logger.Warn("removing stale lock file left by a crash", "file", path, "pid", pid)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (c *Cluster) start(ctx context.Context) error {
	c.cfg.Logger.Info("starting embedded PostgreSQL", "data_dir", c.dataDir)
	logPath := filepath.Join(c.dataDir, "server.log")
	logf, err := c.openLog(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	// Not tied to ctx: the server outlives this call and is stopped by Close.
	cmd := c.command(context.WithoutCancel(ctx), "postgres", "-D", c.dataDir)
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Its own process group: a Ctrl-C at the terminal goes to nurture, which then stops
	// the server in order, instead of to both at once.
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pglocal: start postgres: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	deadline := time.Now().Add(c.cfg.StartTimeout)
	for {
		_, status, _ := c.readPID()
		if status == "ready" {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("pglocal: postgres exited during start-up (%v); its log:\n%s", err, tail(logPath, 20))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pglocal: postgres not ready after %s; its log:\n%s", c.cfg.StartTimeout, tail(logPath, 20))
		}
	}
}

// openLog opens the server's log for appending. The data dir belongs to the server's
// account, so root opens nothing there that account could have swapped for a link to
// another file: a symbolic link is refused, and so is a file that is not the account's
// own or a new one of root's (a hard link, say).
func (c *Cluster) openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pglocal: open the server's log: %w", err)
	}
	if c.user == nil {
		return f, nil
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case st == nil || !fi.Mode().IsRegular() || st.Nlink != 1:
	case int(st.Uid) == c.user.uid:
		return f, nil
	case st.Uid == 0 && fi.Size() == 0:
		if err := f.Chown(c.user.uid, c.user.gid); err != nil {
			f.Close()
			return nil, fmt.Errorf("pglocal: give %s to %s: %w", path, c.user.name, err)
		}
		return f, nil
	}
	f.Close()
	return nil, fmt.Errorf("pglocal: %s is not a log file of %s's, refused", path, c.user.name)
}

func (c *Cluster) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(c.cfg.StartTimeout)
	for {
		out, err := c.command(ctx, "pg_isready", "-q", "-h", c.sockDir, "-p", strconv.Itoa(port), "-U", superuser, "-d", "postgres").CombinedOutput()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pglocal: PostgreSQL at %s does not accept connections: %v %s", c.sockDir, err, out)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// command runs one of the server binaries, as the unprivileged account when root.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.cfg.BinDir, name)
	if _, err := os.Stat(path); err != nil {
		if p, err := exec.LookPath(name); err == nil {
			path = p
		}
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	cmd.Env = []string{"LC_ALL=C.UTF-8", "PATH=" + os.Getenv("PATH"), "TZ=UTC"}
	if c.user != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(c.user.uid), Gid: uint32(c.user.gid)}
		cmd.Dir = c.sockDir
		cmd.Env = append(cmd.Env, "HOME="+c.sockDir)
	}
	return cmd
}

// readPID reads postmaster.pid: the postmaster's PID and its status line ("ready" once
// it accepts connections). A missing file is (0, "", nil).
func (c *Cluster) readPID() (int, string, error) {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "postmaster.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	lines := strings.Split(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil {
		return 0, "", nil // being written: treat as not there yet
	}
	status := ""
	if len(lines) > 7 {
		status = strings.TrimSpace(lines[7])
	}
	return pid, status, nil
}

// isPostgres reports whether pid is a live postgres process (a PID may be reused by
// another program after a crash or reboot).
func isPostgres(pid int) bool {
	if !alive(pid) {
		return false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return true // no /proc: trust the signal check
	}
	return strings.HasPrefix(strings.TrimSpace(string(comm)), "postgres")
}

// alive reports whether pid is a process that has not exited. A zombie (exited, not yet
// reaped) has: a server outlives the process that started it, is then re-parented to
// PID 1, and where PID 1 does not reap (as in many containers) stays a zombie for ever.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		if _, serr := os.Stat("/proc/self/stat"); serr == nil && errors.Is(err, os.ErrNotExist) {
			return false // gone since the signal check
		}
		return true // no /proc: trust the signal check
	}
	// "pid (comm) state ...": comm may hold spaces and parentheses, so the state is the
	// first field after the last ')'.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// findBinDir finds the directory holding initdb and postgres.
func findBinDir(dir string) (string, error) {
	has := func(d string) bool {
		for _, name := range []string{"initdb", "postgres", "pg_isready", "psql"} {
			if fi, err := os.Stat(filepath.Join(d, name)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if dir != "" {
		if has(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("%w (looked in %s)", ErrNoBinaries, dir)
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	candidates, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(candidates, func(i, j int) bool { return versionOf(candidates[i]) > versionOf(candidates[j]) })
	for _, d := range candidates {
		if has(d) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// account is the unprivileged user that runs the server when nurture runs as root.
type account struct {
	name     string
	uid, gid int
	groups   map[int]bool
}

func serverAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		a := &account{name: name, uid: uid, gid: gid, groups: map[int]bool{gid: true}}
		if ids, err := u.GroupIds(); err == nil {
			for _, id := range ids {
				g, _ := strconv.Atoi(id)
				a.groups[g] = true
			}
		}
		return a, nil
	}
	return nil, errors.New("pglocal: running as root, and neither a postgres nor a nobody account exists to run PostgreSQL as (initdb refuses root)")
}

// traversalBlocker returns the first directory on the way to dir that acct may not
// enter, or "" if it can reach dir.
func traversalBlocker(dir string, acct *account) string {
	p := dir
	var chain []string
	for {
		chain = append(chain, p)
		parent := filepath.Dir(p)
		if parent == p {
			break
		}
		p = parent
	}
	for i := len(chain) - 1; i >= 0; i-- {
		fi, err := os.Stat(chain[i])
		if err != nil {
			return chain[i]
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		mode := fi.Mode().Perm()
		var canEnter bool
		switch {
		case int(st.Uid) == acct.uid:
			canEnter = mode&0o100 != 0
		case acct.groups[int(st.Gid)]:
			canEnter = mode&0o010 != 0
		default:
			canEnter = mode&0o001 != 0
		}
		if !canEnter {
			return chain[i]
		}
	}
	return ""
}

// lockFile opens (or makes) a private lock file and flocks it. Earlier versions made
// lock files that anyone could read, and so lock: they are made private too.
func lockFile(path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, fmt.Errorf("pglocal: chmod %s: %w", path, err)
		}
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("pglocal: lock %s: %w", path, err)
	}
	return f, nil
}

func unlockFile(f *os.File) {
	if f != nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}
