package store

import (
	"context"
	"slices"
	"testing"

	"github.com/idsnap/idsnap"
)

// checkPullIndex fails unless the pull index stored for snap is the index
// read from the versions themselves: every entry, activity included.
func checkPullIndex(t *testing.T, db *DB, snap idsnap.Snapshot) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	n := 0
	for _, c := range snap.Counts {
		n += int(c)
	}
	stored, ok, err := readPullIndex(ctx, conn, snap.Source, snap.ID, n)
	if err != nil || !ok {
		t.Fatalf("snapshot %d: no pull index (%v)", snap.ID, err)
	}
	defer stored.release()
	read, err := loadIndex(ctx, conn, snap.Source, n)
	if err != nil {
		t.Fatal(err)
	}
	defer read.release()
	if !slices.Equal(stored.ents, read.ents) {
		t.Fatalf("snapshot %d: the pull index (%d entries) is not the versions' (%d)", snap.ID, len(stored.ents), len(read.ents))
	}
}

// A pull index that does not match what it claims is never used: wrong
// snapshot, wrong count, a damaged part. The pull reads the versions
// instead, and its result is the same.
func TestPullIndexNotTrusted(t *testing.T) {
	ctx := context.Background()
	for _, damage := range []string{
		"UPDATE pull_index SET snapshot_id = snapshot_id - 1",
		"UPDATE pull_index SET entries = substr(entries, 1, 47)",
		"UPDATE pull_index SET entries = entries || entries",
		"DELETE FROM pull_index",
	} {
		t.Run(damage, func(t *testing.T) {
			db, _ := openTest(t)
			recs := users(50, "a")
			pull(t, db, testSource, recs)
			if _, err := db.sql.Exec(damage); err != nil {
				t.Fatal(err)
			}
			conn, err := db.sql.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, ok, err := readPullIndex(ctx, conn, testSource.Name, 1, 50)
			conn.Close()
			if err != nil || ok {
				t.Fatalf("readPullIndex after %q = %v, %v; want not ok", damage, ok, err)
			}
			recs[3].Name = "changed"
			snap := pull(t, db, testSource, recs)
			if got, want := state(t, db, snap.ID), expectState(t, testSource.Name, recs); !slices.EqualFunc(got, want, func(a, b idsnap.Record) bool { return a.ID == b.ID && a.Name == b.Name }) {
				t.Fatalf("state after a pull without the index differs")
			}
			checkPullIndex(t, db, snap)
		})
	}
}

// An aborted pull leaves the stored index as it was; prune drops the
// pruned source's, and the pull after it writes it afresh.
func TestPullIndexAbortAndPrune(t *testing.T) {
	ctx := context.Background()
	db, _, day0 := yearDB(t, 6)
	snaps, err := db.Snapshots(ctx, testSource.Name)
	if err != nil {
		t.Fatal(err)
	}
	last := snaps[len(snaps)-1]
	st, err := db.Stage(ctx, testSource)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range users(20, "b") {
		if err := st.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	st.Abort()
	checkPullIndex(t, db, last)
	if _, err := db.Prune(ctx, day0.AddDate(0, 0, 3), testSource.Name, false); err != nil {
		t.Fatal(err)
	}
	var n int
	db.sql.QueryRow("SELECT count(*) FROM pull_index p JOIN sources s ON s.id = p.source_id WHERE s.name = ?", testSource.Name).Scan(&n)
	if n != 0 {
		t.Fatalf("%d pull_index rows of the pruned source, want none", n)
	}
	checkPullIndex(t, db, pull(t, db, testSource, users(30, "c")))
}

// An index that does not tally with the versions the digest read is not
// kept: here an entry of the loaded index is damaged before the commit
// writes it back. The next pull reads the versions and stores a good one.
// Parts are small here, so the index spans several.
func TestPullIndexCheckedAtCommit(t *testing.T) {
	defer func(n int) { partEntries = n }(partEntries)
	partEntries = 7
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
	var n int
	db.sql.QueryRow("SELECT count(*) FROM pull_index").Scan(&n)
	if n != 0 {
		t.Fatalf("%d pull_index rows after a commit whose index did not tally, want none", n)
	}
	if got, want := len(state(t, db, snap.ID)), 40; got != want {
		t.Fatalf("%d users, want %d", got, want)
	}
	checkPullIndex(t, db, pull(t, db, testSource, recs))
	db.sql.QueryRow("SELECT count(*) FROM pull_index").Scan(&n)
	if n != 6 {
		t.Errorf("%d parts for 40 entries of 7, want 6", n)
	}
}
