package kinde_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/kinde"
	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
)

// BenchmarkPull pulls a generated 10k-user, 200-organization tenant from the
// fake on loopback, rate limit off: the fetcher's own cost (decoding,
// records, concurrency) plus the fake's.
func BenchmarkPull(b *testing.B) {
	tenant := kindetest.Generate(42, 10_000, 200)
	srv := newServer(b, tenant, kindetest.Config{})
	c := fetch.NewClient(fetch.Options{RequestsPerSecond: 1e9})
	f, err := kinde.New(source(srv.URL), c)
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	emit := func(context.Context, idsnap.Record) error { n.Add(1); return nil }
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := f.Fetch(context.Background(), emit); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n.Load())/float64(b.N), "records/op")
	b.ReportMetric(float64(c.Stats().Requests)/float64(b.N), "requests/op")
}
