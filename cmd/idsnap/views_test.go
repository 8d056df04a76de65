package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/store"
)

// viewsDB is twoPulls plus a third kinde pull (#4) with what the views
// must join as access does: a grant to a principal the snapshot does not
// list, one on an entitlement it does not list, a user with a sign-in.
func viewsDB(t *testing.T) (path string, db *sql.DB) {
	t.Helper()
	path = twoPulls(t)
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	signIn := time.Date(2026, 11, 30, 8, 15, 0, 0, time.UTC)
	alice := idsnap.Record{Kind: idsnap.KindUser, ID: "kp_alice", Email: "alice@example.com", Name: "Alice", Status: idsnap.StatusSuspended,
		Type: idsnap.AccountHuman, Raw: json.RawMessage(`{"id":"kp_alice"}`), Activity: &idsnap.Activity{LastSignIn: signIn, SignIns: 3}}
	grant := func(p, ent string) idsnap.Record {
		res, _, _ := strings.Cut(ent, ":")
		return idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(p, ent), PrincipalID: p, ResourceID: res, EntitlementID: ent, Raw: json.RawMessage(`{}`)}
	}
	commitSnapshot(t, s, idsnap.Source{Name: "kinde", Provider: "kinde", BaseURL: "https://acme.kinde.com"},
		alice,
		idsnap.Record{Kind: idsnap.KindResource, ID: "org1", Name: "Acme", Raw: json.RawMessage(`{"code":"org1"}`)},
		idsnap.Record{Kind: idsnap.KindEntitlement, ID: "org1:member", ResourceID: "org1", Name: "member", Raw: json.RawMessage(`{}`)},
		grant("kp_alice", "org1:member"), grant("kp_ghost", "org1:member"), grant("kp_alice", "org1:x:billing-admin"))
	s.Close()
	db, err = sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return path, db
}

