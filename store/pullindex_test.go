package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

// checkPullIndex fails unless the pull index file stored for snap is the
// index read from the versions themselves: every entry, activity
// included.
func checkPullIndex(t *testing.T, db *DB, snap idsnap.Snapshot) {
	t.Helper()
	ctx := context.Background()
	n := 0
	for _, c := range snap.Counts {
		n += int(c)
	}
	stored, ok := db.readPullIndex(snap.Source, snap.ID, n, snap.ChainDigest, formatTime(snap.TakenAt))
	if !ok {
		t.Fatalf("snapshot %d: no pull index", snap.ID)
	}
	defer stored.release()
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	read, err := loadIndex(ctx, conn, snap.Source, n)
	if err != nil {
		t.Fatal(err)
	}
	defer read.release()
	if !slices.Equal(stored.ents, read.ents) {
		t.Fatalf("snapshot %d: the pull index (%d entries) is not the versions' (%d)", snap.ID, len(stored.ents), len(read.ents))
	}
	if fi, err := os.Stat(db.pullIndexPath(snap.Source)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("pull index file: %v, mode %v; want 0600", err, fi.Mode())
	}
}

// indexFiles lists the pull index files beside the database, temporary
// ones included.
func indexFiles(t *testing.T, db *DB) []string {
	t.Helper()
	m, err := filepath.Glob(db.path + ".pull-index-*")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A pull index file that does not match what it claims is never used:
// cut short, grown, one bit changed, another snapshot's, another source's.
// The pull reads the versions instead, its result is the same, and it
// writes a good file.
func TestPullIndexNotTrusted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(b []byte, path string) []byte
	}{
		{"cut short", func(b []byte, _ string) []byte { return b[:len(b)-1] }},
		{"grown", func(b []byte, _ string) []byte { return append(b, 0) }},
		{"an entry's bit", func(b []byte, _ string) []byte { b[40] ^= 1; return b }},
		{"the trailer's bit", func(b []byte, _ string) []byte { b[len(b)-trailerSize+9] ^= 1; return b }},
		{"removed", func(b []byte, path string) []byte { os.Remove(path); return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := openTest(t)
			recs := users(50, "a")
			first := pull(t, db, testSource, recs)
			path := db.pullIndexPath(testSource.Name)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if b = tc.damage(b, path); b != nil {
				if err := os.WriteFile(path, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if _, ok := db.readPullIndex(testSource.Name, first.ID, 50, first.ChainDigest, formatTime(first.TakenAt)); ok {
				t.Fatal("a damaged pull index was read")
			}
			recs[3].Name = "changed"
			snap := pull(t, db, testSource, recs)
			got := state(t, db, snap.ID)
			if len(got) != 50 || got[3].Name != "changed" {
				t.Fatalf("state after a pull without the index: %d users, [3] %q", len(got), got[3].Name)
			}
			checkPullIndex(t, db, snap)
		})
	}
	t.Run("another snapshot's or source's", func(t *testing.T) {
		db, _ := openTest(t)
		first := pull(t, db, testSource, users(5, "a"))
		if _, ok := db.readPullIndex(testSource.Name, first.ID+1, 5, first.ChainDigest, formatTime(first.TakenAt)); ok {
			t.Error("read for another snapshot id")
		}
		other := strings.Repeat("0", 64)
		if _, ok := db.readPullIndex(testSource.Name, first.ID, 5, other, formatTime(first.TakenAt)); ok {
			t.Error("read for another chain digest")
		}
		b, _ := os.ReadFile(db.pullIndexPath(testSource.Name))
		os.WriteFile(db.pullIndexPath("other"), b, 0o600)
		if _, ok := db.readPullIndex("other", first.ID, 5, first.ChainDigest, formatTime(first.TakenAt)); ok {
			t.Error("read another source's file")
		}
	})
}

// An aborted pull leaves the stored index as it was and no temporary
// file; a source whose pull saw nothing gets an empty index.
func TestPullIndexAbortAndEmpty(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	first := pull(t, db, testSource, users(10, "a"))
	st, err := db.Stage(ctx, testSource)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range users(3000, "b") { // enough to apply batches
		if err := st.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	st.Abort()
	checkPullIndex(t, db, first)
	if f := indexFiles(t, db); len(f) != 1 {
		t.Fatalf("files after an abort: %q", f)
	}
	checkPullIndex(t, db, pull(t, db, testSource, nil))
	if f := indexFiles(t, db); len(f) != 1 {
		t.Fatalf("files after an empty pull: %q", f)
	}
}

// An index that does not tally with the versions the digest read is not
// kept: here an entry of the loaded index is damaged before the commit
// writes it back. The next pull reads the versions and stores a good one.
func TestPullIndexCheckedAtCommit(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	recs := users(40, "a")
	checkPullIndex(t, db, pull(t, db, testSource, recs))
	st, err := db.Stage(ctx, testSource)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := st.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	st.idx.ents[5].hash.lo ^= 1
	snap, err := st.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f := indexFiles(t, db); len(f) != 0 {
		t.Fatalf("files after a commit whose index did not tally: %q, want none", f)
	}
	if got, want := len(state(t, db, snap.ID)), 40; got != want {
		t.Fatalf("%d users, want %d", got, want)
	}
	checkPullIndex(t, db, pull(t, db, testSource, recs))
}

// Check compares the stored index with the versions: a file whose entry
// and checksum were both rewritten (its activity fingerprint, which no
// commit tallies) is found.
func TestCheckFindsDamagedPullIndex(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	snap := pull(t, db, testSource, users(30, "a"))
	if chk, err := db.Check(ctx); err != nil || len(chk.Problems) > 0 {
		t.Fatalf("check of a sound database: %v %q", err, chk.Problems)
	}
	x, ok := db.readPullIndex(testSource.Name, snap.ID, 30, snap.ChainDigest, formatTime(snap.TakenAt))
	if !ok {
		t.Fatal("no pull index")
	}
	x.ents[7].act ^= 1
	w := indexWriter{path: db.pullIndexPath(testSource.Name)}
	for _, e := range x.ents {
		w.add(e)
	}
	x.release()
	tr, _ := wantTrailer(testSource.Name, snap.ID, 30, snap.ChainDigest, formatTime(snap.TakenAt))
	w.commit(tr)
	chk, err := db.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(chk.Problems) != 1 || !strings.Contains(chk.Problems[0], "pull index does not match") {
		t.Errorf("check of a damaged pull index: %q", chk.Problems)
	}
}

// cacheSize reads a pooled connection's page cache setting.
func cacheSizes(t *testing.T, db *DB) []int {
	t.Helper()
	ctx := context.Background()
	var out []int
	var conns []*sql.Conn
	for range 4 {
		c, err := db.sql.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var n int
		if err := c.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	for _, c := range conns {
		c.Close()
	}
	return out
}

// A Stage that writes much raises its connection's page cache and gives
// the connection back with the readers' size.
func TestStageCacheGoesBack(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	st, err := db.Stage(ctx, testSource)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range users(bigWrite+10, "a") {
		if err := st.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !st.bigCache {
		t.Fatalf("a Stage that applied %d rows did not raise its cache", st.applied)
	}
	for _, n := range cacheSizes(t, db) {
		if n != readCache {
			t.Fatalf("cache_size of pooled connections %v, want %d", cacheSizes(t, db), readCache)
		}
	}
}

// fileSorted reports whether the entries of source's pull index file are
// in key order.
func fileSorted(t *testing.T, db *DB, source string) bool {
	t.Helper()
	b, err := os.ReadFile(db.pullIndexPath(source))
	if err != nil {
		t.Fatal(err)
	}
	b = b[:len(b)-trailerSize]
	for i := entrySize; i < len(b); i += entrySize {
		if readEntry(b[i:]).key.cmp(readEntry(b[i-entrySize:]).key) <= 0 {
			return false
		}
	}
	return true
}

// A pull that changed few records writes its index in key order, so the
// next load need not sort; one that changed more than it holds writes
// them as they come, and the load sorts.
func TestPullIndexOrder(t *testing.T) {
	defer func(n int) { maxHeld = n }(maxHeld)
	maxHeld = 7
	db, _ := openTest(t)
	recs := users(60, "a")
	snap := pull(t, db, testSource, recs)
	checkPullIndex(t, db, snap)
	if fileSorted(t, db, testSource.Name) {
		t.Error("60 new records, 7 held at most, came out in key order: keys are SHA-256, arrival is id order")
	}
	recs[7].Name, recs[40].Name = "x", "y"
	snap = pull(t, db, testSource, recs[:57])
	checkPullIndex(t, db, snap)
	if !fileSorted(t, db, testSource.Name) {
		t.Error("a pull with 2 changes and 3 leavers wrote its index out of order")
	}
}

// A database pulled again from scratch repeats snapshot ids and chain
// digests (neither covers time), and version ids may differ: another
// database's file for "the same" snapshot is not used.
func TestPullIndexOfAnotherDatabase(t *testing.T) {
	recs := users(20, "a")
	var snaps [2]idsnap.Snapshot
	var dbs [2]*DB
	for i := range dbs {
		dbs[i], _ = openTest(t)
		at := time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)
		dbs[i].now = func() time.Time { return at }
		snaps[i] = pull(t, dbs[i], testSource, recs)
	}
	if snaps[0].ID != snaps[1].ID || snaps[0].ChainDigest != snaps[1].ChainDigest {
		t.Fatalf("the two databases' snapshots differ: %d %s, %d %s", snaps[0].ID, snaps[0].ChainDigest, snaps[1].ID, snaps[1].ChainDigest)
	}
	b, err := os.ReadFile(dbs[0].pullIndexPath(testSource.Name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dbs[1].pullIndexPath(testSource.Name), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := dbs[1].readPullIndex(testSource.Name, snaps[1].ID, 20, snaps[1].ChainDigest, formatTime(snaps[1].TakenAt)); ok {
		t.Fatal("another database's pull index was read")
	}
}

// A pull killed while writing its index leaves a temporary file; the next
// commit of the source removes it, and keeps one written after it began
// to commit.
func TestPullIndexSweepsTemporaryFiles(t *testing.T) {
	db, _ := openTest(t)
	pull(t, db, testSource, users(5, "a"))
	old := db.pullIndexPath(testSource.Name) + ".tmp123"
	if err := os.WriteFile(old, []byte("left by a killed pull"), 0o600); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	fresh := db.pullIndexPath(testSource.Name) + ".tmp456"
	future := time.Now().Add(time.Minute)
	if err := os.WriteFile(fresh, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(fresh, future, future)
	checkPullIndex(t, db, pull(t, db, testSource, users(5, "a")))
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the killed pull's temporary file is still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a temporary file newer than the commit was removed: %v", err)
	}
}
