package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/store"
)

// reportRun runs idsnap in-process against the database at db.
func reportRun(t testing.TB, db string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"idsnap", "--db", db}, args...), strings.NewReader(""), &out, &errOut,
		func(string) string { return "" })
	return code, out.String(), errOut.String()
}

// commitSnapshot stages records as one pull of src and commits it.
func commitSnapshot(t testing.TB, db *store.DB, src idsnap.Source, recs ...idsnap.Record) idsnap.Snapshot {
	t.Helper()
	ctx := context.Background()
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
	s, err := st.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// twoPulls builds a database: kinde pulled twice (#1, #2: alice
// suspended, bob left with his grant, carol joined with one), then ory
// once (#3).
func twoPulls(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "idsnap.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u := func(id, email, name string, st idsnap.Status) idsnap.Record {
		return idsnap.Record{Kind: idsnap.KindUser, ID: id, Email: email, Name: name, Status: st, Type: idsnap.AccountHuman,
			Raw: json.RawMessage(`{"id":"` + id + `"}`)}
	}
	g := func(p string) idsnap.Record {
		return idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(p, "org1:member"), PrincipalID: p, ResourceID: "org1", EntitlementID: "org1:member",
			Raw: json.RawMessage(`{}`)}
	}
	org := idsnap.Record{Kind: idsnap.KindResource, ID: "org1", Name: "Acme", Raw: json.RawMessage(`{"code":"org1"}`)}
	member := idsnap.Record{Kind: idsnap.KindEntitlement, ID: "org1:member", ResourceID: "org1", Name: "member", Raw: json.RawMessage(`{}`)}
	kinde := idsnap.Source{Name: "kinde", Provider: "kinde", BaseURL: "https://acme.kinde.com"}
	commitSnapshot(t, db, kinde,
		u("kp_alice", "alice@example.com", "Alice", idsnap.StatusActive), u("kp_bob", "bob@example.com", "Bob", idsnap.StatusActive),
		org, member, g("kp_alice"), g("kp_bob"))
	commitSnapshot(t, db, kinde,
		u("kp_alice", "alice@example.com", "Alice", idsnap.StatusSuspended), u("kp_carol", "carol@example.com", "Carol", idsnap.StatusActive),
		org, member, g("kp_alice"), g("kp_carol"))
	commitSnapshot(t, db, idsnap.Source{Name: "ory", Provider: "ory", BaseURL: "https://ory.example"},
		u("9f0c", "alice@example.com", "Alice A.", idsnap.StatusActive))
	return path
}

type diffDoc struct {
	From map[string]struct {
		ID       int64
		Earliest bool
	} `json:"from"`
	To      map[string]struct{ ID int64 } `json:"to"`
	Changes []struct {
		Source, Change, Kind, ID, Email, Name string
		Fields                                []idsnap.FieldChange
		Principal                             *idsnap.Ref
		Grants                                []struct{ ID, Change string }
	} `json:"changes"`
}

func TestDiffCommandJSON(t *testing.T) {
	db := twoPulls(t)
	code, out, errOut := reportRun(t, db, "diff", "--format", "json", "1", "2")
	if code != 0 {
		t.Fatalf("diff 1 2: exit %d: %s", code, errOut)
	}
	var doc diffDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.From["kinde"].ID != 1 || doc.To["kinde"].ID != 2 || len(doc.From) != 1 {
		t.Errorf("from/to = %+v / %+v, want kinde #1 → #2 only", doc.From, doc.To)
	}
	var got []string
	for _, c := range doc.Changes {
		got = append(got, c.Change+" "+c.Kind+" "+c.ID)
	}
	want := []string{"joined user kp_carol", "left user kp_bob", "changed user kp_alice", "granted grant kp_carol|org1:member"}
	if !slices.Equal(got, want) {
		t.Fatalf("changes = %q\nwant %q", got, want)
	}
	bob := doc.Changes[1]
	if bob.Email != "bob@example.com" || len(bob.Grants) != 1 || bob.Grants[0].ID != "kp_bob|org1:member" || bob.Grants[0].Change != "revoked" {
		t.Errorf("leaver = %+v, want bob with his revoked grant folded in", bob)
	}
	alice := doc.Changes[2]
	if !slices.ContainsFunc(alice.Fields, func(f idsnap.FieldChange) bool {
		return f.Field == "status" && f.From == "active" && f.To == "suspended"
	}) {
		t.Errorf("alice fields = %+v, want status active → suspended", alice.Fields)
	}
	if p := doc.Changes[3].Principal; p == nil || p.Email != "carol@example.com" {
		t.Errorf("grant principal = %+v, want carol", p)
	}
}

