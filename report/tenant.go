package report

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/idsnap/idsnap"
)

// A source whose configuration is pointed at another tenant (a Kinde
// business, Ory project, ZITADEL instance or org) keeps its name, so its
// snapshots line up as one history; compared across the change, every
// record of the old tenant "left" and every record of the new one
// "joined". Reports therefore never compare across a tenant change unless
// asked to (--across-tenants): a comparison of two snapshots is refused,
// and a walk over a period is split at the change.

// SplitSpan splits sp at the tenant changes among the snapshots of its
// source in snaps (any order, any sources): one span per tenant, oldest
// first, and the changes between them. A span within one tenant comes
// back whole, with no changes. Reports that walk a period (the HTML
// report, history, the changes export) compare within each span only.
func SplitSpan(snaps []idsnap.Snapshot, sp Span) ([]Span, []idsnap.TenantChange) {
	from, to := sp.From.Snapshot, sp.To.Snapshot
	var list []idsnap.Snapshot
	for _, s := range snaps {
		if s.Source == from.Source && s.ID >= from.ID && s.ID <= to.ID {
			list = append(list, s)
		}
	}
	slices.SortFunc(list, func(a, b idsnap.Snapshot) int { return cmp.Compare(a.ID, b.ID) })
	changes := idsnap.TenantChanges(list)
	if len(changes) == 0 {
		return []Span{sp}, nil
	}
	spans := make([]Span, 0, len(changes)+1)
	start := sp.From
	for _, c := range changes {
		end := Point{Snapshot: c.Before}
		if c.Before.ID == sp.From.Snapshot.ID {
			end = sp.From
		}
		spans = append(spans, Span{From: start, To: end})
		start = Point{Snapshot: c.After}
	}
	if start.Snapshot.ID == sp.To.Snapshot.ID {
		start = sp.To
	}
	return append(spans, Span{From: start, To: sp.To}), changes
}

// TenantRefusal is the one line saying why the snapshots across c are
// not compared.
func TenantRefusal(c idsnap.TenantChange) string {
	return fmt.Sprintf("tenant changed from %s: diffs across it are refused; compare within one tenant, or pass --across-tenants", c)
}

// TenantNote is the one line saying a report split its period at c
// (compared false) or compared across it (--across-tenants).
func TenantNote(c idsnap.TenantChange, compared bool) string {
	if compared {
		return fmt.Sprintf("note: %s: compared across a tenant change (--across-tenants): %s", c.After.Source, c)
	}
	return fmt.Sprintf("note: %s: tenant changed from %s: split there, changes first seen in #%d not shown (--across-tenants shows them)",
		c.After.Source, c, c.After.ID)
}

func tenantNotes(cs []idsnap.TenantChange, compared bool) []string {
	var out []string
	for _, c := range cs {
		out = append(out, Escape(TenantNote(c, compared)))
	}
	return out
}

// tenantChangeJSON is a tenant change in JSON output.
type tenantChangeJSON struct {
	Source string         `json:"source"`
	Before tenantSnapJSON `json:"before"`
	After  tenantSnapJSON `json:"after"`
	// Compared is true under --across-tenants: changes across it are in
	// the output, marked across_tenants.
	Compared bool `json:"compared"`
}

type tenantSnapJSON struct {
	ID      int64     `json:"id"`
	TakenAt time.Time `json:"taken_at"`
	idsnap.Tenant
}

func tenantChangesJSON(cs []idsnap.TenantChange, compared bool) []tenantChangeJSON {
	var out []tenantChangeJSON
	for _, c := range cs {
		out = append(out, tenantChangeJSON{
			Source:   c.After.Source,
			Before:   tenantSnapJSON{ID: c.Before.ID, TakenAt: c.Before.TakenAt.UTC(), Tenant: c.Before.Tenant()},
			After:    tenantSnapJSON{ID: c.After.ID, TakenAt: c.After.TakenAt.UTC(), Tenant: c.After.Tenant()},
			Compared: compared,
		})
	}
	return out
}

// acrossTenantsMark prefixes a CSV detail of a change compared across a
// tenant change, so the mark survives any filtering of rows.
const acrossTenantsMark = "[across tenants] "
