package evidence

import (
	"bytes"
	"context"
	"encoding/csv"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
	"github.com/xuri/excelize/v2"
)

// campFixture is the review fixture plus an active Kinde account holding
// no grant: rows are kp_a's two grants and kp_c's account; the suspended
// kp_b and the inactive Ory account hold nothing and get no row.
func campFixture() []report.State {
	return editState(fixtureReview(), 7, func(recs []idsnap.Record) []idsnap.Record {
		return append(recs, idsnap.Record{Kind: idsnap.KindUser, ID: "kp_c", Email: "carl@acme.test", Username: "carl",
			Status: idsnap.StatusActive, Type: idsnap.AccountMachine})
	})
}

// editState replaces the first state's records by edit's, under snapshot id.
func editState(src []report.State, id int64, edit func([]idsnap.Record) []idsnap.Record) []report.State {
	var recs []idsnap.Record
	src[0].Records(context.Background(), func(r idsnap.Record) error { recs = append(recs, r); return nil })
	snap := src[0].Snapshot
	snap.ID = id
	src[0] = report.StateOf(snap, edit(recs)...)
	return src
}

func startCamp(t *testing.T, xlsx bool) *OpenedCampaign {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "camp")
	m := meta(nil)
	m.Args = []string{"idsnap", "review", "start", "--at", "latest", "--out", "camp"}
	if _, _, err := StartCampaign(context.Background(), dir, CampaignOptions{Sources: campFixture(), At: "latest", XLSX: xlsx, Meta: m}); err != nil {
		t.Fatalf("StartCampaign: %v", err)
	}
	oc, err := OpenCampaign(context.Background(), dir)
	if err != nil {
		t.Fatalf("OpenCampaign: %v", err)
	}
	return oc
}

func TestCampaignRowsGolden(t *testing.T) {
	oc := startCamp(t, false)
	checkGolden(t, "campaign.review.csv", oc.RawReview)
	checkGolden(t, "campaign.json", oc.RawCampaign)
	if got := oc.Campaign.Population; got != (CampaignCounts{Rows: 3, GrantRows: 2, AccountRows: 1, Principals: 2}) {
		t.Errorf("population = %+v", got)
	}
	// The id hashes source, principal, resource, entitlement and snapshot.
	want := RowID("kinde-prod", "kp_a", "org_1", "org_1:member", 7)
	if oc.Rows[want] == nil || want == RowID("kinde-prod", "kp_a", "org_1", "org_1:member", 8) {
		t.Errorf("row id %s not found or not snapshot-specific: %v", want, oc.Order)
	}
}

// rowOf finds the campaign row of principal and entitlement.
func rowOf(t *testing.T, oc *OpenedCampaign, principal, entitlement string) []string {
	t.Helper()
	for _, id := range oc.Order {
		if r := oc.Rows[id]; r[cPrincipal] == principal && r[cEntitlement] == entitlement {
			return r
		}
	}
	t.Fatalf("no campaign row for %s %s", principal, entitlement)
	return nil
}

// later is the fixture's next snapshot: kp_a lost org_1, kp_c suspended.
func later() []report.State {
	return editState(campFixture(), 9, func(in []idsnap.Record) []idsnap.Record {
		var out []idsnap.Record
		for _, r := range in {
			switch {
			case r.Kind == idsnap.KindGrant && r.EntitlementID == "org_1:member":
				continue
			case r.ID == "kp_c":
				r.Status = idsnap.StatusSuspended
			}
			out = append(out, r)
		}
		return out
	})[:1]
}

func TestCampaignStatusFromXLSX(t *testing.T) {
	oc := startCamp(t, true)
	x, err := excelize.OpenFile(filepath.Join(oc.Dir, CampaignReviewXLSX))
	if err != nil {
		t.Fatal(err)
	}
	sheet := x.GetSheetList()[0]
	rows, _ := x.GetRows(sheet)
	if !slices.Equal(rows[0], CampaignHeader) {
		t.Fatalf("xlsx header = %v", rows[0])
	}
	decide := map[string]string{"org_1:member": "Revoke", "org_2:member": "yes", "": "remove"}
	for i, r := range rows[1:] {
		cell := func(col int) string { c, _ := excelize.CoordinatesToCellName(col+1, i+2); return c }
		ent := "" // GetRows drops a row's trailing empty cells
		if len(r) > cEntitlement {
			ent = r[cEntitlement]
		}
		x.SetCellStr(sheet, cell(cDecision), decide[ent])
		x.SetCellStr(sheet, cell(cDecision+1), "dana@acme.test")
	}
	var buf bytes.Buffer
	if _, err := x.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	d, err := ParseDecisions("decisions.xlsx", buf.Bytes())
	if err != nil || d.Format != "xlsx" {
		t.Fatalf("ParseDecisions: %v (%v)", err, d)
	}
	st, err := CampaignStatus(context.Background(), oc, d, later(), "latest")
	if err != nil {
		t.Fatal(err)
	}
	if want := (StatusTotals{Rows: 3, Kept: 1, RevokedDone: 2}); st.Totals != want || st.Open() {
		t.Errorf("totals = %+v, want %+v; problems %v", st.Totals, want, st.Problems)
	}
	for _, r := range st.Rows {
		if r.Status == StatusRevokedDone && r.ProofSnapshot != 9 {
			t.Errorf("row %s proven by #%d, want #9", r.RowID, r.ProofSnapshot)
		}
	}
	if got := rowStatus(st, rowOf(t, oc, "kp_c", "")[0]); got.Evidence != "account suspended in snapshot #9" {
		t.Errorf("kp_c evidence = %q", got.Evidence)
	}
}

