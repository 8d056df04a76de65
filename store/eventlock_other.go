//go:build !unix

package store

import "os"

// lockEvents has no portable lock here: run one listener per database.
func lockEvents(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
