package pglocal

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// superuser is the cluster's bootstrap superuser, used only to set the cluster up.
	superuser = "postgres"
	// appRole is the role clients connect as: it owns the database and nothing more.
	appRole = "nurture"
	// legacySuperuser is the bootstrap superuser of clusters made by earlier versions,
	// which trusted every local connection; upgrade renames it to superuser.
	legacySuperuser = "nurture"

	// The passwords live in Dir, private to the user running nurture, where every
	// process sharing the cluster finds them.
	superuserPasswordFile = "pg.superuser.password"
	appPasswordFile       = "pg.password"
)

// hbaConf is the whole of pg_hba.conf: a password for every connection, over the Unix
// socket only. A cluster whose pg_hba.conf differs was made by an earlier version.
const hbaConf = `# Written by nurture: this private cluster is reached over its Unix socket only, and
# every connection needs its role's password. There is no TCP entry (nor listener).
local all all scram-sha-256
`

// readOrCreatePassword reads the password kept in path, or makes one and keeps it there.
func readOrCreatePassword(path string) (string, error) {
	pw, err := readPassword(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return pw, err
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	pw = hex.EncodeToString(b)
	return pw, writeFileAtomic(path, []byte(pw+"\n"), nil)
}

// readPassword reads the password kept in path, and makes the file private again if
// it is not.
func readPassword(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(0o600); err != nil {
			return "", fmt.Errorf("pglocal: chmod %s: %w", path, err)
		}
	}
	b := make([]byte, 256)
	n, err := f.Read(b)
	if err != nil {
		return "", fmt.Errorf("pglocal: read %s: %w", path, err)
	}
	pw := strings.TrimSpace(string(b[:n]))
	if pw == "" {
		return "", fmt.Errorf("pglocal: %s is empty", path)
	}
	return pw, nil
}

// scramVerifier is what PostgreSQL stores for a scram-sha-256 password (RFC 5803's
// format), computed here as psql's \password does, so that the password itself is never
// sent to the server, where a failed statement or pg_stat_activity could show it.
func scramVerifier(password string) (string, error) {
	const iterations = 4096
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", err
	}
	sign := func(msg string) []byte {
		h := hmac.New(sha256.New, salted)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	stored := sha256.Sum256(sign("Client Key"))
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(stored[:]), b64(sign("Server Key"))), nil
}

// legacyAuth reports whether the cluster's pg_hba.conf is not nurture's current one:
// the cluster was made by an earlier version and trusts local connections.
func (c *Cluster) legacyAuth() (bool, error) {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "pg_hba.conf"))
	if err != nil {
		return false, fmt.Errorf("pglocal: %w", err)
	}
	return !bytes.Equal(b, []byte(hbaConf)), nil
}

// writeHBA replaces pg_hba.conf in dataDir with nurture's.
func (c *Cluster) writeHBA(dataDir string) error {
	return writeFileAtomic(filepath.Join(dataDir, "pg_hba.conf"), []byte(hbaConf), c.user)
}

