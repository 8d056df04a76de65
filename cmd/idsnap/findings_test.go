package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/store"
)

// fndRun runs idsnap in-process; it returns the exit code and output.
func fndRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), append([]string{"idsnap"}, args...), strings.NewReader(""), &out, &errOut, func(string) string { return "" })
	return code, out.String(), errOut.String()
}

// fndDB commits a Kinde pull (alice dormant 120 days, holding an admin
// role; bob active yesterday) and an Ory pull (alice again, no sign-in
// data) into a fresh database.
func fndDB(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "idsnap.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	yes := true
	user := func(id, email string, a *idsnap.Activity) idsnap.Record {
		return idsnap.Record{Kind: idsnap.KindUser, ID: id, Email: email, Name: id, Status: idsnap.StatusActive,
			Type: idsnap.AccountHuman, EmailVerified: &yes, CreatedAt: now.AddDate(-1, 0, 0), Activity: a, Raw: json.RawMessage(`{}`)}
	}
	commit := func(src idsnap.Source, recs ...idsnap.Record) {
		st, err := db.Stage(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Abort()
		for _, r := range recs {
			if err := st.Put(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	commit(idsnap.Source{Name: "kinde", Provider: "kinde", BaseURL: "https://acme.kinde.com"},
		user("kp_alice", "alice@acme.com", &idsnap.Activity{LastSignIn: now.AddDate(0, 0, -120), SignIns: 4}),
		user("kp_bob", "bob@acme.com", &idsnap.Activity{LastSignIn: now.AddDate(0, 0, -1), SignIns: 9}),
		idsnap.Record{Kind: idsnap.KindResource, ID: "p1", Name: "Portal", Raw: json.RawMessage(`{}`)},
		idsnap.Record{Kind: idsnap.KindEntitlement, ID: "p1:admin", ResourceID: "p1", Name: "admin", Raw: json.RawMessage(`{}`)},
		idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID("kp_alice", "p1:admin"), PrincipalID: "kp_alice", ResourceID: "p1", EntitlementID: "p1:admin", Raw: json.RawMessage(`{}`)},
	)
	commit(idsnap.Source{Name: "ory", Provider: "ory", BaseURL: "https://ory.example"},
		user("o-1", "Alice+ory@ACME.com", nil))
	return path
}

func TestFindingsCommand(t *testing.T) {
	dbPath := fndDB(t)
	dir := t.TempDir()
	config := func(name, body string) string {
		p := filepath.Join(dir, name+".toml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lenient := config("lenient", "[findings.dormant]\ndays = 200\n")
	typo := config("typo", "[findings.dormant]\ndayz = 200\n")
	negative := config("negative", "[findings.never-signed-in]\ndays = -3\n")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"no --fail-on", []string{"findings"}, 0, "last sign-in", ""},
		{"dormant fails", []string{"findings", "--fail-on", "dormant"}, 3, "dormant", ""},
		{"comma list", []string{"findings", "--fail-on", "unverified-email,privileged"}, 3, "holds Portal/admin", ""},
		{"rule without FAIL", []string{"findings", "--fail-on", "never-signed-in", "--fail-on", "suspended-with-grants"}, 0, "", ""},
		{"unknown rule", []string{"findings", "--fail-on", "dormant,stale"}, 1, "", `--fail-on: unknown rule "stale": use one of dormant, never-signed-in, suspended-with-grants, unverified-email, machine-with-grants, status-mismatch-across-providers, privileged, or with a roster terminated-with-access, leaver-deprovisioned-late, not-in-roster, joiner-before-start`},
		{"config days", []string{"--config", lenient, "findings", "--fail-on", "dormant"}, 0, "days=200", ""},
		{"config typo", []string{"--config", typo, "findings"}, 1, "", "unknown key dormant.dayz"},
		{"config negative days", []string{"--config", negative, "findings"}, 1, "", "never-signed-in days = -3"},
		{"one source", []string{"findings", "--source", "ory", "--fail-on", "dormant"}, 0, "the provider exposes no sign-in data", ""},
		{"--at a snapshot id reads its source only", []string{"findings", "--at", "2", "--fail-on", "dormant"}, 0, "the provider exposes no sign-in data", ""},
		{"--at before the first pull", []string{"findings", "--at", "2001-01-01"}, 1, "", "skipped kinde: no snapshot at or before"},
		{"--at before the first pull says why", []string{"findings", "--at", "2001-01-01"}, 1, "", "no source has a snapshot at 2001-01-01"},
		{"unknown source", []string{"findings", "--source", "nope"}, 1, "", "no snapshots to report on: pull first"},
		{"bad format", []string{"findings", "--format", "xml"}, 1, "", "unknown format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := fndRun(t, append([]string{"--db", dbPath}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr: %s", code, tt.wantCode, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantOut, out)
			}
			if tt.wantErr != "" && !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, tt.wantErr)
			}
			if lines := strings.Split(strings.TrimSpace(errOut), "\n"); code == 1 && !strings.HasPrefix(lines[len(lines)-1], "idsnap: ") {
				t.Errorf("stderr does not end in one error line: %q", errOut)
			}
		})
	}
}

