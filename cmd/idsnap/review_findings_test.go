package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report/evidence"
	"github.com/idsnap/idsnap/report/findings"
	"github.com/idsnap/idsnap/store"
)

// The access review names, per row, the findings that apply to its
// principal, so a reviewer sees why a row needs a decision.
func TestAccessReviewCarriesFindings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idsnap.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	src := idsnap.Source{Name: "kinde", Provider: "kinde"}
	user := func(id string, st idsnap.Status) idsnap.Record {
		return idsnap.Record{Kind: idsnap.KindUser, ID: id, Email: id + "@acme.test", Status: st, Type: idsnap.AccountHuman,
			Raw: json.RawMessage(`{}`), Activity: &idsnap.Activity{}}
	}
	org := idsnap.Record{Kind: idsnap.KindResource, ID: "org_1", Name: "Acme", Raw: json.RawMessage(`{}`)}
	member := idsnap.Record{Kind: idsnap.KindEntitlement, ID: "org_1:member", ResourceID: "org_1", Name: "member", Raw: json.RawMessage(`{}`)}
	grant := func(p string) idsnap.Record {
		return idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(p, member.ID), PrincipalID: p, ResourceID: "org_1",
			EntitlementID: member.ID, Status: idsnap.StatusActive, Raw: json.RawMessage(`{}`)}
	}
	evCommit(t, db, src, user("gone", idsnap.StatusSuspended), user("here", idsnap.StatusActive), org, member, grant("gone"), grant("here"))
	db.Close()

	out := filepath.Join(t.TempDir(), "review")
	if r := runIDSnap(t, nil, "--db", path, "export", "access-review", "--at", "latest", "--out", out); r.code != 0 {
		t.Fatalf("export: exit %d: %s", r.code, r.stderr)
	}
	rows := readCSV(t, filepath.Join(out, evidence.AccessReviewCSV))
	col := slices.Index(rows[0], "findings")
	pid := slices.Index(rows[0], "principal_id")
	if col < 0 || pid < 0 {
		t.Fatalf("header %v has no findings or principal_id column", rows[0])
	}
	got := map[string]string{}
	for _, r := range rows[1:] {
		got[r[pid]] = r[col]
	}
	if got["gone"] != findings.RuleSuspendedGrant {
		t.Errorf("findings of the suspended holder = %q, want %q", got["gone"], findings.RuleSuspendedGrant)
	}
	if got["here"] != "" {
		t.Errorf("findings of an active holder = %q, want none", got["here"])
	}
}
