package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report/evidence"
	"github.com/idsnap/idsnap/store"
)

// evCommit commits one snapshot of src holding recs.
func evCommit(t *testing.T, db *store.DB, src idsnap.Source, recs ...idsnap.Record) idsnap.Snapshot {
	t.Helper()
	return commitSnapshot(t, db, src, recs...)
}

// evHistory builds a database with two Kinde pulls (a grant revoked, a
// user joined with a hostile name) and one ZITADEL pull.
func evHistory(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "idsnap.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kinde := idsnap.Source{Name: "kinde-prod", Provider: "kinde", BaseURL: "https://acme.kinde.com", Secrets: map[string]idsnap.Secret{"client_secret": "never-stored"}}
	zitadel := idsnap.Source{Name: "zitadel", Provider: "zitadel", BaseURL: "https://acme.zitadel.cloud", Tenant: "300"}
	user := func(id, email, name string) idsnap.Record {
		return idsnap.Record{Kind: idsnap.KindUser, ID: id, Email: email, Name: name, Status: idsnap.StatusActive,
			Type: idsnap.AccountHuman, Raw: json.RawMessage(`{"id":"` + id + `"}`), Activity: &idsnap.Activity{}}
	}
	org := idsnap.Record{Kind: idsnap.KindResource, ID: "org_1", Name: "Acme", Raw: json.RawMessage(`{}`)}
	member := idsnap.Record{Kind: idsnap.KindEntitlement, ID: "org_1:member", ResourceID: "org_1", Name: "member", Raw: json.RawMessage(`{}`)}
	grant := idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID("kp_a", "org_1:member"), PrincipalID: "kp_a",
		ResourceID: "org_1", EntitlementID: "org_1:member", Raw: json.RawMessage(`{}`)}
	evCommit(t, db, kinde, user("kp_a", "alice@acme.test", "Alice"), org, member, grant)
	evCommit(t, db, zitadel, idsnap.Record{Kind: idsnap.KindUser, ID: "z1", Email: "zed@acme.test", Name: "Zed", Type: idsnap.AccountMachine, Raw: json.RawMessage(`{}`)})
	evCommit(t, db, kinde, user("kp_a", "alice@acme.test", "Alice"), user("kp_b", "bob@acme.test", "=cmd|' /C calc'!A0\x07"), org, member)
	return path
}