func TestDiffCommandDefaults(t *testing.T) {
	db := twoPulls(t)
	// Every snapshot is newer than yesterday: each source's earliest
	// stands in for --since, and ory compares #3 with itself.
	code, out, errOut := reportRun(t, db, "diff", "--format", "json", "--utc")
	if code != 0 {
		t.Fatalf("diff: exit %d: %s", code, errOut)
	}
	var doc diffDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if f := doc.From["kinde"]; f.ID != 1 || !f.Earliest {
		t.Errorf("kinde from = %+v, want #1 marked earliest", f)
	}
	if doc.From["ory"].ID != 3 || doc.To["ory"].ID != 3 || doc.To["kinde"].ID != 2 {
		t.Errorf("from/to = %+v / %+v", doc.From, doc.To)
	}

	code, out, _ = reportRun(t, db, "diff", "--utc", "--source", "ory")
	for _, want := range []string{"ory: #3", "same snapshot, no changes", "no snapshot that old"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("diff --source ory: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}

	code, out, _ = reportRun(t, db, "diff", "--utc", "--since", "1999-01-01", "--until", "2000-01-01", "--format", "markdown")
	if code != 0 || !strings.Contains(out, "kinde: not compared: no snapshot at or before 2000-01-01T00:00:00Z") {
		t.Errorf("diff --until 2000-01-01: exit %d:\n%s", code, out)
	}
}

func TestDiffCommandFiltersAndExitCode(t *testing.T) {
	db := twoPulls(t)
	tests := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"diff", "--exit-code", "1", "2"}, 3, "kp_carol"},
		{[]string{"diff", "--exit-code", "#2", "latest"}, 0, "same snapshot, no changes"},
		{[]string{"diff", "--exit-code", "--kind", "resource", "1", "2"}, 0, "0 changes (5 more hidden by filters)"},
		{[]string{"diff", "--change", "revoked", "--format", "csv", "1", "2"}, 0, "kinde,1,2,revoked,grant,kp_bob|org1:member"},
		{[]string{"diff", "--since", "latest~1", "--source", "kinde", "--format", "csv"}, 0, "kinde,1,2,joined,user,kp_carol"},
		{[]string{"diff", "1", "3"}, 1, "compare snapshots of one source"},
		{[]string{"diff", "2", "1"}, 1, "swap them"},
		{[]string{"diff", "99"}, 1, "snapshot #99 does not exist"},
		{[]string{"diff", "--since", "7d", "1"}, 1, "not both"},
		{[]string{"diff", "--since", "soon"}, 1, `--since: unknown time "soon"`},
		{[]string{"diff", "--change", "moved"}, 1, `--change: unknown change "moved"`},
		{[]string{"diff", "--source", "ory", "1"}, 1, "--source leaves out"},
		{[]string{"diff", "--source", "zitadel"}, 0, "zitadel: not compared: no snapshots"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := reportRun(t, db, tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.contains) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s%s", code, tt.code, tt.contains, out, errOut)
			}
			if code == 1 && strings.Count(errOut, "\n") != 1 {
				t.Errorf("error is not one line: %q", errOut)
			}
		})
	}
}

