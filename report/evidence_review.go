package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/idsnap/idsnap"
	"github.com/xuri/excelize/v2"
)

// Files of an access-review export.
const (
	AccessReviewCSV  = "access-review.csv"
	AccessReviewXLSX = "access-review.xlsx"
)

// AccessReviewHeader is the fixed column list of access-review.csv (and the
// XLSX sheet). The last five columns are left empty for reviewers.
var AccessReviewHeader = []string{
	"snapshot_id", "snapshot_time", "source", "tenant",
	"principal_id", "login", "name", "email", "email_verified", "account_type", "status",
	"created", "last_sign_in",
	"resource_id", "resource", "entitlement_id", "entitlement", "grant_status",
	"findings",
	"reviewer", "decision", "justification", "ticket", "decided_at",
}

// ReviewDecisions are the values offered in the decision column.
var ReviewDecisions = []string{"keep", "modify", "revoke"}

// SourceState is one source's records as of one snapshot (from store.State).
type SourceState struct {
	Snapshot idsnap.Snapshot
	Records  []idsnap.Record
}

// AccessReviewOptions configures an access-review export.
type AccessReviewOptions struct {
	// Sources holds each source's state at the review moment.
	Sources []SourceState
	// XLSX adds access-review.xlsx beside the CSV.
	XLSX bool
	// Findings, when set, names the findings that apply to a principal
	// (rule ids); they fill the findings column.
	Findings func(source, principalID string) []string
	EvidenceMeta
}

