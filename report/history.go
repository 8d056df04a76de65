package report

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
)

// HistoryEntry is one change to a principal or to a grant it held, with the
// snapshot in which it was first seen.
type HistoryEntry struct {
	TakenAt time.Time // of the snapshot Change.SnapshotID
	Change  idsnap.Change
}

// History is every change to one person's accounts and their grants, oldest
// first, across sources.
type History struct {
	Query    string          // what the user asked for: an id or an email
	Accounts []idsnap.Record // the users it matched, one per source and id
	Entries  []HistoryEntry
	// Location is the zone times are shown in by table, csv and markdown;
	// nil is UTC.
	Location *time.Location
	// TenantChanges are those of the accounts' sources. The changes first
	// seen in their After snapshot are left out, or under AcrossTenants
	// kept and marked.
	TenantChanges []idsnap.TenantChange
	AcrossTenants bool
}

// NewHistory orders changes (from store.History, one call per account) by
// the time of the snapshot that saw them, then as a diff orders them.
// snaps gives those times; a change whose snapshot is missing sorts first.
func NewHistory(query string, accounts []idsnap.Record, changes []idsnap.Change, snaps []idsnap.Snapshot) *History {
	taken := make(map[int64]time.Time, len(snaps))
	for _, s := range snaps {
		taken[s.ID] = s.TakenAt
	}
	h := &History{Query: query, Accounts: slices.Clone(accounts)}
	slices.SortFunc(h.Accounts, func(a, b idsnap.Record) int {
		return cmp.Or(strings.Compare(a.Source, b.Source), strings.Compare(a.ID, b.ID))
	})
	for _, c := range changes {
		h.Entries = append(h.Entries, HistoryEntry{TakenAt: taken[c.SnapshotID], Change: c})
	}
	slices.SortStableFunc(h.Entries, func(a, b HistoryEntry) int {
		return cmp.Or(a.TakenAt.Compare(b.TakenAt), cmp.Compare(a.Change.SnapshotID, b.Change.SnapshotID), compareChanges(a.Change, b.Change))
	})
	return h
}

