package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/idsnap/idsnap"
)

func fixtureHistory() *History {
	carol := idsnap.Ref{ID: "kp_carol", Name: "Carol", Email: "carol@example.com"}
	kinde := []idsnap.Change{
		{Source: "kinde", SnapshotID: 1, Type: idsnap.Joined, Kind: idsnap.KindUser, ID: "kp_carol", After: user("kp_carol", "carol@example.com", "Carol", idsnap.StatusActive)},
		grantChange(idsnap.Granted, carol, "acme_org", "Acme", "member"),
		{Source: "kinde", SnapshotID: 5, Type: idsnap.Changed, Kind: idsnap.KindUser, ID: "kp_carol",
			Before: user("kp_carol", "carol@example.com", "Carol", idsnap.StatusActive),
			After:  user("kp_carol", "carol@example.com", "Carol", idsnap.StatusSuspended),
			Fields: []idsnap.FieldChange{{Field: "status", From: "active", To: "suspended"}}},
		grantChange(idsnap.Revoked, carol, "acme_org", "Acme", "member"),
	}
	kinde[1].Source, kinde[1].SnapshotID = "kinde", 1
	kinde[3].Source, kinde[3].SnapshotID = "kinde", 5
	ory := []idsnap.Change{
		{Source: "ory", SnapshotID: 3, Type: idsnap.Joined, Kind: idsnap.KindUser, ID: "9f0c", After: user("9f0c", "carol@example.com", "Carol C.", idsnap.StatusActive)},
	}
	snaps := []idsnap.Snapshot{{ID: 1, Source: "kinde", TakenAt: t0}, {ID: 3, Source: "ory", TakenAt: t0.Add(2 * 3600e9)}, {ID: 5, Source: "kinde", TakenAt: t1}}
	accounts := []idsnap.Record{
		{Source: "ory", Kind: idsnap.KindUser, ID: "9f0c", Email: "carol@example.com", Name: "Carol C.", Status: idsnap.StatusActive},
		{Source: "kinde", Kind: idsnap.KindUser, ID: "kp_carol", Email: "carol@example.com", Name: "Carol", Status: idsnap.StatusSuspended},
	}
	return NewHistory("carol@example.com", accounts, append(ory, kinde...), snaps)
}

func TestRenderHistoryGolden(t *testing.T) {
	h := fixtureHistory()
	for _, f := range []Format{FormatTable, FormatJSON, FormatCSV, FormatMarkdown} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := RenderHistory(&buf, f, h); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "history."+string(f)+".golden", buf.Bytes())
		})
	}
}

func TestNewHistoryOrder(t *testing.T) {
	h := fixtureHistory()
	var got []string
	for _, e := range h.Entries {
		got = append(got, e.Change.Source+"/"+string(e.Change.Type)+"/"+string(e.Change.Kind))
	}
	want := []string{"kinde/joined/user", "kinde/granted/grant", "ory/joined/user", "kinde/changed/user", "kinde/revoked/grant"}
	if !slices.Equal(got, want) {
		t.Errorf("history order = %v, want %v", got, want)
	}
	var buf bytes.Buffer
	if err := RenderHistory(&buf, FormatJSON, h); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Accounts []struct{ Source, ID string }
		Changes  []struct {
			Snapshot struct {
				ID      int64  `json:"id"`
				TakenAt string `json:"taken_at"`
			}
			Change string
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Accounts) != 2 || v.Accounts[0].Source != "kinde" {
		t.Errorf("accounts = %+v, want kinde then ory", v.Accounts)
	}
	if len(v.Changes) != 5 || v.Changes[4].Snapshot.ID != 5 || v.Changes[4].Snapshot.TakenAt != "2026-11-02T09:00:00Z" {
		t.Errorf("changes = %+v, want 5 with the last seen in #5 at 2026-11-02T09:00:00Z", v.Changes)
	}
}
