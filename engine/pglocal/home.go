package pglocal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// homeRecord, in Dir, names the cluster's home when it is not Dir/pg.
const homeRecord = "pg.home"

// clusterHome is where the cluster's files go: dir/pg, unless the unprivileged account
// cannot reach dir (a checkout under root's private home, say) or the socket's path
// there would be too long. Then it is a private folder of cfg.FallbackRoot (see
// fallbackHome), and the log says so. It is called with the start lock held.
func clusterHome(cfg Config, acct *account, log *slog.Logger) (string, error) {
	home := filepath.Join(cfg.Dir, "pg")
	blocked := ""
	if acct != nil {
		blocked = traversalBlocker(cfg.Dir, acct)
	}
	// The socket path limit (107 bytes) holds for every account, root or not.
	sockPath := filepath.Join(home, "run", ".s.PGSQL.5432")
	if blocked == "" && len(sockPath) < 100 {
		if err := os.Mkdir(home, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("pglocal: create %s: %w", home, err)
		}
		return home, nil
	}
	alt, err := fallbackHome(cfg, acct, log)
	if err != nil {
		return "", err
	}
	if blocked != "" {
		log.Warn("the PostgreSQL account cannot enter the data dir; the embedded cluster lives elsewhere",
			"account", acct.name, "blocked_at", blocked, "cluster_dir", alt)
	} else {
		log.Warn("the data dir's path is too long for a Unix socket; the embedded cluster lives elsewhere", "cluster_dir", alt)
	}
	return alt, nil
}

// fallbackHome is the cluster's home in cfg.FallbackRoot, a directory anyone may write
// to (/var/tmp). A name there that is known in advance could be taken first by any local
// user, as a directory of theirs or a symbolic link to somewhere else, and root would
// then hand what it points to to the server's account. So the home is made with a
// random name by mkdir, which fails rather than reuse an existing name, and its path
// is recorded in Dir for the next start; a home found again, through the record or
// under the fixed name earlier versions used, is used only if it is a real directory
// owned by this process's user that no one else may write to.
func fallbackHome(cfg Config, acct *account, log *slog.Logger) (string, error) {
	sum := sha256.Sum256([]byte(cfg.Dir))
	legacyName := "nurture-pg-" + hex.EncodeToString(sum[:6])
	record := filepath.Join(cfg.Dir, homeRecord)

	b, err := os.ReadFile(record)
	switch {
	case err == nil:
		home := strings.TrimSpace(string(b))
		base := filepath.Base(home)
		if filepath.Dir(home) != cfg.FallbackRoot || (base != legacyName && !strings.HasPrefix(base, legacyName+"-")) {
			return "", fmt.Errorf("pglocal: %s names %q, not a cluster directory of %s made for this data dir", record, home, cfg.FallbackRoot)
		}
		err := checkHome(home)
		if err == nil {
			return home, securePerm(home, acct)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("pglocal: refusing the embedded cluster's directory: %w", err)
		}
		log.Warn("the embedded cluster's directory is gone (a cleaned temporary folder?); a new, empty cluster is made",
			"cluster_dir", home)
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("pglocal: %w", err)
	default:
		// Earlier versions used the fixed name: keep their cluster if it is really theirs.
		legacy := filepath.Join(cfg.FallbackRoot, legacyName)
		err := checkHome(legacy)
		if err == nil {
			if err := writeFileAtomic(record, []byte(legacy+"\n"), nil); err != nil {
				return "", err
			}
			return legacy, securePerm(legacy, acct)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("not using a directory made by someone else where the embedded cluster used to live",
				"path", legacy, "error", err)
		}
	}

	home, err := os.MkdirTemp(cfg.FallbackRoot, legacyName+"-")
	if err != nil {
		return "", fmt.Errorf("pglocal: %w", err)
	}
	if err := securePerm(home, acct); err != nil {
		return "", err
	}
	if err := writeFileAtomic(record, []byte(home+"\n"), nil); err != nil {
		return "", err
	}
	return home, nil
}

// checkHome returns nil if path is a directory (not a symbolic link to one) owned by
// this process's user and writable by no one else. A missing path is fs.ErrNotExist.
func checkHome(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symbolic link", path)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", path)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no owner information", path)
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not by uid %d", path, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s may be written by others (mode %o)", path, fi.Mode().Perm())
	}
	return nil
}

// securePerm makes a home private: only its owner may list it, and the server's
// account (when root hands the cluster to one) may pass through to its own folders.
func securePerm(home string, acct *account) error {
	mode := os.FileMode(0o700)
	if acct != nil {
		mode = 0o711
	}
	f, err := openNoFollow(home, syscall.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("pglocal: chmod %s: %w", home, err)
	}
	return nil
}

// openNoFollow opens path read-only, refusing a symbolic link, so that what is then done
// to the file (chmod, chown) is done to it and not to what a link points to.
func openNoFollow(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|flag, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("pglocal: %s is a symbolic link, refused", path)
	}
	if err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	return f, nil
}

// writeFileAtomic writes a private (0600) file whole or not at all, given to acct when
// not nil. The new content goes to a file of a fresh name (never an existing file, nor
// through a symbolic link) that then replaces path.
func writeFileAtomic(path string, content []byte, acct *account) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if acct != nil {
		if err := f.Chown(acct.uid, acct.gid); err != nil {
			f.Close()
			return fmt.Errorf("pglocal: give %s to %s: %w", path, acct.name, err)
		}
	}
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pglocal: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	return nil
}
