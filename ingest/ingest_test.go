package ingest_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/ingest"
	"github.com/idsnap/idsnap/store"
)

// fetcher emits n users, then fails with err (when not nil); tenant, when
// set, is the org it says it read.
type fetcher struct {
	n      int
	err    error
	tenant string
}

func (f fetcher) Fetch(ctx context.Context, emit fetch.Emit) error {
	for i := range f.n {
		if err := emit(ctx, idsnap.Record{Kind: idsnap.KindUser, ID: string(rune('a' + i))}); err != nil {
			return err
		}
	}
	return f.err
}

type tenanted struct{ fetcher }

func (t tenanted) Tenant() string { return t.tenant }

func open(t *testing.T) *store.DB {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "idsnap.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var src = idsnap.Source{Name: "z", Provider: "zitadel"}

// A failed fetch commits nothing, and the source still takes a pull; the
// hooks see each record and the commit; a fetcher that learned its tenant
// names the snapshot's org.
func TestPull(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	boom := errors.New("boom")
	if _, err := ingest.Pull(ctx, db, src, fetcher{n: 3, err: boom}, ingest.Hooks{}); !errors.Is(err, boom) {
		t.Fatalf("Pull = %v, want the fetch's error", err)
	}
	if snaps, err := db.Snapshots(ctx, ""); err != nil || len(snaps) != 0 {
		t.Fatalf("after a failed fetch: %v, %v; want no snapshot", snaps, err)
	}
	var before, staged, committing atomic.Int64
	snap, err := ingest.Pull(ctx, db, src, tenanted{fetcher{n: 3, tenant: "org-1"}}, ingest.Hooks{
		Before:     func() { before.Add(1) },
		Staged:     func(idsnap.Record) { staged.Add(1) },
		Committing: func() { committing.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Counts[idsnap.KindUser] != 3 || snap.Org != "org-1" {
		t.Errorf("snapshot = %+v, want 3 users of org-1", snap)
	}
	if before.Load() != 3 || staged.Load() != 3 || committing.Load() != 1 {
		t.Errorf("hooks ran %d, %d, %d times; want 3, 3, 1", before.Load(), staged.Load(), committing.Load())
	}
	// A failed commit (a record staged twice) leaves the last snapshot.
	dup := fetcherFunc(func(ctx context.Context, emit fetch.Emit) error {
		r := idsnap.Record{Kind: idsnap.KindUser, ID: "new"}
		if err := emit(ctx, r); err != nil {
			return err
		}
		return emit(ctx, r)
	})
	if _, err := ingest.Pull(ctx, db, src, dup, ingest.Hooks{}); err == nil {
		t.Fatal("a record staged twice was committed")
	}
	if snaps, _ := db.Snapshots(ctx, ""); len(snaps) != 1 {
		t.Errorf("after a failed commit: %d snapshots, want 1", len(snaps))
	}
}

type fetcherFunc func(context.Context, fetch.Emit) error

func (f fetcherFunc) Fetch(ctx context.Context, emit fetch.Emit) error { return f(ctx, emit) }
