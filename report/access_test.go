package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/idsnap/idsnap"
)

// fixtureState is a snapshot's state in store.State's order.
func fixtureState() []idsnap.Record {
	g := func(p, res, key string, st idsnap.Status) idsnap.Record {
		e := idsnap.EntitlementID(res, key)
		return idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(p, e), PrincipalID: p, ResourceID: res, EntitlementID: e, Status: st}
	}
	return []idsnap.Record{
		{Kind: idsnap.KindUser, ID: "u1", Email: "Ann@Corp.example", Name: "Ann", Status: idsnap.StatusActive, Username: "ann"},
		{Kind: idsnap.KindUser, ID: "u2", Email: "bob@corp.example", Name: hostile, Status: idsnap.StatusSuspended},
		{Kind: idsnap.KindResource, ID: "p1", Name: "Billing"},
		{Kind: idsnap.KindResource, ID: "p2", Name: "Payroll"},
		{Kind: idsnap.KindEntitlement, ID: "p1:admin", ResourceID: "p1", Name: "admin"},
		{Kind: idsnap.KindEntitlement, ID: "p2:viewer", ResourceID: "p2", Name: "viewer"},
		g("u1", "p1", "admin", idsnap.StatusActive),
		g("u1", "p2", "viewer", idsnap.StatusInactive),
		g("u2", "p2", "viewer", idsnap.StatusActive),
		g("u9", "p1", "admin", ""), // a principal the snapshot does not list
	}
}

func renderAccess(t testing.TB, f Format, principal, resource string) string {
	t.Helper()
	var buf bytes.Buffer
	at := []Point{{Snapshot: idsnap.Snapshot{ID: 6, Source: "zitadel", TakenAt: t1}}}
	aw, err := NewAccessWriter(&buf, f, at, []Skipped{{Source: "kinde", Reason: "no snapshot at or before 2026-11-02T09:00:00Z"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	j := NewAccessJoin("zitadel", 6, principal, resource)
	for _, r := range fixtureState() {
		if row, ok := j.Add(r); ok {
			if err := aw.Write(row); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestAccessGolden(t *testing.T) {
	for _, f := range []Format{FormatTable, FormatJSON, FormatCSV, FormatMarkdown} {
		t.Run(string(f), func(t *testing.T) {
			out := renderAccess(t, f, "", "")
			checkGolden(t, "access."+string(f)+".golden", []byte(out))
			if strings.ContainsAny(out, "\x1b\u202e") {
				t.Errorf("%s output carries raw control or bidi characters", f)
			}
		})
	}
}

type accessDoc struct {
	At      map[string]Point `json:"at"`
	Skipped []Skipped        `json:"skipped"`
	Grants  []struct {
		Source      string          `json:"source"`
		Snapshot    int64           `json:"snapshot"`
		Principal   AccessPrincipal `json:"principal"`
		Resource    refJSON         `json:"resource"`
		Entitlement refJSON         `json:"entitlement"`
		Status      string          `json:"status"`
	} `json:"grants"`
}

func TestAccessFilters(t *testing.T) {
	tests := []struct {
		principal, resource string
		want                []string // grant principal|entitlement
	}{
		{"", "", []string{"u1|p1:admin", "u1|p2:viewer", "u2|p2:viewer", "u9|p1:admin"}},
		{"ann@corp.EXAMPLE", "", []string{"u1|p1:admin", "u1|p2:viewer"}},
		{"ann", "", []string{"u1|p1:admin", "u1|p2:viewer"}},
		{"u2", "", []string{"u2|p2:viewer"}},
		{"", "payroll", []string{"u1|p2:viewer", "u2|p2:viewer"}},
		{"", "p1", []string{"u1|p1:admin", "u9|p1:admin"}},
		{"u1", "Payroll", []string{"u1|p2:viewer"}},
		{"nobody", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.principal+"/"+tt.resource, func(t *testing.T) {
			// The streamed JSON must decode as one document.
			var doc accessDoc
			if err := json.Unmarshal([]byte(renderAccess(t, FormatJSON, tt.principal, tt.resource)), &doc); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range doc.Grants {
				got = append(got, g.Principal.ID+"|"+g.Entitlement.ID)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("grants = %v, want %v", got, tt.want)
			}
			if doc.At["zitadel"].Snapshot.ID != 6 || len(doc.Skipped) != 1 {
				t.Errorf("at = %+v skipped = %+v, want zitadel #6 and kinde skipped", doc.At, doc.Skipped)
			}
		})
	}
}

func TestAccessJSONMatchesRenderJSON(t *testing.T) {
	out := renderAccess(t, FormatJSON, "", "")
	var doc accessDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := renderSafeJSON(&buf, doc); err != nil {
		t.Fatal(err)
	}
	// Same bytes as encoding the whole document at once (status omitted
	// where empty in both).
	want := strings.ReplaceAll(buf.String(), ",\n      \"status\": \"\"", "")
	if out != want {
		t.Errorf("streamed JSON differs from one-shot encoding:\n%s\nwant:\n%s", out, want)
	}
	empty := renderAccess(t, FormatJSON, "nobody", "")
	if !strings.Contains(empty, `"grants": []`) {
		t.Errorf("no grants = %s, want an empty list", empty)
	}
}
