package evidence

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
	"github.com/xuri/excelize/v2"
)

// Files of an access-review export.
const (
	AccessReviewCSV  = "access-review.csv"
	AccessReviewXLSX = "access-review.xlsx"
)

// reviewRow is one row of the review: a grant held at the review's
// snapshot, or a principal holding none (empty resource and entitlement).
type reviewRow struct {
	snap     idsnap.Snapshot
	grant    report.AccessRow
	findings string
}

// reviewColumns are the review's columns in order, each with how a row
// fills it. The last five are left empty for reviewers.
var reviewColumns = []struct {
	name  string
	value func(r *reviewRow) string
}{
	{"snapshot_id", func(r *reviewRow) string { return strconv.FormatInt(r.snap.ID, 10) }},
	{"snapshot_time", func(r *reviewRow) string { return stamp(r.snap.TakenAt) }},
	{"source", func(r *reviewRow) string { return r.snap.Source }},
	{"tenant", func(r *reviewRow) string { return tenant(r.snap) }},
	{"principal_id", func(r *reviewRow) string { return r.grant.Principal.ID }},
	{"login", func(r *reviewRow) string { return r.grant.Principal.Username }},
	{"name", func(r *reviewRow) string { return r.grant.Principal.Name }},
	{"email", func(r *reviewRow) string { return r.grant.Principal.Email }},
	{"email_verified", listed(func(p report.AccessPrincipal) string { return boolText(p.EmailVerified) })},
	{"account_type", func(r *reviewRow) string { return string(r.grant.Principal.Type) }},
	{"status", func(r *reviewRow) string { return string(r.grant.Principal.Status) }},
	{"created", func(r *reviewRow) string { return stamp(r.grant.Principal.CreatedAt) }},
	{"last_sign_in", listed(func(p report.AccessPrincipal) string { return lastSignIn(p.Activity) })},
	{"resource_id", func(r *reviewRow) string { return r.grant.Resource.ID }},
	{"resource", func(r *reviewRow) string { return r.grant.Resource.Name }},
	{"entitlement_id", func(r *reviewRow) string { return r.grant.Entitlement.ID }},
	{"entitlement", func(r *reviewRow) string { return r.grant.Entitlement.Name }},
	{"grant_status", func(r *reviewRow) string { return string(r.grant.GrantStatus) }},
	{"findings", func(r *reviewRow) string { return r.findings }},
	{"reviewer", blank}, {"decision", blank}, {"justification", blank}, {"ticket", blank}, {"decided_at", blank},
}

func blank(*reviewRow) string { return "" }

// listed fills a column only for a principal the snapshot lists: of a
// grant's unlisted holder nothing is known, not even "unknown".
func listed(f func(report.AccessPrincipal) string) func(*reviewRow) string {
	return func(r *reviewRow) string {
		if !r.grant.Principal.Listed {
			return ""
		}
		return f(r.grant.Principal)
	}
}

// AccessReviewHeader is the column list of access-review.csv (and the
// XLSX sheet); a roster adds AccessReviewRosterHeader before findings.
var AccessReviewHeader = func() []string {
	h := make([]string, len(reviewColumns))
	for i, c := range reviewColumns {
		h[i] = c.name
	}
	return h
}()

// AccessReviewRosterHeader are the columns a review gains, before
// findings, when a roster is given: who the person is to HR and who
// their manager is, for the reviewer.
var AccessReviewRosterHeader = []string{"employee_id", "department", "manager_email", "roster_status"}

// ReviewDecisions are the values offered in the decision column.
var ReviewDecisions = []string{"keep", "modify", "revoke"}

// AccessReviewOptions configures an access-review export.
type AccessReviewOptions struct {
	// Sources holds each source's state at the review moment.
	Sources []report.State
	// XLSX adds access-review.xlsx beside the CSV.
	XLSX bool
	// Findings, when set, names the findings that apply to a principal
	// (rule ids); they fill the findings column.
	Findings func(source, principalID string) []string
	// Roster, when set, gives the AccessReviewRosterHeader cells of a
	// principal (empty for one no roster row matches).
	Roster func(source, principalID string) []string
	Meta
}

