package roster

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/idsnap/idsnap/internal/golden"
	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/report/people"
)

func TestRenderPeopleGolden(t *testing.T) {
	in, r, pc, _ := world(t)
	ctx := context.Background()
	pr, err := people.Run(ctx, in, pc, false)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Match(ctx, in, r, pc)
	if err != nil {
		t.Fatal(err)
	}
	res := PeopleWith(pr, m)
	for _, f := range []report.Format{report.FormatTable, report.FormatJSON, report.FormatCSV} {
		var buf bytes.Buffer
		if err := RenderPeople(&buf, f, res); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", "people."+string(f)+".golden"), buf.Bytes())
		if f != report.FormatJSON {
			continue
		}
		// JSON keeps people's contract and adds roster objects to it.
		var v struct {
			Roster map[string]any `json:"roster"`
			People []struct {
				ID       string `json:"id"`
				Accounts []struct {
					Source string         `json:"source"`
					ID     string         `json:"id"`
					Status string         `json:"status"`
					Roster map[string]any `json:"roster"`
				} `json:"accounts"`
				MatchedBy []string `json:"matched_by"`
			} `json:"people"`
		}
		if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		if v.Roster["sha256"] != r.SHA256 || v.Roster["rows"] != float64(len(r.People)) || len(v.People) != len(pr.People) {
			t.Errorf("people JSON roster %v, %d people", v.Roster, len(v.People))
		}
	}
}
