package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// An empty file given as the database becomes one as private as a file
// idsnap creates itself; a database that already has content keeps the
// mode its owner chose.
func TestOpenMakesAnEmptyFilePrivate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	empty := filepath.Join(dir, "touched.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, empty)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if fi, err := os.Stat(empty); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode of an empty file after Open = %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	// Chosen by its owner, as for a group that reads reports.
	if err := os.Chmod(empty, 0o640); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, empty)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if fi, err := os.Stat(empty); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode of an existing database after Open = %v (%v), want 0640 kept", fi.Mode().Perm(), err)
	}
}