// AccessReviewRows builds the review from the same join as the access
// command: one row per principal and entitlement held, and one row with
// empty resource and entitlement for a principal holding none. Grants to
// principals missing from the snapshot still get rows: evidence must not
// drop access because its holder is unknown. Rows are sorted by source,
// principal id, resource id, entitlement id.
func AccessReviewRows(ctx context.Context, sources []report.State, findings func(source, principalID string) []string) ([][]string, error) {
	var rows []reviewRow
	for _, st := range sources {
		snap := st.Snapshot
		j := report.NewAccessJoin(snap.Source, snap.ID, "", "")
		err := st.Records(ctx, func(r idsnap.Record) error {
			if g, ok := j.Add(r); ok {
				rows = append(rows, reviewRow{snap: snap, grant: g})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: read snapshot #%d: %w", snap.Source, snap.ID, err)
		}
		for _, p := range j.Unheld() {
			rows = append(rows, reviewRow{snap: snap, grant: report.AccessRow{Source: snap.Source, Snapshot: snap.ID, Principal: p}})
		}
	}
	slices.SortStableFunc(rows, func(a, b reviewRow) int {
		return cmp.Or(strings.Compare(a.snap.Source, b.snap.Source), strings.Compare(a.grant.Principal.ID, b.grant.Principal.ID),
			strings.Compare(a.grant.Resource.ID, b.grant.Resource.ID), strings.Compare(a.grant.Entitlement.ID, b.grant.Entitlement.ID))
	})
	out := make([][]string, len(rows))
	for i := range rows {
		r := &rows[i]
		if findings != nil {
			ids := slices.Clone(findings(r.snap.Source, r.grant.Principal.ID))
			slices.Sort(ids)
			r.findings = strings.Join(slices.Compact(ids), " ")
		}
		cells := make([]string, len(reviewColumns))
		for c, col := range reviewColumns {
			cells[c] = col.value(r)
		}
		out[i] = cells
	}
	return out, nil
}

func boolText(b *bool) string {
	switch {
	case b == nil:
		return "unknown"
	case *b:
		return "true"
	}
	return "false"
}

// lastSignIn says "unknown" where the provider exposes no sign-in data
// and "never" where it says the user never signed in.
func lastSignIn(a *idsnap.Activity) string {
	switch {
	case a == nil:
		return "unknown"
	case a.LastSignIn.IsZero():
		return "never"
	}
	return stamp(a.LastSignIn)
}

// WriteAccessReview writes an access-review evidence folder to out, which
// must not exist or be empty.
func WriteAccessReview(ctx context.Context, out string, opts AccessReviewOptions) (*Manifest, error) {
	rows, err := AccessReviewRows(ctx, opts.Sources, opts.Findings)
	if err != nil {
		return nil, err
	}
	header := AccessReviewHeader
	if opts.Roster != nil {
		at := slices.Index(header, "findings")
		header = slices.Concat(header[:at], AccessReviewRosterHeader, header[at:])
		src, id := slices.Index(header, "source"), slices.Index(header, "principal_id")
		for i, r := range rows {
			rows[i] = slices.Concat(r[:at], opts.Roster(r[src], r[id]), r[at:])
		}
	}
	f, err := create(out)
	if err != nil {
		return nil, err
	}
	m, err := exportAccessReview(f, out, header, rows, opts)
	if err != nil {
		f.abort()
		return nil, err
	}
	return m, nil
}

func exportAccessReview(f *folder, out string, header []string, rows [][]string, opts AccessReviewOptions) (*Manifest, error) {
	err := f.add(AccessReviewCSV, func(w io.Writer) (int, error) {
		c, err := newCSV(w, header)
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
		if err := f.add(AccessReviewXLSX, func(w io.Writer) (int, error) { return writeXLSX(w, header, rows, ReviewDecisions, opts.Meta) }); err != nil {
			return nil, err
		}
	}
	snaps := make([]idsnap.Snapshot, len(opts.Sources))
	for i, s := range opts.Sources {
		snaps[i] = s.Snapshot
	}
	return f.finish(out, "access-review", opts.Meta, manifestSources(snaps))
}

// writeXLSX writes the review as one sheet with a frozen header, an
// autofilter and a dropdown of choices on the decision column.
// Cells are strings, never formulas; they carry the same neutralised text
// as the CSV so the two files agree cell for cell.
func writeXLSX(w io.Writer, header []string, rows [][]string, choices []string, meta Meta) (int, error) {
	const sheet = "access review"
	x := excelize.NewFile()
	defer x.Close()
	if err := x.SetSheetName("Sheet1", sheet); err != nil {
		return 0, err
	}
	// Fixed document times keep the file a pure function of its input.
	created := stamp(meta.GeneratedAt)
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
			out[i] = truncate(cell(s), excelize.TotalCellChars)
		}
		return out
	}
	if err := sw.SetRow("A1", cells(header)); err != nil {
		return 0, err
	}
	for i, r := range rows {
		if err := sw.SetRow(fmt.Sprintf("A%d", i+2), cells(r)); err != nil {
			return 0, err
		}
	}
	// Sheet-level settings go in before Flush: the stream writer
	// serialises the worksheet's fields then.
	last, _ := excelize.CoordinatesToCellName(len(header), len(rows)+1)
	if err := x.AutoFilter(sheet, "A1:"+last, nil); err != nil {
		return 0, err
	}
	col, _ := excelize.ColumnNumberToName(slices.Index(header, "decision") + 1)
	dv := excelize.NewDataValidation(true)
	dv.Sqref = fmt.Sprintf("%s2:%s%d", col, col, max(len(rows)+1, 2))
	if err := dv.SetDropList(choices); err != nil {
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
