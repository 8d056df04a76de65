package report

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/idsnap/idsnap"
)

// State is one source's records as of the snapshot a report reads.
type State struct {
	Snapshot idsnap.Snapshot
	// Records streams the snapshot's records in store order: users, then
	// resources, entitlements and grants, each sorted by id (store.DB.State
	// bound to the snapshot's id).
	Records func(ctx context.Context, fn func(idsnap.Record) error) error
}

// StateOf is the state of snap held in memory: recs, put in store order,
// each stamped with the snapshot's source.
func StateOf(snap idsnap.Snapshot, recs ...idsnap.Record) State {
	recs = slices.Clone(recs)
	rank := func(k idsnap.Kind) int { return slices.Index(idsnap.Kinds, k) }
	slices.SortStableFunc(recs, func(a, b idsnap.Record) int {
		return cmp.Or(cmp.Compare(rank(a.Kind), rank(b.Kind)), strings.Compare(a.ID, b.ID))
	})
	for i := range recs {
		recs[i].Source = snap.Source
	}
	return State{
		Snapshot: snap,
		Records: func(_ context.Context, fn func(idsnap.Record) error) error {
			for _, r := range recs {
				if err := fn(r); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// SortStates returns the states sorted by source name.
func SortStates(in []State) []State {
	in = slices.Clone(in)
	slices.SortFunc(in, func(a, b State) int { return strings.Compare(a.Snapshot.Source, b.Snapshot.Source) })
	return in
}
