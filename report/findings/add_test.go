package findings

import (
	"bytes"
	"slices"
	"testing"

	"github.com/idsnap/idsnap/report"
)

// Rules run outside the package (the roster's) come after the package's
// own, in every format and in IDsFor.
func TestFindingsAdd(t *testing.T) {
	res := goldenResult(t)
	own := res.Len()
	var someone Finding
	for f := range res.Findings() {
		someone = f
		break
	}
	added := []Finding{
		{Rule: "terminated-with-access", Outcome: OutcomeFail, Source: someone.Source, Principal: someone.Principal, Detail: "roster x"},
		{Rule: "terminated-with-access", Outcome: OutcomeFail, Source: someone.Source, Principal: Principal{ID: "deleted-since"}, Detail: "gone"},
		{Rule: "not-in-roster", Outcome: OutcomeUnknown, Source: someone.Source, Principal: someone.Principal, Detail: "unknown"},
	}
	res.Add([]Rule{{ID: "terminated-with-access", Version: 1, Params: map[string]any{"roster_rows": 3}, Population: 2, Fail: 2}}, added)
	if res.Len() != own+3 || res.Rules[len(res.Rules)-1].ID != "terminated-with-access" {
		t.Fatalf("after Add: %d findings, last rule %s", res.Len(), res.Rules[len(res.Rules)-1].ID)
	}
	all := slices.Collect(res.Findings())
	if !slices.Equal(all[own:], added) {
		t.Errorf("added findings = %v, want them last, as given", all[own:])
	}
	var streamed bytes.Buffer
	if err := Render(&streamed, report.FormatJSON, res); err != nil {
		t.Fatal(err)
	}
	checkStreamedJSON(t, res, streamed.Bytes())
	ids := res.IDsFor(someone.Source, someone.Principal.ID)
	if len(ids) < 2 || ids[len(ids)-1] != "terminated-with-access" || slices.Contains(ids, "not-in-roster") {
		t.Errorf("IDsFor(%s) = %v, want its own FAILs then terminated-with-access, no UNKNOWN", someone.Principal.ID, ids)
	}
	// A principal gone from the snapshot still gets the rules that FAIL it.
	if ids := res.IDsFor(someone.Source, "deleted-since"); !slices.Equal(ids, []string{"terminated-with-access"}) {
		t.Errorf("IDsFor(deleted-since) = %v", ids)
	}
	if ids := res.IDsFor(someone.Source, "nobody"); ids != nil {
		t.Errorf("IDsFor(nobody) = %v, want nil", ids)
	}
}