// AccessReviewRows builds the review: one row per principal and
// entitlement held, and one row with empty resource and entitlement for a
// principal holding none. Rows are sorted by source, principal id, resource
// id, entitlement id.
func AccessReviewRows(sources []SourceState, findings func(source, principalID string) []string) [][]string {
	var rows [][]string
	for _, st := range sources {
		users := map[string]*idsnap.Record{}
		resources := map[string]*idsnap.Record{}
		ents := map[string]*idsnap.Record{}
		grants := map[string][]*idsnap.Record{}
		for i := range st.Records {
			r := &st.Records[i]
			switch r.Kind {
			case idsnap.KindUser:
				users[r.ID] = r
			case idsnap.KindResource:
				resources[r.ID] = r
			case idsnap.KindEntitlement:
				ents[r.ID] = r
			case idsnap.KindGrant:
				grants[r.PrincipalID] = append(grants[r.PrincipalID], r)
			}
		}
		snap := st.Snapshot
		base := func(u *idsnap.Record, principalID string) []string {
			row := []string{
				strconv.FormatInt(snap.ID, 10), evTime(snap.TakenAt), snap.Source, evTenant(snap),
				principalID, "", "", "", "", "", "", "", "",
			}
			if u != nil {
				row[5], row[6], row[7] = u.Username, u.Name, u.Email
				row[8] = evBool(u.EmailVerified)
				row[9], row[10] = string(u.Type), string(u.Status)
				row[11], row[12] = evTime(u.CreatedAt), evLastSignIn(u.Activity)
			}
			return row
		}
		tail := func(principalID string) []string {
			var f string
			if findings != nil {
				ids := slices.Clone(findings(snap.Source, principalID))
				slices.Sort(ids)
				f = strings.Join(slices.Compact(ids), " ")
			}
			return []string{f, "", "", "", "", ""}
		}
		// Grants to principals missing from the snapshot still get rows:
		// evidence must not drop access because its holder is unknown.
		ids := make([]string, 0, len(users))
		for id := range users {
			ids = append(ids, id)
		}
		for id := range grants {
			if users[id] == nil {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for _, pid := range ids {
			u := users[pid]
			gs := grants[pid]
			if len(gs) == 0 {
				row := append(base(u, pid), "", "", "", "", "")
				rows = append(rows, append(row, tail(pid)...))
				continue
			}
			slices.SortFunc(gs, func(a, b *idsnap.Record) int {
				return cmp.Or(strings.Compare(a.ResourceID, b.ResourceID), strings.Compare(a.EntitlementID, b.EntitlementID))
			})
			for _, g := range gs {
				var resName, entName string
				if r := resources[g.ResourceID]; r != nil {
					resName = r.Name
				}
				if e := ents[g.EntitlementID]; e != nil {
					entName = e.Name
				}
				if entName == "" {
					entName = strings.TrimPrefix(g.EntitlementID, g.ResourceID+":")
				}
				row := append(base(u, pid), g.ResourceID, resName, g.EntitlementID, entName, string(g.Status))
				rows = append(rows, append(row, tail(pid)...))
			}
		}
	}
	slices.SortStableFunc(rows, func(a, b []string) int {
		return cmp.Or(strings.Compare(a[2], b[2]), strings.Compare(a[4], b[4]), strings.Compare(a[13], b[13]), strings.Compare(a[15], b[15]))
	})
	return rows
}

func evBool(b *bool) string {
	switch {
	case b == nil:
		return "unknown"
	case *b:
		return "true"
	}
	return "false"
}

// evLastSignIn says "unknown" where the provider exposes no sign-in data
// and "never" where it says the user never signed in.
func evLastSignIn(a *idsnap.Activity) string {
	switch {
	case a == nil:
		return "unknown"
	case a.LastSignIn.IsZero():
		return "never"
	}
	return evTime(a.LastSignIn)
}

// ExportAccessReview writes an access-review evidence folder to out, which
// must not exist or be empty.
func ExportAccessReview(out string, opts AccessReviewOptions) (*Manifest, error) {
	rows := AccessReviewRows(opts.Sources, opts.Findings)
	f, err := evCreate(out)
	if err != nil {
		return nil, err
	}
	m, err := evExportAccessReview(f, out, rows, opts)
	if err != nil {
		f.abort()
		return nil, err
	}
	return m, nil
}

func evExportAccessReview(f *evFolder, out string, rows [][]string, opts AccessReviewOptions) (*Manifest, error) {
	err := f.add(AccessReviewCSV, func(w io.Writer) (int, error) {
		c, err := evNewCSV(w, AccessReviewHeader)
		if err != nil {
			return 0, err
		}
		for _, r := range rows {
			if err := c.row(r); err != nil {
				return 0, err
			}
		}
		return c.close()
	})
	if err != nil {
		return nil, err
	}
	if opts.XLSX {
		if err := f.add(AccessReviewXLSX, func(w io.Writer) (int, error) { return evWriteXLSX(w, rows, opts.EvidenceMeta) }); err != nil {
			return nil, err
		}
	}
	snaps := make([]idsnap.Snapshot, len(opts.Sources))
	for i, s := range opts.Sources {
		snaps[i] = s.Snapshot
	}
	return f.finish(out, "access-review", opts.EvidenceMeta, evManifestSources(snaps))
}

// evWriteXLSX writes the review as one sheet with a frozen header, an
// autofilter and a keep/modify/revoke dropdown on the decision column.
// Cells are strings, never formulas; they carry the same neutralised text
// as the CSV so the two files agree cell for cell.
func evWriteXLSX(w io.Writer, rows [][]string, meta EvidenceMeta) (int, error) {
	const sheet = "access review"
	x := excelize.NewFile()
	defer x.Close()
	if err := x.SetSheetName("Sheet1", sheet); err != nil {
		return 0, err
	}
	// Fixed document times keep the file a pure function of its input.
	created := evTime(meta.GeneratedAt)
	if err := x.SetDocProps(&excelize.DocProperties{Creator: "idsnap", Created: created, Modified: created, Title: "idsnap access review"}); err != nil {
		return 0, err
	}
	sw, err := x.NewStreamWriter(sheet)
	if err != nil {
		return 0, err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return 0, err
	}
	cells := func(r []string) []any {
		out := make([]any, len(r))
		for i, s := range r {
			out[i] = evTruncate(evCell(s), excelize.TotalCellChars)
		}
		return out
	}
	if err := sw.SetRow("A1", cells(AccessReviewHeader)); err != nil {
		return 0, err
	}
	for i, r := range rows {
		if err := sw.SetRow(fmt.Sprintf("A%d", i+2), cells(r)); err != nil {
			return 0, err
		}
	}
	// Sheet-level settings go in before Flush: the stream writer
	// serialises the worksheet's fields then.
	last, _ := excelize.CoordinatesToCellName(len(AccessReviewHeader), len(rows)+1)
	if err := x.AutoFilter(sheet, "A1:"+last, nil); err != nil {
		return 0, err
	}
	col, _ := excelize.ColumnNumberToName(slices.Index(AccessReviewHeader, "decision") + 1)
	dv := excelize.NewDataValidation(true)
	dv.Sqref = fmt.Sprintf("%s2:%s%d", col, col, max(len(rows)+1, 2))
	if err := dv.SetDropList(ReviewDecisions); err != nil {
		return 0, err
	}
	if err := x.AddDataValidation(sheet, dv); err != nil {
		return 0, err
	}
	if err := sw.Flush(); err != nil {
		return 0, err
	}
	if _, err := x.WriteTo(w); err != nil {
		return 0, err
	}
	return len(rows), nil
}
