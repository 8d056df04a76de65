package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/idsnap/idsnap/store"
)

// An empty listing says why: nothing pulled at all, or nothing of the
// source named (a typo, most often), and exits 0 either way.
func TestSnapshotsEmptySaysWhy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idsnap.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"snapshots"}, "no snapshots yet: run idsnap pull\n"},
		{[]string{"snapshots", "--source", "kinde-prdo"}, "no snapshots of kinde-prdo: pull it first (idsnap pull --source kinde-prdo)\n"},
	} {
		code, stdout, stderr := reportRun(t, path, tc.args...)
		if code != 0 || stdout != "" || stderr != tc.want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0, nothing, %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
}
