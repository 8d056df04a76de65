package report

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

// tenantSnaps: source "k" moves from business a to b at snapshot 4;
// source "o" stays on one project.
func tenantSnaps() []idsnap.Snapshot {
	k := func(id int64, url string) idsnap.Snapshot {
		return idsnap.Snapshot{ID: id, Source: "k", Provider: "kinde", BaseURL: url, TakenAt: t0.Add(time.Duration(id) * time.Hour)}
	}
	o := func(id int64) idsnap.Snapshot {
		return idsnap.Snapshot{ID: id, Source: "o", Provider: "ory", BaseURL: "https://p.projects.oryapis.com", TakenAt: t0.Add(time.Duration(id) * time.Hour)}
	}
	return []idsnap.Snapshot{k(1, "https://a.kinde.com"), o(2), k(3, "https://a.kinde.com"), k(4, "https://b.kinde.com"), o(5), k(6, "https://b.kinde.com")}
}

func TestSplitSpan(t *testing.T) {
	snaps := tenantSnaps()
	sp := Span{From: Point{Snapshot: snaps[0], Earliest: true}, To: Point{Snapshot: snaps[5]}}
	parts, changes := SplitSpan(snaps, sp)
	if len(changes) != 1 || changes[0].Before.ID != 3 || changes[0].After.ID != 4 {
		t.Fatalf("changes = %v, want 3 to 4", changes)
	}
	var got []string
	for _, p := range parts {
		got = append(got, p.From.Snapshot.Source+":"+itoa(p.From.Snapshot.ID)+"-"+itoa(p.To.Snapshot.ID))
	}
	if strings.Join(got, " ") != "k:1-3 k:4-6" || !parts[0].From.Earliest {
		t.Errorf("parts = %v (first earliest %v), want k:1-3 k:4-6 keeping the start's mark", got, parts[0].From.Earliest)
	}
	whole := Span{From: Point{Snapshot: snaps[1]}, To: Point{Snapshot: snaps[4]}}
	if parts, changes := SplitSpan(snaps, whole); len(parts) != 1 || parts[0].From.Snapshot.ID != 2 || parts[0].To.Snapshot.ID != 5 || changes != nil {
		t.Errorf("one tenant: parts %v, changes %v; want the span whole", parts, changes)
	}
}

func TestCompareRefusesAcrossTenants(t *testing.T) {
	snaps := tenantSnaps()
	// k: 3 (business a) to 6 (b), o: 2 to 5.
	since, _ := ParseWhen(t0.Add(3*time.Hour+30*time.Minute).Format(time.RFC3339), t0, time.UTC)
	until, _ := ParseWhen("latest", t0, time.UTC)
	calls := 0
	changes := func(ctx context.Context, from, to int64) ([]idsnap.Change, error) {
		calls++
		return []idsnap.Change{{Type: idsnap.Joined, Kind: idsnap.KindUser, ID: "u", After: user("u", "", "", idsnap.StatusActive)}}, nil
	}
	q := DiffQuery{Since: since, Until: until}
	d, err := Compare(context.Background(), snaps, q, changes)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Sources) != 1 || d.Sources[0].Source != "o" || calls != 1 {
		t.Errorf("compared %v (%d reads), want only o", d.Sources, calls)
	}
	if len(d.Skipped) != 1 || d.Skipped[0].Source != "k" || !strings.HasPrefix(d.Skipped[0].Reason, "tenant changed from snapshot 3 to 4 ") {
		t.Errorf("skipped = %v, want k refused", d.Skipped)
	}

	since, _ = ParseWhen("3", t0, time.UTC)
	until, _ = ParseWhen("6", t0, time.UTC)
	q = DiffQuery{Since: since, Until: until}
	if _, err := Compare(context.Background(), snaps, q, changes); err == nil ||
		err.Error() != "k: tenant changed from snapshot 3 to 4 (base URL https://a.kinde.com → https://b.kinde.com): diffs across it are refused; compare within one tenant, or pass --across-tenants" {
		t.Errorf("k 3 to 6: err = %v", err)
	}
	q.AcrossTenants = true
	d, err = Compare(context.Background(), snaps, q, changes)
	if err != nil || len(d.Sources) != 1 || len(d.Sources[0].TenantChanges) != 1 {
		t.Fatalf("--across-tenants: %v, %+v", err, d)
	}
	var b strings.Builder
	if err := RenderDiff(&b, FormatJSON, d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"across_tenants": true`) || !strings.Contains(b.String(), `"tenant_changes"`) {
		t.Errorf("json not marked:\n%s", b.String())
	}
}