// RenderHistory writes h in format f.
func RenderHistory(w io.Writer, f Format, h *History) error {
	loc := h.Location
	if loc == nil {
		loc = time.UTC
	}
	switch f {
	case FormatJSON:
		return renderSafeJSON(w, h.jsonValue())
	case FormatCSV:
		t := Table{Header: []string{"taken_at", "snapshot", "source", "change", "kind", "id", "email", "name",
			"resource_id", "resource_name", "entitlement_id", "entitlement_name", "detail"}}
		for _, e := range h.Entries {
			c := e.Change
			var email, name, rid, rname, eid, ename string
			if c.Kind == idsnap.KindGrant {
				p, r, en := grantRefs(c)
				email, name, rid, rname, eid, ename = p.Email, p.Name, r.ID, r.Name, en.ID, en.Name
			} else {
				u := userOf(c)
				email, name = u.Email, u.Name
			}
			det := detail(Entry{Change: c})
			if h.across(c) {
				det = acrossTenantsMark + det
			}
			t.Rows = append(t.Rows, []string{e.TakenAt.In(loc).Format(time.RFC3339), strconv.FormatInt(c.SnapshotID, 10),
				c.Source, string(c.Type), string(c.Kind), c.ID, email, name, rid, rname, eid, ename, det})
			for i, cell := range t.Rows[len(t.Rows)-1] {
				t.Rows[len(t.Rows)-1][i] = Escape(cell)
			}
		}
		return RenderTable(w, f, t)
	case FormatTable, FormatMarkdown, "":
	default:
		return fmt.Errorf("unknown format %q: use table, json, csv or markdown", f)
	}
	var lines []string
	lines = append(lines, fmt.Sprintf("history of %s: %s, %s", h.Query, plural(len(h.Accounts), "account"), plural(len(h.Entries), "change")))
	for _, a := range h.Accounts {
		lines = append(lines, fmt.Sprintf("%s: %s %s (%s)", a.Source, a.ID, person(a.Name, a.Email), a.Status))
	}
	for _, tc := range h.TenantChanges {
		lines = append(lines, TenantNote(tc, h.AcrossTenants))
	}
	for _, l := range lines {
		l = fitLine(SafeText(l), lineWidth(w, f))
		if f == FormatMarkdown {
			l = "- " + l
		}
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	if len(h.Entries) == 0 {
		return nil
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	t := Table{Header: []string{"TAKEN AT", "SNAPSHOT", "SOURCE", "CHANGE", "KIND", "ID", "DETAIL"}, Shrink: []string{"DETAIL", "ID", "TAKEN AT", "SOURCE"}}
	if f == FormatMarkdown {
		t.Header = []string{"Taken at", "Snapshot", "Source", "Change", "Kind", "ID", "Detail"}
	}
	for _, e := range h.Entries {
		c := e.Change
		det := historyDetail(c)
		if h.across(c) {
			det = acrossTenantsMark + det
		}
		t.Rows = append(t.Rows, []string{e.TakenAt.In(loc).Format(time.RFC3339), "#" + strconv.FormatInt(c.SnapshotID, 10),
			c.Source, string(c.Type), string(c.Kind), c.ID, det})
	}
	return RenderTable(w, f, t)
}

// across says c was first seen across a tenant change (kept only under
// --across-tenants).
func (h *History) across(c idsnap.Change) bool {
	return slices.ContainsFunc(h.TenantChanges, func(tc idsnap.TenantChange) bool { return tc.After.ID == c.SnapshotID })
}

// historyDetail is a diff's detail, plus the name a user had when it
// joined or left (the account line shows only the latest).
func historyDetail(c idsnap.Change) string {
	if c.Kind == idsnap.KindUser && (c.Type == idsnap.Joined || c.Type == idsnap.Left) {
		u := userOf(c)
		return person(u.Name, u.Email)
	}
	return detail(Entry{Change: c})
}

type historyJSON struct {
	Query    string        `json:"query"`
	Accounts []accountJSON `json:"accounts"`
	Changes  []changeJSON  `json:"changes"`
	// TenantChanges split the history, or under --across-tenants were
	// crossed (compared) and the changes across them marked.
	TenantChanges []tenantChangeJSON `json:"tenant_changes,omitempty"`
}

type accountJSON struct {
	Source string        `json:"source"`
	ID     string        `json:"id"`
	Email  string        `json:"email"`
	Name   string        `json:"name"`
	Status idsnap.Status `json:"status"`
}

func (h *History) jsonValue() historyJSON {
	v := historyJSON{Query: h.Query, Accounts: []accountJSON{}, Changes: []changeJSON{}}
	for _, a := range h.Accounts {
		v.Accounts = append(v.Accounts, accountJSON{Source: a.Source, ID: a.ID, Email: a.Email, Name: a.Name, Status: a.Status})
	}
	for _, e := range h.Entries {
		j := changeValue(e.Change)
		j.Snapshot = &snapshotJSON{ID: e.Change.SnapshotID, TakenAt: e.TakenAt}
		j.AcrossTenants = h.across(e.Change)
		v.Changes = append(v.Changes, j)
	}
	v.TenantChanges = tenantChangesJSON(h.TenantChanges, h.AcrossTenants)
	return v
}

// HistoryFunc reads every change to one account and its grants
// (store.DB.History).
type HistoryFunc func(ctx context.Context, source, principalID string) ([]idsnap.Change, error)

// CollectHistory stitches the history of each account query matched
// (store.DB.FindUsers) into one, ordered by the snapshots in snaps.
//
// A source's tenant change splits its history: what store saw at the
// first snapshot of the new tenant is the one tenant leaving and the
// other joining, not anyone's access changing, so it is left out unless
// acrossTenants.
func CollectHistory(ctx context.Context, query string, accounts []idsnap.Record, snaps []idsnap.Snapshot, history HistoryFunc, acrossTenants bool) (*History, error) {
	if len(accounts) == 0 {
		return nil, fmt.Errorf("no user %q in any snapshot: give a user id, email or username as the provider has it", query)
	}
	var changes []idsnap.Change
	for _, acc := range accounts {
		cs, err := history(ctx, acc.Source, acc.ID)
		if err != nil {
			return nil, fmt.Errorf("%s: history of %s: %w", acc.Source, acc.ID, err)
		}
		for i := range cs {
			if cs[i].Source == "" {
				cs[i].Source = acc.Source
			}
		}
		changes = append(changes, cs...)
	}
	h := NewHistory(query, accounts, changes, snaps)
	h.splitTenants(snaps, acrossTenants)
	return h, nil
}

// splitTenants finds the tenant changes of h's sources and leaves out, or
// under across keeps, the entries first seen across them.
func (h *History) splitTenants(snaps []idsnap.Snapshot, across bool) {
	h.AcrossTenants = across
	by := map[string][]idsnap.Snapshot{}
	for _, s := range snaps {
		by[s.Source] = append(by[s.Source], s)
	}
	crossed := map[int64]bool{}
	var sources []string
	for _, a := range h.Accounts { // sorted by source
		sources = append(sources, a.Source)
	}
	for _, src := range slices.Compact(sources) {
		list := by[src]
		slices.SortFunc(list, func(a, b idsnap.Snapshot) int { return cmp.Compare(a.ID, b.ID) })
		for _, tc := range idsnap.TenantChanges(list) {
			h.TenantChanges = append(h.TenantChanges, tc)
			crossed[tc.After.ID] = true
		}
	}
	if across {
		return
	}
	h.Entries = slices.DeleteFunc(h.Entries, func(e HistoryEntry) bool { return crossed[e.Change.SnapshotID] })
}
