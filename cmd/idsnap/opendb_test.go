package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A reader pointed at a database that is not there has a typo in --db: it
// says so, and creates nothing.
func TestReadersRefuseMissingDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "typo.db")
	for _, args := range [][]string{
		{"snapshots"}, {"diff"}, {"findings"}, {"access"}, {"history", "x@example.com"}, {"people"},
	} {
		code, _, stderr := reportRun(t, path, args...)
		if code != 1 || !strings.Contains(stderr, "does not exist") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 1 and one line saying the database does not exist", args, code, stderr)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("%v created %s", args, path)
		}
	}
}
