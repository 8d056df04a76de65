package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

// benchUser is a Kinde-shaped user of realistic size (about 450 bytes of raw).
func benchUser(i, gen int, rng *rand.Rand) idsnap.Record {
	id := fmt.Sprintf("kp_%016x", i*7919+1)
	email := fmt.Sprintf("user%d.g%d@example.com", i, gen)
	verified := true
	return idsnap.Record{
		Kind: idsnap.KindUser, ID: id, Email: email, EmailVerified: &verified,
		Username: fmt.Sprintf("user%d", i), Name: fmt.Sprintf("First%d Last%d", i, gen), Status: idsnap.StatusActive,
		Type: idsnap.AccountHuman, ExternalID: fmt.Sprintf("ext-%d", i), CreatedAt: time.Date(2025, 1, 1, 0, 0, i%86400, 0, time.UTC),
		Raw: []byte(fmt.Sprintf(`{"id":%q,"provided_id":"ext-%d","preferred_email":%q,"phone":null,"username":"user%d","last_name":"Last%d","first_name":"First%d","is_suspended":false,"picture":"https://gravatar.com/avatar/%032x","total_sign_ins":null,"failed_sign_ins":null,"last_signed_in":null,"created_on":"2025-01-01T00:00:00.000000+00:00","organizations":["org_%x"],"identities":[{"type":"email","identity":%q}]}`,
			id, i, email, i, gen, i, i, i%50, email)),
		Activity: &idsnap.Activity{SignIns: int64(rng.IntN(100)), LastSignIn: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(1e7)) * time.Second)},
	}
}

