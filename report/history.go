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
			t.Rows = append(t.Rows, []string{e.TakenAt.In(loc).Format(time.RFC3339), strconv.FormatInt(c.SnapshotID, 10),
				c.Source, string(c.Type), string(c.Kind), c.ID, email, name, rid, rname, eid, ename, detail(Entry{Change: c})})
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
		t.Rows = append(t.Rows, []string{e.TakenAt.In(loc).Format(time.RFC3339), "#" + strconv.FormatInt(c.SnapshotID, 10),
			c.Source, string(c.Type), string(c.Kind), c.ID, historyDetail(c)})
	}
	return RenderTable(w, f, t)
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
		v.Changes = append(v.Changes, j)
	}
	return v
}

// HistoryFunc reads every change to one account and its grants
// (store.DB.History).
type HistoryFunc func(ctx context.Context, source, principalID string) ([]idsnap.Change, error)

// CollectHistory stitches the history of each account query matched
// (store.DB.FindUsers) into one, ordered by the snapshots in snaps.
func CollectHistory(ctx context.Context, query string, accounts []idsnap.Record, snaps []idsnap.Snapshot, history HistoryFunc) (*History, error) {
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
	return NewHistory(query, accounts, changes, snaps), nil
}
