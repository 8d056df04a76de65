package main

import (
	"context"
	"io"
	"testing"

	"github.com/idsnap/idsnap/store"
)

func TestKindeCriticalPath(t *testing.T) {
	tests := []struct {
		name    string
		users   int
		members []int
		want    int
	}{
		// token, then 2 users pages ‖ 1 orgs page and one 1-page member listing
		{"users dominate", 1000, []int{10}, 3},
		// token, orgs page, then 8 one-page listings on 4 workers: 2 rounds
		{"members on four workers", 10, []int{1, 1, 1, 1, 1, 1, 1, 1}, 4},
		// one org with 2,000 members: 4 sequential member pages after the orgs page
		{"one big organization", 10, []int{2000}, 6},
		// no organizations: one (empty) orgs page
		{"no organizations", 500, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kindeCriticalPath(tt.users, tt.members, 4); got != tt.want {
				t.Errorf("kindeCriticalPath(%d, %v) = %d, want %d", tt.users, tt.members, got, tt.want)
			}
		})
	}
}

func TestZitadelCriticalPath(t *testing.T) {
	tests := []struct {
		name     string
		users    int
		projects int
		tasks    []int
		want     int
	}{
		// org lookup, then users: first page, then 9 more pages 4 at a time (3 rounds)
		{"users dominate", 10_000, 1, []int{3, 10}, 1 + 1 + 3},
		// org, projects page, then 8 one-page listings on 4 workers: 2 rounds
		{"listings on four workers", 10, 4, []int{3, 10, 3, 10, 3, 10, 3, 10}, 1 + 1 + 2},
		// a project with 5,000 grants: first page, then 4 pages at once
		{"one big project", 10, 1, []int{3, 5000}, 1 + 1 + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := zitadelCriticalPath(tt.users, tt.projects, tt.tasks, 4); got != tt.want {
				t.Errorf("zitadelCriticalPath = %d, want %d", got, tt.want)
			}
		})
	}
}

// benchPart runs one part of the bench command at a small scale, with its
// figures printed by -v; the full sizes run from `make bench`.
func benchPart(b *testing.B, part func(*bench) func(context.Context) error) {
	sc := scales["small"]
	for b.Loop() {
		bb := &bench{sc: sc, dir: b.TempDir(), out: io.Discard}
		if err := part(bb)(context.Background()); err != nil {
			b.Fatal(err)
		}
		for _, f := range bb.figs {
			b.Logf("%s: %s (vs %s) %s", f.name, f.value, f.against, f.ratio)
		}
	}
}

// BenchmarkPullKinde pulls a 10k-user, 200-organization Kinde tenant from
// the fake with 20 ms per request, commit included; likewise the others.
func BenchmarkPullKinde(b *testing.B) {
	benchPart(b, func(bb *bench) func(context.Context) error { return bb.pullKinde })
}

// BenchmarkPullOry pulls 10k Ory identities.
func BenchmarkPullOry(b *testing.B) {
	benchPart(b, func(bb *bench) func(context.Context) error { return bb.pullOry })
}

// BenchmarkPullZitadel pulls 10k ZITADEL users and 20 projects.
func BenchmarkPullZitadel(b *testing.B) {
	benchPart(b, func(bb *bench) func(context.Context) error { return bb.pullZitadel })
}

// BenchmarkCommitIngest stages and commits 40k records, and the baseline.
func BenchmarkCommitIngest(b *testing.B) {
	benchPart(b, func(bb *bench) func(context.Context) error { return bb.commit })
}

// BenchmarkChanges100k diffs two 100k-principal snapshots (1% churn).
func BenchmarkChanges100k(b *testing.B) {
	ctx := context.Background()
	w := newWorld(100_000, 21, 1)
	db, err := store.Open(ctx, b.TempDir()+"/diff.db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s1, err := w.pull(ctx, db, benchSource)
	if err != nil {
		b.Fatal(err)
	}
	w.churn(0.01)
	s2, err := w.pull(ctx, db, benchSource)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := db.Changes(ctx, s1.ID, s2.ID, store.ChangeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
