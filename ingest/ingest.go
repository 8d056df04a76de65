// Package ingest runs one fetch into one snapshot. It is the only place
// that sequences Stage, Fetch and Commit or Abort, so "a failed or killed
// pull leaves nothing a diff could read" is decided here once, for the CLI,
// the providers' fault tests and the bench alike.
package ingest

import (
	"context"
	"fmt"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/store"
)

// Hooks observe a pull; every field may be nil. Before and Staged run in
// the fetcher's goroutines, concurrently.
type Hooks struct {
	Before     func()              // ahead of each record (fault injection in tests)
	Staged     func(idsnap.Record) // after each record is staged
	Committing func()              // once the fetch is complete, before Commit
	// Info, when set, says how the pull ran (endpoints, end time, totals);
	// the snapshot keeps it for the evidence's IPE block.
	Info func() idsnap.PullInfo
}

// Pull fetches src with f into a new snapshot of db: committed whole when
// the fetch and the commit succeed, otherwise aborted, leaving nothing.
func Pull(ctx context.Context, db *store.DB, src idsnap.Source, f fetch.Fetcher, h Hooks) (idsnap.Snapshot, error) {
	st, err := db.Stage(ctx, src)
	if err != nil {
		return idsnap.Snapshot{}, fmt.Errorf("stage: %w", err)
	}
	emit := func(ctx context.Context, r idsnap.Record) error {
		if h.Before != nil {
			h.Before()
		}
		if err := st.Put(ctx, r); err != nil {
			return err
		}
		if h.Staged != nil {
			h.Staged(r)
		}
		return nil
	}
	if err := f.Fetch(ctx, emit); err != nil {
		if aerr := st.Abort(); aerr != nil {
			return idsnap.Snapshot{}, fmt.Errorf("%w (and the abort: %v)", err, aerr)
		}
		return idsnap.Snapshot{}, err
	}
	if t, ok := f.(fetch.Tenanted); ok {
		st.SetOrg(t.Tenant())
	}
	if h.Info != nil {
		st.SetPull(h.Info())
	}
	if h.Committing != nil {
		h.Committing()
	}
	// A failed Commit has already rolled back and released the Stage.
	return st.Commit(ctx) // store says "commit <source>: ..."
}
