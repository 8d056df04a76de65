package evidence

import (
	"context"
	"fmt"
	"strings"

	"github.com/idsnap/idsnap"
)

// PrunedSnapshot is a snapshot an evidence folder names that a prune
// removed from the database since: the folder still proves what it held,
// by its own digests and signature, but the database no longer can.
type PrunedSnapshot struct {
	Source string
	ID     int64
	Anchor idsnap.Anchor // the source's anchor: pruned before Anchor.PrunedBefore
}

// prunedLookup says whether the lookup of s failed because a prune removed it.
func prunedLookup(ctx context.Context, opts VerifyOptions, src ManifestSource, s ManifestSnapshot) (PrunedSnapshot, bool) {
	if opts.Pruned == nil {
		return PrunedSnapshot{}, false
	}
	a, ok, err := opts.Pruned(ctx, src.Name, s.ID)
	if err != nil || !ok {
		return PrunedSnapshot{}, false
	}
	return PrunedSnapshot{Source: src.Name, ID: s.ID, Anchor: a}, true
}

// prunedSummary is Summary's note of the pruned snapshots, "" for none:
// "; no longer in the database: snapshots 1, 2 of kinde-prod (pruned
// before T)".
func (r *VerifyResult) prunedSummary() string {
	if len(r.Pruned) == 0 {
		return ""
	}
	var parts []string
	for i := 0; i < len(r.Pruned); {
		p := r.Pruned[i]
		var ids []string
		for ; i < len(r.Pruned) && r.Pruned[i].Source == p.Source; i++ {
			ids = append(ids, fmt.Sprint(r.Pruned[i].ID))
		}
		word := "snapshot"
		if len(ids) > 1 {
			word = "snapshots"
		}
		parts = append(parts, fmt.Sprintf("%s %s of %s (pruned before %s)", word, strings.Join(ids, ", "), p.Source, stamp(p.Anchor.PrunedBefore)))
	}
	return "; no longer in the database: " + strings.Join(parts, ", ")
}