func TestExportVerifyEndToEnd(t *testing.T) {
	dbPath := evHistory(t)
	dir := t.TempDir()
	keyPrefix := filepath.Join(dir, "auditor")
	if r := runIDSnap(t, nil, "keygen", "--out", keyPrefix); r.code != 0 || !strings.Contains(r.stdout, "key id") {
		t.Fatalf("keygen: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if fi, err := os.Stat(keyPrefix + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if r := runIDSnap(t, nil, "keygen", "--out", keyPrefix); r.code != 1 || !strings.Contains(r.stderr, "never overwritten") {
		t.Fatalf("keygen over existing keys: exit %d: %s", r.code, r.stderr)
	}

	review := filepath.Join(dir, "review")
	r := runIDSnap(t, nil, "--db", dbPath, "export", "access-review", "--at", "latest", "--out", review, "--xlsx", "--sign", keyPrefix+".key")
	if r.code != 0 {
		t.Fatalf("export access-review: exit %d: %s", r.code, r.stderr)
	}
	f, err := os.Open(filepath.Join(review, evidence.AccessReviewCSV))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// alice (1 grant), bob (none), zed (none).
	if len(recs) != 4 {
		t.Fatalf("access-review.csv has %d records; want header + 3:\n%v", len(recs), recs)
	}
	if got := recs[2][6]; got != `'=cmd|' /C calc'!A0\x07` {
		t.Errorf("hostile name in CSV = %q; want neutralised", got)
	}
	m := evManifest(t, review)
	if len(m.Sources) != 2 || m.Sources[0].Snapshots[0].ID != 3 || m.Sources[1].Snapshots[0].ID != 2 || m.Sources[0].Snapshots[0].ChainDigest == "" {
		t.Errorf("manifest sources = %+v; want kinde-prod #3 and zitadel #2 with digests", m.Sources)
	}
	if cl := strings.Join(m.CommandLine, " "); !strings.Contains(cl, "export access-review") || !strings.Contains(cl, "--xlsx") {
		t.Errorf("manifest command line = %q", cl)
	}

	r = runIDSnap(t, nil, "--db", dbPath, "verify", review, "--pubkey", keyPrefix+".pub")
	if r.code != 0 || !strings.Contains(r.stdout, "signature verified") || !strings.Contains(r.stdout, "2 snapshots match the database") {
		t.Fatalf("verify: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	r = runIDSnap(t, nil, "verify", review)
	if r.code != 0 || !strings.Contains(r.stdout, "not checked") {
		t.Fatalf("verify without key: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if bin, err := exec.LookPath("minisign"); err == nil {
		out, err := exec.Command(bin, "-Vm", filepath.Join(review, evidence.ManifestFile), "-p", keyPrefix+".pub").CombinedOutput()
		if err != nil {
			t.Fatalf("minisign -V: %v\n%s", err, out)
		}
	}

	// A changed byte fails with exit 1 and one line naming the file.
	csvPath := filepath.Join(review, evidence.AccessReviewCSV)
	b, _ := os.ReadFile(csvPath)
	b[len(b)/2] ^= 1
	if err := os.WriteFile(csvPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r = runIDSnap(t, nil, "verify", review, "--pubkey", keyPrefix+".pub")
	if r.code != 1 || !strings.Contains(r.stderr, evidence.AccessReviewCSV) || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("verify of a changed file: exit %d: %q", r.code, r.stderr)
	}

	// The same folder again: refused, evidence kept.
	r = runIDSnap(t, nil, "--db", dbPath, "export", "access-review", "--at", "latest", "--out", review)
	if r.code != 1 || !strings.Contains(r.stderr, "not empty") {
		t.Fatalf("export into a used folder: exit %d: %s", r.code, r.stderr)
	}

	changes := filepath.Join(dir, "changes")
	r = runIDSnap(t, nil, "--db", dbPath, "export", "changes", "--since", "1", "--until", "latest", "--source", "kinde-prod", "--out", changes)
	if r.code != 0 {
		t.Fatalf("export changes: exit %d: %s", r.code, r.stderr)
	}
	got, _ := os.ReadFile(filepath.Join(changes, evidence.ChangesCSV))
	for _, want := range []string{"kinde-prod,3,", ",joined,user,kp_b,", ",revoked,grant,kp_a|org_1:member,"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("changes.csv lacks %q:\n%s", want, got)
		}
	}
	cov, _ := os.ReadFile(filepath.Join(changes, evidence.CoverageCSV))
	if !strings.Contains(string(cov), "kinde-prod,baseline,1,") || !strings.Contains(string(cov), "kinde-prod,snapshot,3,") {
		t.Errorf("coverage.csv:\n%s", cov)
	}
	r = runIDSnap(t, nil, "verify", changes, "--db", dbPath)
	if r.code != 0 || !strings.Contains(r.stdout, "2 snapshots match") {
		t.Fatalf("verify changes: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if r := runIDSnap(t, nil, "verify", changes, "--pubkey", keyPrefix+".pub"); r.code != 1 || !strings.Contains(r.stderr, "not signed") {
		t.Fatalf("verify of an unsigned folder with --pubkey: exit %d: %s", r.code, r.stderr)
	}
	if r := runIDSnap(t, nil, "verify", changes, "--db", filepath.Join(dir, "nope.db")); r.code != 1 || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("verify with a missing --db: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "nope.db")); err == nil {
		t.Error("verify created a database")
	}
}

func TestExportAtBeforeFirstSnapshot(t *testing.T) {
	dbPath := evHistory(t)
	past := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	r := runIDSnap(t, nil, "--db", dbPath, "export", "access-review", "--at", past, "--out", filepath.Join(t.TempDir(), "x"))
	if r.code != 1 || !strings.Contains(r.stderr, "nothing to export") {
		t.Fatalf("export before any snapshot: exit %d: %s", r.code, r.stderr)
	}
	r = runIDSnap(t, nil, "--db", dbPath, "export", "access-review", "--at", past, "--source", "zitadel", "--out", filepath.Join(t.TempDir(), "x"))
	if r.code != 1 || !strings.Contains(r.stderr, "zitadel: no snapshot at or before") {
		t.Fatalf("export of a named source before its first snapshot: exit %d: %s", r.code, r.stderr)
	}
}

func evManifest(t *testing.T, dir string) evidence.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, evidence.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m evidence.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
