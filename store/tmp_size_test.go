package store

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

func BenchmarkTmpSize(b *testing.B) {
	const n, days = 10_000, 100
	for b.Loop() {
		db := benchOpen(b, b.TempDir())
		rng := rand.New(rand.NewPCG(3, 3))
		recs := make([]idsnap.Record, n)
		for i := range recs {
			recs[i] = benchUser(i, 0, rng)
		}
		benchPull(b, db, recs)
		for day := 1; day < days; day++ {
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
			benchPull(b, db, recs)
		}
		dbSize(b, db)
		rows, err := db.sql.Query("SELECT name, sum(pgsize), sum(ncell), sum(unused) FROM dbstat GROUP BY name ORDER BY 2 DESC")
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var name string
			var sz, cells, unused int64
			rows.Scan(&name, &sz, &cells, &unused)
			b.Logf("%-20s %10d bytes %8d cells %9d unused", name, sz, cells, unused)
		}
		rows.Close()
	}
}