// upgrade secures a running cluster made by an earlier version, which trusted every
// local connection and whose bootstrap superuser was the clients' role, nurture. That
// role is renamed postgres and given a password, a new nurture role (no superuser) gets
// the database's objects, and pg_hba.conf is rewritten to ask every connection for a
// password. Each step may be run again: an upgrade cut short is finished by the next
// start. The data is left as it is.
func (c *Cluster) upgrade(ctx context.Context) error {
	c.cfg.Logger.Warn("securing an embedded PostgreSQL cluster made by an earlier nurture: passwords are set and trust authentication removed",
		"data_dir", c.dataDir)
	superPW, err := readOrCreatePassword(filepath.Join(c.cfg.Dir, superuserPasswordFile))
	if err != nil {
		return err
	}
	appPW, err := readOrCreatePassword(filepath.Join(c.cfg.Dir, appPasswordFile))
	if err != nil {
		return err
	}

	// Renamed already, by an upgrade cut short?
	out, err := c.psql(ctx, superuser, "", "postgres", "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
	if err != nil || strings.TrimSpace(out) != "t" {
		// A session cannot rename its own role: a helper superuser does it.
		if _, err := c.psql(ctx, legacySuperuser, "", "postgres",
			`SELECT 'CREATE ROLE nurture_upgrade SUPERUSER LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nurture_upgrade') \gexec`); err != nil {
			return fmt.Errorf("pglocal: upgrade the cluster's roles: %w", err)
		}
		if _, err := c.psql(ctx, "nurture_upgrade", "", "postgres", "ALTER ROLE "+legacySuperuser+" RENAME TO "+superuser); err != nil {
			return fmt.Errorf("pglocal: upgrade the cluster's roles: %w", err)
		}
	}
	superVerifier, err := scramVerifier(superPW)
	if err != nil {
		return err
	}
	script := fmt.Sprintf("\\set verifier '%s'\nDROP ROLE IF EXISTS nurture_upgrade;\nALTER ROLE %s PASSWORD :'verifier';\n", superVerifier, superuser)
	if _, err := c.psql(ctx, superuser, "", "postgres", script); err != nil {
		return fmt.Errorf("pglocal: set the superuser's password: %w", err)
	}
	if err := c.bootstrap(ctx, "", appPW); err != nil {
		return err
	}
	// The database's objects belonged to the old superuser (OID 10, renamed postgres).
	// REASSIGN OWNED cannot move what that role owns (it owns the system catalogs too),
	// so each kind of object that migrations make is given to the clients' role in turn.
	if _, err := c.psql(ctx, superuser, "", c.cfg.Database, reownScript); err != nil {
		return fmt.Errorf("pglocal: give the database's objects to %s: %w", appRole, err)
	}

	if err := c.writeHBA(c.dataDir); err != nil {
		return err
	}
	if _, err := c.psql(ctx, superuser, "", "postgres", "SELECT pg_reload_conf()"); err != nil {
		return fmt.Errorf("pglocal: reload pg_hba.conf: %w", err)
	}
	// The reload is asynchronous: wait until a connection with no password is refused.
	deadline := time.Now().Add(c.cfg.StartTimeout)
	for {
		_, err := c.psql(ctx, superuser, "", "postgres", "SELECT 1")
		if err != nil && strings.Contains(err.Error(), "password") {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pglocal: PostgreSQL still trusts connections without a password after reloading pg_hba.conf (%v)", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
	c.cfg.Logger.Info("embedded PostgreSQL secured: passwords required, clients connect as a role that is not superuser",
		"data_dir", c.dataDir, "role", appRole)
	return nil
}

// reownScript gives the clients' role what the bootstrap superuser (OID 10) owns in
// the current database outside the system schemas.
const reownScript = `
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT n.nspname FROM pg_namespace n
           WHERE n.nspowner = 10 AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
  LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO nurture', r.nspname);
  END LOOP;
  -- Sequences of serial and identity columns follow their table.
  FOR r IN SELECT c.oid::regclass AS obj FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relowner = 10 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
             AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
  LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO nurture', r.obj);
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS obj FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relowner = 10 AND c.relkind = 'S'
             AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
  LOOP
    EXECUTE format('ALTER SEQUENCE %s OWNER TO nurture', r.obj);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS obj FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE p.proowner = 10 AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO nurture', r.obj);
  END LOOP;
  -- Enums, domains and ranges; a table's row type and array types follow their owner.
  FOR r IN SELECT t.oid::regtype AS obj FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE t.typowner = 10 AND t.typtype IN ('e', 'd', 'r')
             AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
  LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO nurture', r.obj);
  END LOOP;
END $$;
`

// bootstrap makes sure, as the superuser, that the clients' role exists with the
// password appPW and no privilege beyond owning the database, and that the database
// exists. superPW is empty while the cluster still trusts local connections.
func (c *Cluster) bootstrap(ctx context.Context, superPW, appPW string) error {
	verifier, err := scramVerifier(appPW)
	if err != nil {
		return err
	}
	// CREATE DATABASE cannot run in a DO block; psql's \gexec runs it only when missing.
	script := fmt.Sprintf(`\set verifier '%s'
SELECT 'CREATE ROLE nurture' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nurture') \gexec
ALTER ROLE nurture WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'verifier';
SELECT format('CREATE DATABASE %%I OWNER nurture', :'db') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %%I OWNER TO nurture', :'db') \gexec
`, verifier)
	if _, err := c.psql(ctx, superuser, superPW, "postgres", script, "db="+c.cfg.Database); err != nil {
		return fmt.Errorf("pglocal: create role %s and database %s: %w", appRole, c.cfg.Database, err)
	}
	return nil
}

// psql runs script (from stdin, so that nothing secret shows in a process list) in db
// as role, with password unless it is empty, and returns its unaligned output.
func (c *Cluster) psql(ctx context.Context, role, password, db, script string, vars ...string) (string, error) {
	args := []string{"-X", "-q", "-tA", "-w", "-h", c.sockDir, "-p", strconv.Itoa(port), "-U", role, "-d", db,
		"-v", "ON_ERROR_STOP=1"}
	for _, v := range vars {
		args = append(args, "-v", v)
	}
	cmd := c.command(ctx, "psql", args...)
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	cmd.Stdin = strings.NewReader(script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
