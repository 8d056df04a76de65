package findings

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/report/people"
)

// synthetic is a tenant of n users in two sources: half in a Kinde-like
// source with sign-in data, half in a ZITADEL-like one without, 20 roles
// on 5 projects, two grants per user, every fifth email shared across the
// sources.
func synthetic(n int) []report.State {
	var kinde, zitadel []idsnap.Record
	for p := range 5 {
		for _, src := range []*[]idsnap.Record{&kinde, &zitadel} {
			*src = append(*src, idsnap.Record{Kind: idsnap.KindResource, ID: fmt.Sprintf("p%d", p), Name: fmt.Sprintf("Project %d", p)})
			for _, role := range []string{"admin", "viewer", "editor", "owner"} {
				*src = append(*src, idsnap.Record{Kind: idsnap.KindEntitlement, ID: fmt.Sprintf("p%d:%s", p, role), ResourceID: fmt.Sprintf("p%d", p), Name: role})
			}
		}
	}
	verified := true
	for i := range n {
		src := &kinde
		r := idsnap.Record{
			Kind: idsnap.KindUser, ID: fmt.Sprintf("u%07d", i), Email: fmt.Sprintf("user%d@acme.com", i),
			Name: fmt.Sprintf("User %d", i), Status: idsnap.StatusActive, Type: idsnap.AccountHuman,
			EmailVerified: &verified, CreatedAt: at.AddDate(0, 0, -i%400),
		}
		if i%2 == 0 {
			r.Activity = &idsnap.Activity{LastSignIn: at.AddDate(0, 0, -i%200), SignIns: int64(i % 7)}
		} else {
			src = &zitadel
			if i%5 == 0 {
				r.Email = fmt.Sprintf("user%d@acme.com", i-1)
			}
		}
		if i%50 == 0 {
			r.Status = idsnap.StatusSuspended
		}
		*src = append(*src, r)
		for _, role := range []string{"viewer", "admin"} {
			if role == "admin" && i%10 != 0 {
				continue
			}
			e := fmt.Sprintf("p%d:%s", i%5, role)
			*src = append(*src, idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(r.ID, e), PrincipalID: r.ID, EntitlementID: e, ResourceID: fmt.Sprintf("p%d", i%5)})
		}
	}
	return []report.State{
		stateOf("kinde", 1, at, kinde...),
		stateOf("zitadel", 2, at, zitadel...),
	}
}

func BenchmarkFindings(b *testing.B) {
	in := synthetic(100_000)
	ctx := context.Background()
	b.ResetTimer()
	var res *Result
	for b.Loop() {
		var err error
		res, err = Run(ctx, in, Config{}, people.Config{})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(res.Len()), "findings")
	// What a result keeps alive: the heap with it minus the heap without.
	var with, without runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&with)
	n := res.Len()
	res = nil
	runtime.GC()
	runtime.ReadMemStats(&without)
	b.ReportMetric(float64(int64(with.HeapAlloc)-int64(without.HeapAlloc))/(1<<20), "result-MiB")
	res, _ = Run(ctx, in, Config{}, people.Config{})
	if res.Len() != n {
		b.Fatalf("second run: %d findings, first %d", res.Len(), n)
	}
	start := time.Now()
	if err := Render(io.Discard, report.FormatJSON, res); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds()), "json-render-ms")
}

func BenchmarkPeople(b *testing.B) {
	in := synthetic(100_000)
	ctx := context.Background()
	for b.Loop() {
		if _, err := people.Run(ctx, in, people.Config{}, true); err != nil {
			b.Fatal(err)
		}
	}
}
