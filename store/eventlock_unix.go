//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockEvents takes the event log's lock file: one listener per database,
// since two sharing the spool could drain away the other's fresh line. The
// kernel drops the lock when the process dies, however it dies.
func lockEvents(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock event log: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another idsnap listen is using %s: run one listener per database", path)
		}
		return nil, fmt.Errorf("lock event log: %w", err)
	}
	return f, nil
}
