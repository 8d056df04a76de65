package roster

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/report/people"
)

// BenchmarkCheck runs the roster rules over 100,000 accounts in two
// sources (each holding a grant) against a roster of 100,000 people, 2,000
// of them terminated; history answers from memory, so this measures
// reading, matching, linking and the rules, not SQLite.
func BenchmarkCheck(b *testing.B) {
	const n, leavers = 100_000, 2_000
	var csv bytes.Buffer
	csv.WriteString("email,status,employee_id,end_date\n")
	for i := range n {
		status, end := "active", ""
		if i%(n/leavers) == 0 {
			status, end = "terminated", "2026-11-01"
		}
		fmt.Fprintf(&csv, "p%d@acme.com,%s,E%d,%s\n", i, status, i, end)
	}
	r, err := Parse("hr.csv", csv.Bytes(), nil)
	if err != nil {
		b.Fatal(err)
	}
	var in []report.State
	h := &fakeHistory{snaps: map[string][]idsnap.Snapshot{}}
	for s, src := range []string{"kinde", "zitadel"} {
		snap := idsnap.Snapshot{ID: int64(s + 1), Source: src, TakenAt: now}
		h.snaps[src] = []idsnap.Snapshot{snap}
		recs := make([]idsnap.Record, 0, n)
		for i := range n / 2 {
			email := fmt.Sprintf("P%d@acme.com", i*2+s)
			recs = append(recs, user(fmt.Sprintf("u%07d", i), email, idsnap.StatusActive, now.AddDate(-1, 0, 0)))
		}
		for i := range n / 2 {
			recs = append(recs, grant(fmt.Sprintf("u%07d", i), "org:member"))
		}
		in = append(in, report.StateOf(snap, recs...))
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := Check(context.Background(), in, r, people.Config{}, FindingsConfig{}, h)
		if err != nil {
			b.Fatal(err)
		}
		if res.Rules[0].Fail != leavers {
			b.Fatalf("terminated-with-access FAILs = %d, want %d", res.Rules[0].Fail, leavers)
		}
	}
}
