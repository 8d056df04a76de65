package evidence

import (
	"bytes"
	"encoding/csv"
	"path/filepath"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"
)

// A roster adds its columns before findings, in the CSV and the XLSX
// alike, and the decision dropdown follows the decision column.
func TestExportAccessReviewRosterColumns(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ev")
	_, err := WriteAccessReview(t.Context(), out, AccessReviewOptions{Sources: fixtureReview(), Meta: meta(nil), XLSX: true,
		Findings: func(source, id string) []string { return []string{"terminated-with-access"} },
		Roster: func(source, id string) []string {
			if id == "kp_b" {
				return []string{"E2", "Sales", "ana@acme.com", "terminated"}
			}
			return []string{"", "", "", "not in roster"}
		}})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(readFile(t, filepath.Join(out, AccessReviewCSV)))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	at := slices.Index(AccessReviewHeader, "findings")
	want := slices.Concat(AccessReviewHeader[:at], AccessReviewRosterHeader, AccessReviewHeader[at:])
	if !slices.Equal(recs[0], want) {
		t.Fatalf("header = %v\nwant %v", recs[0], want)
	}
	col := func(name string) int { return slices.Index(want, name) }
	seen := false
	for _, r := range recs[1:] {
		if len(r) != len(want) {
			t.Fatalf("row has %d cells, want %d: %v", len(r), len(want), r)
		}
		if r[col("findings")] != "terminated-with-access" || r[col("decision")] != "" {
			t.Errorf("row %v: findings or decision shifted", r)
		}
		if r[col("principal_id")] == "kp_b" {
			seen = true
			if r[col("employee_id")] != "E2" || r[col("manager_email")] != "ana@acme.com" || r[col("roster_status")] != "terminated" {
				t.Errorf("kp_b row = %v", r)
			}
		} else if r[col("roster_status")] != "not in roster" {
			t.Errorf("row %v: roster_status %q", r, r[col("roster_status")])
		}
	}
	if !seen {
		t.Error("no row for kp_b")
	}
	x, err := excelize.OpenFile(filepath.Join(out, AccessReviewXLSX))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows("access review")
	if err != nil || !slices.Equal(rows[0], want) {
		t.Fatalf("XLSX header = %v, %v", rows[0], err)
	}
	dvs, err := x.GetDataValidations("access review")
	if err != nil || len(dvs) != 1 {
		t.Fatalf("data validations = %v, %v", dvs, err)
	}
	decision, _ := excelize.ColumnNumberToName(col("decision") + 1)
	if dvs[0].Sqref[:len(decision)+1] != decision+"2" {
		t.Errorf("dropdown on %s, want column %s", dvs[0].Sqref, decision)
	}
}
