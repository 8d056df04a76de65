package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

// yearDB pulls a changing tenant once a day for days days, and another
// source once a week, with the clock following.
func yearDB(t testing.TB, days int) (*DB, string, time.Time) {
	db, path := openTest(t)
	day0 := time.Date(2025, 1, 1, 3, 0, 0, 0, time.UTC)
	var day int
	db.now = func() time.Time { return day0.AddDate(0, 0, day) }
	tn := newTenant(11)
	other := idsnap.Source{Name: "ory-test", Provider: "ory"}
	for day = range days {
		if day > 0 {
			tn.mutate()
		}
		pull(t, db, testSource, tn.records())
		if day%7 == 0 {
			pull(t, db, other, []idsnap.Record{{Kind: idsnap.KindUser, ID: fmt.Sprint("o", day/14)}})
		}
	}
	return db, path, day0
}

// snapshotReading is everything a reader gets from one snapshot: its row,
// its state, and the changes (with and without activity) since the
// source's previous snapshot, as JSON so comparisons are byte for byte.
func snapshotReading(t testing.TB, db *DB, prev, id int64) string {
	t.Helper()
	s, err := db.Snapshot(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{"snapshot": s, "state": state(t, db, id)}
	if prev != 0 {
		for _, act := range []bool{false, true} {
			cs, err := db.Changes(context.Background(), prev, id, ChangeOptions{Activity: act})
			if err != nil {
				t.Fatalf("Changes(%d, %d): %v", prev, id, err)
			}
			out[fmt.Sprint("changes ", act)] = cs
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readings reads every snapshot: alone (alone[id]) and with the changes
// from its source's previous snapshot (paired[id]).
func readings(t testing.TB, db *DB) (alone, paired map[int64]string) {
	snaps, err := db.Snapshots(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	alone, paired = map[int64]string{}, map[int64]string{}
	prev := map[string]int64{}
	for _, s := range snaps {
		alone[s.ID] = snapshotReading(t, db, 0, s.ID)
		if prev[s.Source] != 0 {
			paired[s.ID] = snapshotReading(t, db, prev[s.Source], s.ID)
		}
		prev[s.Source] = s.ID
	}
	return alone, paired
}

// TestPruneYear prunes the first 200 days of a year of daily snapshots:
// every kept snapshot reads (row, state, diff from its predecessor) byte
// for byte as before, check finds the digests and chain sound from the
// anchor, a dry run changes nothing, and pulls go on chaining.
func TestPruneYear(t *testing.T) {
	ctx := context.Background()
	db, _, day0 := yearDB(t, 365)
	aloneBefore, pairedBefore := readings(t, db)
	all, _ := db.Snapshots(ctx, "")
	versions0, activity0 := countRows(t, db, "versions"), countRows(t, db, "activity")
	cut := day0.AddDate(0, 0, 200)

	dry, err := db.Prune(ctx, cut, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := db.Snapshots(ctx, ""); len(n) != len(all) || countRows(t, db, "versions") != versions0 {
		t.Fatalf("dry run removed something: %d of %d snapshots left", len(n), len(all))
	}
	res, err := db.Prune(ctx, cut, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Snapshots) != len(dry.Snapshots) || res.Versions != dry.Versions || res.Activity != dry.Activity {
		t.Errorf("dry run said %d snapshots, %d versions, %d activity rows; prune removed %d, %d, %d",
			len(dry.Snapshots), dry.Versions, dry.Activity, len(res.Snapshots), res.Versions, res.Activity)
	}
	// 200 daily snapshots, and the weekly ones of days 0, 7, ..., 196.
	if len(res.Snapshots) != 200+29 || len(res.Sources) != 2 {
		t.Fatalf("pruned %d snapshots, %d anchors; want 229, 2", len(res.Snapshots), len(res.Sources))
	}
	if res.Versions == 0 || res.Activity == 0 {
		t.Errorf("pruned %d versions, %d activity rows: the year's churn should leave some only pruned snapshots saw", res.Versions, res.Activity)
	}
	if got, want := countRows(t, db, "versions"), versions0-int(res.Versions); got != want {
		t.Errorf("versions: %d rows, want %d", got, want)
	}
	if got, want := countRows(t, db, "activity"), activity0-int(res.Activity); got != want {
		t.Errorf("activity: %d rows, want %d", got, want)
	}
	kept, _ := db.Snapshots(ctx, "")
	if len(kept) != len(all)-len(res.Snapshots) {
		t.Fatalf("%d snapshots left, want %d", len(kept), len(all)-len(res.Snapshots))
	}
	aloneAfter, pairedAfter := readings(t, db)
	for _, s := range kept {
		if s.TakenAt.Before(cut) && s.ID != lastOf(all, s.Source) {
			t.Errorf("snapshot %d taken %s survived a prune before %s", s.ID, s.TakenAt, cut)
		}
		if aloneAfter[s.ID] != aloneBefore[s.ID] {
			t.Errorf("snapshot %d of %s reads differently after the prune", s.ID, s.Source)
		}
		// The first kept snapshot has lost its predecessor; every later
		// one diffs from the same predecessor as before.
		if p, ok := pairedAfter[s.ID]; ok && p != pairedBefore[s.ID] {
			t.Errorf("the diff into snapshot %d of %s reads differently after the prune", s.ID, s.Source)
		}
	}
	if len(pairedAfter) != len(kept)-2 {
		t.Errorf("%d diffs compared, want %d", len(pairedAfter), len(kept)-2)
	}
	for _, p := range res.Sources {
		if a := p.Anchor; a.TakenAt.After(cut) || a.ChainDigest == "" || a.SnapshotID != lastOf(res.Snapshots, a.Source) {
			t.Errorf("anchor %+v", a)
		}
	}

	chk, err := db.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(chk.Problems) > 0 || chk.Snapshots != len(kept) || len(chk.Anchors) != 2 {
		t.Errorf("check after prune: %d snapshots, %d anchors, problems %q", chk.Snapshots, len(chk.Anchors), chk.Problems)
	}
	if err := db.Vacuum(ctx); err != nil {
		t.Fatal(err)
	}
	// The next pull chains from the kept history; a second prune moves the
	// anchor forward.
	db.now = func() time.Time { return day0.AddDate(0, 0, 400) }
	last := lastOf(kept, testSource.Name)
	next := pull(t, db, testSource, state(t, db, last))
	if next.ChainDigest != chainDigest(snapOf(t, db, last).ChainDigest, next.Digest) {
		t.Errorf("the pull after a prune does not chain from snapshot %d", last)
	}
	if _, err := db.Prune(ctx, day0.AddDate(0, 0, 300), testSource.Name, false); err != nil {
		t.Fatal(err)
	}
	if chk, err := db.Check(ctx); err != nil || len(chk.Problems) > 0 {
		t.Errorf("check after a second prune: %v %q", err, chk.Problems)
	}
}

func lastOf(snaps []idsnap.Snapshot, source string) int64 {
	var id int64
	for _, s := range snaps {
		if s.Source == source {
			id = s.ID
		}
	}
	return id
}

func snapOf(t testing.TB, db *DB, id int64) idsnap.Snapshot {
	s, err := db.Snapshot(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPruneKeepsLatest: a prune past every snapshot keeps each source's
// newest, and an unknown source is an error.
func TestPruneKeepsLatest(t *testing.T) {
	ctx := context.Background()
	db, _, _ := yearDB(t, 10)
	res, err := db.Prune(ctx, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), "", false)
	if err != nil {
		t.Fatal(err)
	}
	snaps, _ := db.Snapshots(ctx, "")
	if len(snaps) != 2 || len(res.Snapshots) != 10+2-2 {
		t.Errorf("after pruning everything: %d snapshots left (want 2, each source's latest), %d pruned", len(snaps), len(res.Snapshots))
	}
	if chk, err := db.Check(ctx); err != nil || len(chk.Problems) > 0 {
		t.Errorf("check: %v %q", err, chk.Problems)
	}
	if _, err := db.Prune(ctx, time.Now(), "nope", false); err == nil {
		t.Error("prune of an unknown source: no error")
	}
}

// TestCheckFindsTampering: a changed version hash, a rewritten chain digest
// and a dangling reference are each one problem line.
func TestCheckFindsTampering(t *testing.T) {
	ctx := context.Background()
	db, _, _ := yearDB(t, 5)
	if chk, err := db.Check(ctx); err != nil || len(chk.Problems) > 0 || chk.Integrity != "ok" {
		t.Fatalf("check of a sound database: %v %+v", err, chk)
	}
	mustExec(t, db.sql, "UPDATE versions SET hash = x'00' WHERE id = (SELECT max(id) FROM versions WHERE kind = 1 AND source_id = 1)")
	mustExec(t, db.sql, "UPDATE snapshots SET chain_digest = '00' WHERE id = 2")
	chk, err := db.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(chk.Problems) < 2 {
		t.Errorf("check after tampering: %q, want a digest and a chain problem", chk.Problems)
	}
	raw, err := sqlOpen(db.path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	mustExec(t, raw, "PRAGMA foreign_keys = OFF; INSERT INTO activity (version_id, valid_from) VALUES (999999, 1)")
	if chk, _ := db.Check(ctx); chk.ForeignKeys != 1 {
		t.Errorf("foreign_key_check found %d rows, want 1", chk.ForeignKeys)
	}
}

// BenchmarkPruneYear10k builds BenchmarkYear10k's year (365 daily pulls of
// 10k principals, 0.5% churn and 20% signing in a day), then prunes the
// first half, vacuums, prunes one more day (what [retention] does after
// each pull) and checks the rest. It reports the file's size before, after
// the prune and after VACUUM, and the time each step takes.
func BenchmarkPruneYear10k(b *testing.B) {
	const n, days = 10_000, 365
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		db := benchOpen(b, b.TempDir())
		day0 := time.Date(2025, 1, 1, 3, 0, 0, 0, time.UTC)
		var day int
		db.now = func() time.Time { return day0.AddDate(0, 0, day) }
		rng := rand.New(rand.NewPCG(3, 3))
		recs := make([]idsnap.Record, n)
		for i := range recs {
			recs[i] = benchUser(i, 0, rng)
		}
		for day = range days {
			benchDay(rng, recs, day)
			benchPull(b, db, recs)
		}
		year := dbSize(b, db)
		b.StartTimer()
		step := func(name string, fn func() error) {
			start := time.Now()
			if err := fn(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(start).Seconds(), "s-"+name)
		}
		step("prune-half", func() error { _, err := db.Prune(ctx, day0.AddDate(0, 0, days/2), "", false); return err })
		pruned := dbSize(b, db)
		step("vacuum", func() error { return db.Vacuum(ctx) })
		vacuumed := dbSize(b, db)
		step("prune-day", func() error { _, err := db.Prune(ctx, day0.AddDate(0, 0, days/2+1), "", false); return err })
		step("check", func() error {
			res, err := db.Check(ctx)
			if err == nil && len(res.Problems) > 0 {
				err = fmt.Errorf("check: %q", res.Problems)
			}
			return err
		})
		db.Close()
		b.ReportMetric(float64(year)/1e6, "MB-year")
		b.ReportMetric(float64(pruned)/1e6, "MB-pruned")
		b.ReportMetric(float64(vacuumed)/1e6, "MB-vacuumed")
	}
}