// queryRows returns every row of q as strings, NULL as "".
func queryRows(t *testing.T, db *sql.DB, q string) [][]string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestViewsAgreeWithCLI: current_grants is access --at latest,
// snapshot_counts is snapshots, current_users is the latest state's users,
// record_versions dates each version by its snapshots' times.
func TestViewsAgreeWithCLI(t *testing.T) {
	path, db := viewsDB(t)

	t.Run("current_grants", func(t *testing.T) {
		code, out, errOut := reportRun(t, path, "access", "--at", "latest", "--format", "csv")
		if code != 0 {
			t.Fatalf("access: exit %d: %s", code, errOut)
		}
		want, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want = want[1:] // the header
		got := queryRows(t, db, `SELECT source, snapshot_id, taken_at, principal_id, email, name, status,
			resource_id, resource_name, entitlement_id, entitlement_name, grant_status FROM current_grants
			ORDER BY source, grant_id`)
		for _, g := range got { // access prints whole seconds
			g[2] = mustRFC3339(t, g[2])[:len("2006-01-02T15:04:05")] + "Z"
		}
		if len(want) != 3 {
			t.Fatalf("access --at latest has %d rows, want kinde #4's 3 (ory has no grants):\n%s", len(want), out)
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("current_grants:\n%v\naccess --at latest:\n%v", got, want)
		}
	})

	t.Run("snapshot_counts", func(t *testing.T) {
		var want []snapshotJSON
		code, out, errOut := reportRun(t, path, "snapshots", "--format", "json")
		if code != 0 {
			t.Fatalf("snapshots: exit %d: %s", code, errOut)
		}
		if err := json.Unmarshal([]byte(out), &want); err != nil {
			t.Fatal(err)
		}
		got := queryRows(t, db, `SELECT snapshot_id, source, provider, taken_at, users, resources, entitlements, grants,
			digest, chain_digest, latest FROM snapshot_counts ORDER BY snapshot_id`)
		if len(got) != len(want) || len(want) != 4 {
			t.Fatalf("snapshot_counts has %d rows, snapshots %d, want 4", len(got), len(want))
		}
		latest := map[string]int64{}
		for _, s := range want {
			latest[s.Source] = s.ID
		}
		for i, s := range want {
			w := []string{fmt.Sprint(s.ID), s.Source, s.Provider, s.TakenAt.Format(time.RFC3339Nano),
				fmt.Sprint(s.Counts["user"]), fmt.Sprint(s.Counts["resource"]), fmt.Sprint(s.Counts["entitlement"]), fmt.Sprint(s.Counts["grant"]),
				s.Digest, s.ChainDigest, fmt.Sprint(map[bool]int{true: 1}[latest[s.Source] == s.ID])}
			g := got[i]
			g[3] = mustRFC3339(t, g[3])
			if !slices.Equal(g, w) {
				t.Errorf("snapshot_counts row %d = %v, snapshots says %v", i, g, w)
			}
		}
	})

	t.Run("current_users", func(t *testing.T) {
		got := queryRows(t, db, `SELECT source, snapshot_id, user_id, email, name, status, last_sign_in FROM current_users ORDER BY source, user_id`)
		want := [][]string{
			{"kinde", "4", "kp_alice", "alice@example.com", "Alice", "suspended", "2026-11-30T08:15:00Z"},
			{"ory", "3", "9f0c", "alice@example.com", "Alice A.", "active", ""},
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("current_users = %v, want %v", got, want)
		}
		// And they are the users of each source's latest state.
		s, err := store.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var state [][]string
		for _, id := range []int64{4, 3} {
			s.State(context.Background(), id, func(r idsnap.Record) error {
				if r.Kind == idsnap.KindUser {
					state = append(state, []string{r.Source, fmt.Sprint(id), r.ID, r.Email, r.Name, string(r.Status)})
				}
				return nil
			})
		}
		for i := range state {
			if i >= len(got) || !slices.Equal(got[i][:6], state[i]) {
				t.Errorf("current_users disagrees with the latest states %v", state)
				break
			}
		}
	})

	t.Run("record_versions", func(t *testing.T) {
		taken := map[string]string{}
		for _, r := range queryRows(t, db, `SELECT snapshot_id, taken_at FROM snapshot_counts`) {
			taken[r[0]] = r[1]
		}
		got := queryRows(t, db, `SELECT kind, id, status, valid_from, valid_until, from_snapshot, until_snapshot
			FROM record_versions WHERE source = 'kinde' AND kind = 'user' ORDER BY id, from_snapshot`)
		want := [][]string{
			{"user", "kp_alice", "active", taken["1"], taken["2"], "1", "2"},
			{"user", "kp_alice", "suspended", taken["2"], "", "2", ""},
			{"user", "kp_bob", "active", taken["1"], taken["2"], "1", "2"},
			{"user", "kp_carol", "active", taken["2"], taken["4"], "2", "4"},
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("record_versions of kinde's users:\n%v\nwant\n%v", got, want)
		}
	})
}

// TestViewsReadmeQueries runs the example queries README.md gives for the
// views, so the documentation cannot drift from the schema.
func TestViewsReadmeQueries(t *testing.T) {
	_, db := viewsDB(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "**SQL views.**")
	_, block, ok2 := strings.Cut(after, "```sql\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no sql block after **SQL views.**")
	}
	n := 0
	for _, q := range strings.Split(block, ";") {
		if strings.TrimSpace(stripComments(q)) == "" {
			continue
		}
		n++
		queryRows(t, db, q)
	}
	if n != 3 {
		t.Errorf("README gives %d example queries, want 3", n)
	}
}

func stripComments(q string) string {
	var b strings.Builder
	for _, l := range strings.Split(q, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func mustRFC3339(t *testing.T, s string) string {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("taken_at %q is not RFC 3339: %v", s, err)
	}
	return tm.UTC().Format(time.RFC3339Nano)
}