func TestFindingsCommandJSON(t *testing.T) {
	code, out, errOut := fndRun(t, "--db", fndDB(t), "findings", "--format", "json")
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, errOut)
	}
	var doc struct {
		At       map[string]struct{ ID int64 } `json:"at"`
		Findings []struct {
			Rule, Outcome, Source string
			Principal             struct{ ID string }
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("findings JSON: %v\n%s", err, out)
	}
	if doc.At["kinde"].ID != 1 || doc.At["ory"].ID != 2 {
		t.Errorf("at = %+v, want kinde #1 and ory #2", doc.At)
	}
	got := map[string]bool{}
	for _, f := range doc.Findings {
		got[f.Rule+" "+f.Outcome+" "+f.Source+":"+f.Principal.ID] = true
	}
	for _, want := range []string{
		"dormant FAIL kinde:kp_alice",
		"privileged FAIL kinde:kp_alice",
		"dormant UNKNOWN ory:o-1",
		"never-signed-in UNKNOWN ory:o-1",
	} {
		if !got[want] {
			t.Errorf("findings lack %q; have %v", want, got)
		}
	}
	if got["dormant FAIL kinde:kp_bob"] {
		t.Errorf("bob signed in yesterday but is reported dormant")
	}
}

func TestPeopleCommand(t *testing.T) {
	code, out, errOut := fndRun(t, "--db", fndDB(t), "people", "--linked", "--format", "json")
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, errOut)
	}
	var doc struct {
		People []struct {
			ID        string `json:"id"`
			Accounts  []struct{ Source, ID string }
			MatchedBy []string `json:"matched_by"`
		} `json:"people"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.People) != 1 || doc.People[0].ID != "alice@acme.com" || len(doc.People[0].Accounts) != 2 ||
		strings.Join(doc.People[0].MatchedBy, ",") != "email:lowercase,email:plus-tag" {
		t.Errorf("people --linked = %+v, want alice@acme.com in kinde and ory, matched by lowercase and plus-tag", doc.People)
	}
	code, out, _ = fndRun(t, "--db", fndDB(t), "people")
	if code != 0 || !strings.Contains(out, "bob@acme.com") {
		t.Errorf("people (table) = %d, %q: want bob listed on his own", code, out)
	}
	cfg := filepath.Join(t.TempDir(), "idsnap.toml")
	toml := "[people]\ndomain_aliases = { \"acme.io\" = \"acme.com\" }\nunlinks = [[\"kinde:kp_alice\", \"ory:o-1\"]]\n"
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = fndRun(t, "--db", fndDB(t), "--config", cfg, "people", "--linked", "--format", "json")
	if code != 0 || strings.TrimSpace(out) != `{
  "people": []
}` {
		t.Errorf("people --linked with alice unlinked = %d, %q (%s), want no people", code, out, errOut)
	}
	if err := os.WriteFile(cfg, []byte("[people]\nlinks = [[\"kinde:kp_alice\"]]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = fndRun(t, "--db", fndDB(t), "--config", cfg, "people")
	if code != 1 || !strings.Contains(errOut, "give exactly two accounts") {
		t.Errorf("people with a one-account link = %d, %q; want 1 and the fix", code, errOut)
	}
}

func TestFindingsEmptyDB(t *testing.T) {
	code, _, errOut := fndRun(t, "--db", filepath.Join(t.TempDir(), "empty.db"), "findings")
	if code != 1 || !strings.Contains(errOut, "pull first") {
		t.Errorf("findings on an empty database = %d, %q; want 1 and a hint to pull", code, errOut)
	}
}
