// Package dirwatch notices, by polling, when the files under a folder change: serve
// reloads the scenarios and templates folders when a marketer saves a file.
package dirwatch

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"
)

// Stamp is a digest of the names, sizes and modification times of the files under
// dir, its folders included: cheap to take every few seconds, and different whenever
// a file is written, added, removed or renamed.
func Stamp(dir string) ([32]byte, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", p, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	var out [32]byte
	if err != nil {
		return out, err
	}
	copy(out[:], h.Sum(nil))
	return out, nil
}

// Watch calls reload, every interval until ctx is done, when the stamp of dir differs
// from loaded() (the stamp of what was loaded last) and has stayed the same for an
// interval, so that a file caught half-written is not read. A folder that is gone has
// the zero stamp; one that cannot be read for another reason is left alone until it
// can.
func Watch(ctx context.Context, dir string, every time.Duration, loaded func() [32]byte, reload func()) {
	// A timer set again after each look, not a ticker: a ticker keeps a tick that
	// falls during a slow reload, and the two looks after it would be moments apart.
	t := time.NewTimer(every)
	defer t.Stop()
	var seen [32]byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(every)
		stamp, err := Stamp(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		settled := stamp == seen
		seen = stamp
		if stamp == loaded() || !settled {
			continue
		}
		reload()
	}
}
