package zitadel

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch/zitadel/zitadeltest"
)

// BenchmarkPull pulls 10k users and 50 projects from the in-process fake
// (loopback HTTP, rate limit lifted by newEnv).
func BenchmarkPull(b *testing.B) {
	tenant := zitadeltest.Generate(1, 10_000, 50)
	e := newEnv(b, tenant, zitadeltest.Config{}, idsnap.Source{})
	var n atomic.Int64
	b.ResetTimer()
	for b.Loop() {
		if err := e.f.Fetch(context.Background(), func(context.Context, idsnap.Record) error { n.Add(1); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n.Load())/float64(b.N), "records/op")
	b.ReportMetric(float64(e.f.c.Stats().Requests)/float64(b.N), "requests/op")
}