func TestHistoryCommand(t *testing.T) {
	db := twoPulls(t)
	code, out, errOut := reportRun(t, db, "history", "ALICE@example.com", "--format", "json")
	if code != 0 {
		t.Fatalf("history: exit %d: %s", code, errOut)
	}
	var doc struct {
		Accounts []struct{ Source, ID string }
		Changes  []struct {
			Source, Change, Kind, ID string
			Snapshot                 struct{ ID int64 }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Accounts) != 2 {
		t.Errorf("accounts = %+v, want kinde and ory", doc.Accounts)
	}
	var got []string
	for _, c := range doc.Changes {
		got = append(got, c.Source+" #"+string(rune('0'+c.Snapshot.ID))+" "+c.Change+" "+c.ID)
	}
	want := []string{"kinde #1 joined kp_alice", "kinde #1 granted kp_alice|org1:member", "kinde #2 changed kp_alice", "ory #3 joined 9f0c"}
	if !slices.Equal(got, want) {
		t.Errorf("history = %q\nwant %q", got, want)
	}
	if code, _, errOut := reportRun(t, db, "history", "nobody@example.com"); code != 1 || !strings.Contains(errOut, "no user") {
		t.Errorf("history of nobody: exit %d: %s", code, errOut)
	}
}

func TestAccessCommand(t *testing.T) {
	db := twoPulls(t)
	code, out, errOut := reportRun(t, db, "access", "--at", "1", "--format", "json")
	if code != 0 {
		t.Fatalf("access: exit %d: %s", code, errOut)
	}
	var doc struct {
		At     map[string]struct{ ID int64 }
		Grants []struct {
			Source    string
			Snapshot  int64
			Principal struct{ ID, Email, Status string }
			Resource  struct{ ID, Name string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.At["kinde"].ID != 1 || len(doc.At) != 1 || len(doc.Grants) != 2 {
		t.Fatalf("access --at 1 = %+v, want kinde #1 with 2 grants", doc)
	}
	if g := doc.Grants[1]; g.Principal.Email != "bob@example.com" || g.Resource.Name != "Acme" || g.Snapshot != 1 {
		t.Errorf("grant = %+v, want bob on Acme in #1", g)
	}

	code, out, _ = reportRun(t, db, "access", "--principal", "alice@example.com", "--format", "csv")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[1], "kinde,2,") || !strings.Contains(lines[1], ",suspended,") {
		t.Errorf("access --principal alice: exit %d:\n%s", code, out)
	}

	code, out, _ = reportRun(t, db, "access", "--at", "2000-01-01", "--utc")
	if code != 0 || !strings.Contains(out, "kinde: not read: no snapshot at or before 2000-01-01T00:00:00Z") || !strings.Contains(out, "0 grants") {
		t.Errorf("access --at 2000-01-01: exit %d:\n%s", code, out)
	}
}

// TestAccessNoSuchPrincipal: a --principal (or --resource) no snapshot
// lists says so in one line (the table's summary, stderr beside JSON and
// CSV), while a user who holds nothing is a plain "0 grants"; JSON and CSV
// keep their shapes.
func TestAccessNoSuchPrincipal(t *testing.T) {
	db := twoPulls(t)
	const note = `no user "nobody" in the snapshots read: give a user id, email or username as the provider has it`
	code, out, errOut := reportRun(t, db, "access", "--principal", "nobody")
	if code != 0 || !strings.Contains(out, "0 grants; "+note+"\n") || errOut != "" {
		t.Errorf("access --principal nobody: exit %d:\n%s\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = reportRun(t, db, "access", "--principal", "nobody", "--format", "json")
	var doc struct{ Grants []json.RawMessage }
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil || len(doc.Grants) != 0 || errOut != "idsnap: "+note+"\n" {
		t.Errorf("access --principal nobody --format json: exit %d, %v:\n%s\nstderr: %s", code, err, out, errOut)
	}
	code, out, errOut = reportRun(t, db, "access", "--principal", "nobody", "--format", "csv")
	if code != 0 || strings.Count(out, "\n") != 1 || errOut != "idsnap: "+note+"\n" {
		t.Errorf("access --principal nobody --format csv: exit %d:\n%s\nstderr: %s", code, out, errOut)
	}
	// alice is listed; a resource no snapshot lists is named instead.
	const resNote = `no resource "nowhere" in the snapshots read: give a resource id or name as the provider has it`
	code, out, errOut = reportRun(t, db, "access", "--principal", "alice@example.com", "--resource", "nowhere")
	if code != 0 || strings.Contains(out+errOut, "no user") || !strings.Contains(out, "0 grants; "+resNote+"\n") {
		t.Errorf("access --principal alice --resource nowhere: exit %d:\n%s\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = reportRun(t, db, "access", "--resource", "nowhere", "--format", "csv")
	if code != 0 || strings.Count(out, "\n") != 1 || errOut != "idsnap: "+resNote+"\n" {
		t.Errorf("access --resource nowhere --format csv: exit %d:\n%s\nstderr: %s", code, out, errOut)
	}
	// A resource that is listed is no news, whoever holds it.
	code, out, errOut = reportRun(t, db, "access", "--resource", "acme")
	if code != 0 || strings.Contains(out+errOut, "no resource") || !strings.Contains(out, "2 grants") {
		t.Errorf("access --resource acme: exit %d:\n%s\nstderr: %s", code, out, errOut)
	}
}

// BenchmarkAccessCSV streams the access of a 100k-principal snapshot
// (one grant each) as CSV: go test ./cmd/idsnap -run XXX -bench AccessCSV.
func BenchmarkAccessCSV(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "idsnap.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	recs := []idsnap.Record{
		{Kind: idsnap.KindResource, ID: "org1", Name: "Acme", Raw: json.RawMessage(`{}`)},
		{Kind: idsnap.KindEntitlement, ID: "org1:member", ResourceID: "org1", Name: "member", Raw: json.RawMessage(`{}`)},
	}
	for i := range n {
		id := "kp_" + strconv.Itoa(i)
		recs = append(recs,
			idsnap.Record{Kind: idsnap.KindUser, ID: id, Email: id + "@example.com", Name: "User " + id, Status: idsnap.StatusActive, Raw: json.RawMessage(`{}`)},
			idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(id, "org1:member"), PrincipalID: id, ResourceID: "org1", EntitlementID: "org1:member", Raw: json.RawMessage(`{}`)})
	}
	commitSnapshot(b, db, idsnap.Source{Name: "kinde", Provider: "kinde"}, recs...)
	db.Close()
	b.ResetTimer()
	for b.Loop() {
		var out countWriter
		code := run(context.Background(), []string{"idsnap", "--db", path, "access", "--format", "csv"}, strings.NewReader(""), &out, io.Discard, func(string) string { return "" })
		if code != 0 || out.lines != n+1 {
			b.Fatalf("access: exit %d, %d lines", code, out.lines)
		}
	}
}

type countWriter struct{ lines int }

func (w *countWriter) Write(p []byte) (int, error) {
	w.lines += bytes.Count(p, []byte("\n"))
	return len(p), nil
}
