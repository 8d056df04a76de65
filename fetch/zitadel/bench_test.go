package zitadel

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch/internal/rawjson"
	"github.com/idsnap/idsnap/fetch/zitadel/zitadeltest"
)

// BenchmarkPull pulls a generated tenant from the in-process fake (loopback
// HTTP, rate limit lifted by newEnv) into an emit that only counts: the
// CPU of the fetch alone, fake and fetcher, without a store. Profile it
// with -cpuprofile; the fake's share is under zitadeltest and net/http's
// server side. cpu-ms/op is the process's CPU time, fake included: the
// machine is shared, and CPU time moves less with its load than ns/op.
func BenchmarkPull(b *testing.B) {
	for _, sz := range []struct{ users, projects int }{{10_000, 50}, {20_000, 40}} {
		b.Run(fmt.Sprintf("users=%d/projects=%d", sz.users, sz.projects), func(b *testing.B) {
			tenant := zitadeltest.Generate(1, sz.users, sz.projects)
			e := newEnv(b, tenant, zitadeltest.Config{}, idsnap.Source{})
			var n atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for b.Loop() {
				if err := e.f.Fetch(context.Background(), func(context.Context, idsnap.Record) error { n.Add(1); return nil }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(n.Load())/float64(b.N), "records/op")
			b.ReportMetric(float64(e.f.c.Stats().Requests)/float64(b.N), "requests/op")
		})
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGrantRecord is one grant of the fake on its way to a record:
// decoded, and cleaned by grantFilter with its roleKey added.
func BenchmarkGrantRecord(b *testing.B) {
	src := []byte(`{"id":"301234567890123456","details":{"sequence":"17","creationDate":"2025-01-01T00:00:00.123Z","changeDate":"2025-03-02T11:00:00Z","resourceOwner":"300000000000000001"},"roleKeys":["admin","viewer"],"state":"USER_GRANT_STATE_ACTIVE","userId":"301234567890000001","userName":"user1@example.com","firstName":"Zoë","lastName":"Müller","email":"user1@example.com","displayName":"Zoë Müller","orgId":"300000000000000001","orgName":"Acme","orgDomain":"acme.example.com","projectId":"300000000000000100","projectName":"App","preferredLoginName":"user1@example.com","userType":"TYPE_HUMAN"}`)
	key := rawjson.String("admin")
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	buf := newGrantBuf()
	for b.Loop() {
		ok, err := buf.read(src)
		if err != nil || buf.g.ID == "" || !ok {
			b.Fatal("decode", err, ok)
		}
		_ = rawjson.With(make([]byte, 0, len(buf.clean)+len(key)+12), buf.clean, rawjson.Member{Key: "roleKey", Value: key})
	}
}
