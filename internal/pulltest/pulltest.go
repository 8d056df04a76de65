// Package pulltest runs a fetcher the way idsnap pull does, into a real
// store, for the providers' fault and failure tests: one harness, so every
// provider is held to the same "recovered and committed, or one line and
// nothing committed" rule.
package pulltest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/ingest"
	"github.com/idsnap/idsnap/store"
)

// Pull ingests f into a fresh database, as idsnap pull does. After an
// error it checks that nothing was committed and that the database still
// takes a pull. before, when not nil, runs ahead of each Put.
func Pull(t testing.TB, f fetch.Fetcher, source string, before func()) (idsnap.Snapshot, error) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "idsnap.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	src := idsnap.Source{Name: source, Provider: source}
	snap, err := ingest.Pull(ctx, db, src, f, ingest.Hooks{Before: before})
	if err != nil {
		if snaps, serr := db.Snapshots(ctx, ""); serr != nil || len(snaps) != 0 {
			t.Errorf("after a failed pull: snapshots %v (%v), want none", snaps, serr)
		}
		// The aborted stage left nothing behind that blocks the next pull.
		st2, serr := db.Stage(ctx, src)
		if serr != nil {
			t.Fatalf("Stage after Abort = %v", serr)
		}
		st2.Put(ctx, idsnap.Record{Kind: idsnap.KindUser, ID: "probe"})
		if s, cerr := st2.Commit(ctx); cerr != nil || s.Counts[idsnap.KindUser] != 1 {
			t.Errorf("commit after an aborted pull = %+v, %v; want 1 user", s.Counts, cerr)
		}
		return idsnap.Snapshot{}, err
	}
	return snap, nil
}

// CheckError asserts that err contains want, is one line, and shows none
// of secrets.
func CheckError(t testing.TB, err error, want string, secrets ...string) {
	t.Helper()
	msg := err.Error()
	if !strings.Contains(msg, want) {
		t.Errorf("error = %q\n  want it to contain %q", msg, want)
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error shows a secret: %q", msg)
		}
	}
}