func rowStatus(st *ReviewStatus, id string) RowStatus {
	for _, r := range st.Rows {
		if r.RowID == id {
			return r
		}
	}
	return RowStatus{}
}

func TestCampaignStatusProblems(t *testing.T) {
	oc := startCamp(t, false)
	a1, a2, c := rowOf(t, oc, "kp_a", "org_1:member"), rowOf(t, oc, "kp_a", "org_2:member"), rowOf(t, oc, "kp_c", "")
	var buf bytes.Buffer
	buf.WriteString("\xef\xbb\xbf")
	w := csv.NewWriter(&buf)
	w.Write([]string{"Row_ID", "Decision", "Reviewer", "status", "note"})
	w.Write([]string{a1[0], "keep", " ALICE ", a1[cStatus], ""})              // self-review by login, any case
	w.Write([]string{a2[0], "revoke", "", a2[cStatus], ""})                   // no reviewer
	w.Write([]string{c[0], "keep", "dana@acme.test", "suspended", ""})        // changed population field
	w.Write([]string{"r-not-ours", "keep", "dana@acme.test", "", ""})         // not in the campaign
	w.Write([]string{"", "", "", "", "a comment on an otherwise empty line"}) // no row_id
	w.Write([]string{"", "", "", "", ""})                                     // blank: ignored
	w.Flush()
	d, err := ParseDecisions("d.csv", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	st, _ := CampaignStatus(context.Background(), oc, d, nil, "latest")
	var kinds []string
	for _, p := range st.Problems {
		kinds = append(kinds, p.Kind)
		if strings.Contains(p.String(), "\n") {
			t.Errorf("problem spans lines: %q", p.String())
		}
	}
	want := []string{ProblemSelfReview, ProblemNoReviewer, ProblemChangedField, ProblemNotInCampaign, ProblemNotInCampaign}
	if !slices.Equal(kinds, want) {
		t.Errorf("problems = %v, want %v", st.Problems, want)
	}
	if st.Totals.Undecided != 3 || !st.Open() {
		t.Errorf("totals = %+v; every row stays undecided", st.Totals)
	}

	// A revoke with no snapshot of its source at the moment stays pending.
	buf.Reset()
	w = csv.NewWriter(&buf)
	w.Write([]string{"row_id", "decision", "reviewer"})
	w.Write([]string{a1[0], "no", "dana@acme.test"})
	w.Flush()
	d, _ = ParseDecisions("d.csv", buf.Bytes())
	st, _ = CampaignStatus(context.Background(), oc, d, nil, "latest")
	if r := rowStatus(st, a1[0]); r.Status != StatusRevokedPending || !strings.Contains(r.Evidence, "no snapshot of kinde-prod") {
		t.Errorf("revoke without a later snapshot = %+v", r)
	}
}

func TestParseDecisionsErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "empty"},
		{"row_id,reviewer\nr1,x\n", "no decision column"},
		{"decision\nkeep\n", "no row_id column"},
		{"row_id,decision\n\"r1,keep\n", "not a readable CSV file"},
		{"PK\x03\x04garbage", "not a readable XLSX file"},
	} {
		_, err := ParseDecisions("d", []byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseDecisions(%q) = %v; want one line containing %q", tt.in, err, tt.want)
		}
	}
}

func TestOpenCampaignRefusesOtherExports(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ev")
	if _, err := WriteAccessReview(context.Background(), out, AccessReviewOptions{Sources: fixtureReview(), Meta: meta(nil)}); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCampaign(context.Background(), out); err == nil || !strings.Contains(err.Error(), "not a review campaign") {
		t.Errorf("OpenCampaign(access-review) = %v", err)
	}
}

func TestCampaignWithRoster(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "camp")
	roster := func(source, id string) []string { return []string{"E-" + id, "Sales", "boss@acme.test", "active"} }
	if _, _, err := StartCampaign(context.Background(), dir, CampaignOptions{Sources: campFixture(), Roster: roster, Meta: meta(nil)}); err != nil {
		t.Fatal(err)
	}
	oc, err := OpenCampaign(context.Background(), dir)
	if err != nil {
		t.Fatalf("OpenCampaign with roster columns: %v", err)
	}
	recs, _ := csv.NewReader(bytes.NewReader(oc.RawReview)).ReadAll()
	emp := slices.Index(recs[0], "employee_id")
	if emp < 0 || emp != slices.Index(recs[0], "findings")-4 || recs[1][emp] != "E-"+recs[1][cPrincipal] {
		t.Fatalf("roster columns: header %v, row %v", recs[0], recs[1])
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(recs[0])
	row := slices.Clone(recs[1])
	row[slices.Index(recs[0], "decision")], row[slices.Index(recs[0], "reviewer")] = "keep", "dana@acme.test"
	w.Write(row)
	w.Flush()
	d, err := ParseDecisions("d.csv", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	st, err := CampaignStatus(context.Background(), oc, d, nil, "latest")
	if err != nil || st.Totals.Kept != 1 || len(st.Problems) != 0 {
		t.Errorf("status = %+v, %v", st, err)
	}
}