func benchPull(b *testing.B, db *DB, recs []idsnap.Record) idsnap.Snapshot {
	b.Helper()
	ctx := context.Background()
	st, err := db.Stage(ctx, testSource)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range recs {
		if err := st.Put(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	s, err := st.Commit(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// dbSize is the database's size once the WAL is checkpointed.
func dbSize(b *testing.B, db *DB) int64 {
	b.Helper()
	if _, err := db.sql.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	var pages, size int64
	db.sql.QueryRow("PRAGMA page_count").Scan(&pages)
	db.sql.QueryRow("PRAGMA page_size").Scan(&size)
	return pages * size
}

func benchOpen(b *testing.B, dir string) *DB {
	b.Helper()
	db, err := Open(context.Background(), filepath.Join(dir, "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkCommit100k stages and commits 100k principals: into an empty
// database (first pull), and again with 0.5% churn and 20% signing in
// (a daily pull).
func BenchmarkCommit100k(b *testing.B) {
	const n = 100_000
	rng := rand.New(rand.NewPCG(1, 1))
	recs := make([]idsnap.Record, n)
	for i := range recs {
		recs[i] = benchUser(i, 0, rng)
	}
	b.Run("first", func(b *testing.B) {
		var size int64
		for b.Loop() {
			b.StopTimer()
			dir := b.TempDir()
			db := benchOpen(b, dir)
			b.StartTimer()
			benchPull(b, db, recs)
			b.StopTimer()
			size = dbSize(b, db)
			db.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		b.ReportMetric(float64(size)/1e6, "MB")
	})
	b.Run("daily", func(b *testing.B) {
		db := benchOpen(b, b.TempDir())
		defer db.Close()
		benchPull(b, db, recs)
		gen := 0
		for b.Loop() {
			b.StopTimer()
			gen++
			for range n / 200 {
				i := rng.IntN(n)
				recs[i] = benchUser(i, gen, rng)
			}
			for range n / 5 {
				i := rng.IntN(n)
				a := *recs[i].Activity
				a.SignIns++
				recs[i].Activity = &a
			}
			b.StartTimer()
			benchPull(b, db, recs)
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

// BenchmarkPut measures staging alone.
func BenchmarkPut(b *testing.B) {
	db := benchOpen(b, b.TempDir())
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	ctx := context.Background()
	st, _ := db.Stage(ctx, testSource)
	defer st.Abort()
	i := 0
	for b.Loop() {
		if err := st.Put(ctx, benchUser(i, 0, rng)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// bench1MDB is the 1M-principal database of the benchmarks.
type bench1MDB struct {
	once     sync.Once
	dir      string
	db       *DB
	from, to int64
	size     int64
}

var changes1M bench1MDB

// benchDBEnv names an existing database (for example the bench command's
// diff.db, kept with -keep) whose source's last two snapshots
// BenchmarkChanges1M and BenchmarkState1M use instead of building their own:
// building two 1M-principal snapshots takes minutes.
const benchDBEnv = "IDSNAP_BENCH_DB"

// bench1M opens or builds the 1M-principal database, once per test binary.
func bench1M(b *testing.B) *bench1MDB {
	c := &changes1M
	c.once.Do(func() {
		if path := os.Getenv(benchDBEnv); path != "" {
			db, err := Open(context.Background(), path)
			if err != nil {
				b.Fatal(err)
			}
			snaps, err := db.Snapshots(context.Background(), "")
			if err != nil || len(snaps) < 2 {
				b.Fatalf("%s: want two snapshots: %v", path, err)
			}
			c.db, c.from, c.to = db, snaps[len(snaps)-2].ID, snaps[len(snaps)-1].ID
			c.size = dbSize(b, db)
			return
		}
		const n = 1_000_000
		c.dir, _ = os.MkdirTemp("", "idsnap-bench")
		c.db = benchOpen(b, c.dir)
		rng := rand.New(rand.NewPCG(2, 2))
		recs := make([]idsnap.Record, n)
		for i := range recs {
			recs[i] = benchUser(i, 0, rng)
		}
		c.from = benchPull(b, c.db, recs).ID
		for range n / 100 {
			i := rng.IntN(n)
			recs[i] = benchUser(i, 1, rng)
		}
		start := time.Now()
		c.to = benchPull(b, c.db, recs).ID
		b.Logf("second 1M pull (stage+commit) took %v", time.Since(start))
		c.size = dbSize(b, c.db)
	})
	return c
}

// BenchmarkChanges1M diffs two 1M-principal snapshots with 1% churn. The
// database is built once per test binary run; it takes a while (see
// benchDBEnv).
func BenchmarkChanges1M(b *testing.B) {
	c := bench1M(b)
	var got int
	for b.Loop() {
		cs, err := c.db.Changes(context.Background(), c.from, c.to, ChangeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		got = len(cs)
	}
	b.ReportMetric(float64(got), "changes")
	b.ReportMetric(float64(c.size)/1e6, "MB")
}

// benchDay is one day of BenchmarkYear10k's tenant: 0.5% churn and 20%
// signing in.
func benchDay(rng *rand.Rand, recs []idsnap.Record, day int) {
	n := len(recs)
	for range n / 200 {
		i := rng.IntN(n)
		recs[i] = benchUser(i, day, rng)
	}
	for range n / 5 {
		i := rng.IntN(n)
		a := *recs[i].Activity
		a.SignIns++
		a.LastSignIn = a.LastSignIn.Add(24 * time.Hour)
		recs[i].Activity = &a
	}
}

// BenchmarkYear10k is the storage target scaled down: 365 daily pulls of
// 10k principals, 0.5% churn and 20% signing in each day. It reports the
// final size as a multiple of the size after one pull (target: at most 5).
func BenchmarkYear10k(b *testing.B) {
	const n, days = 10_000, 365
	for b.Loop() {
		db := benchOpen(b, b.TempDir())
		rng := rand.New(rand.NewPCG(3, 3))
		recs := make([]idsnap.Record, n)
		for i := range recs {
			recs[i] = benchUser(i, 0, rng)
		}
		benchPull(b, db, recs)
		one := dbSize(b, db)
		for day := 1; day < days; day++ {
			benchDay(rng, recs, day)
			benchPull(b, db, recs)
		}
		year := dbSize(b, db)
		db.Close()
		b.ReportMetric(float64(one)/1e6, "MB-one")
		b.ReportMetric(float64(year)/1e6, "MB-year")
		b.ReportMetric(float64(year)/float64(one), "x-one")
	}
}

// BenchmarkState1M streams the later snapshot of the 1M-principal database
// (every user and grant), as access and findings do.
func BenchmarkState1M(b *testing.B) {
	c := bench1M(b)
	var n int
	for b.Loop() {
		n = 0
		err := c.db.State(context.Background(), c.to, func(r idsnap.Record) error {
			n++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "records")
}
