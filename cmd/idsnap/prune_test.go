package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestPruneCheckVerify: evidence exported before a prune still verifies on
// its own, and against the database names the snapshots the prune removed;
// prune, check and verify name the anchor; check finds a tampered version.
func TestPruneCheckVerify(t *testing.T) {
	db := evHistory(t) // kinde-prod #1, zitadel #2, kinde-prod #3
	review := filepath.Join(t.TempDir(), "review")
	if code, _, stderr := reportRun(t, db, "export", "access-review", "--at", "1", "--out", review); code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	code, out, stderr := reportRun(t, db, "prune", "--before", "2099-01-01", "--dry-run")
	if code != 0 || !strings.Contains(out, "kinde-prod: would prune 1 snapshot,") {
		t.Fatalf("prune --dry-run: exit %d: %s%s", code, out, stderr)
	}
	if code, _, _ := reportRun(t, db, "verify", review); code != 0 {
		t.Fatal("verify after a dry run failed")
	}
	anchor := "kinde-prod: chain anchored at snapshot 1, pruned before 2099-01-01T00:00:00Z"
	code, out, stderr = reportRun(t, db, "prune", "--before", "2099-01-01", "--utc")
	if code != 0 || !strings.Contains(out, "kinde-prod: pruned 1 snapshot,") || !strings.Contains(out, strings.TrimPrefix(anchor, "kinde-prod: ")) || !strings.Contains(out, "vacuum:") {
		t.Fatalf("prune: exit %d: %s%s", code, out, stderr)
	}
	if strings.Contains(out, "zitadel") {
		t.Errorf("prune touched zitadel, whose only snapshot is its newest: %s", out)
	}
	code, out, stderr = reportRun(t, db, "check")
	if code != 0 || !strings.Contains(out, ": OK: integrity_check ok, no foreign key violations, 2 snapshots of 2 sources") || !strings.Contains(out, anchor) {
		t.Fatalf("check: exit %d: %s%s", code, out, stderr)
	}
	// On its own the folder proves what it held; against the database it
	// says what is gone.
	if r := runIDSnap(t, nil, "verify", review); r.code != 0 || strings.Contains(r.stdout, "database") {
		t.Errorf("verify without --db after the prune: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	code, out, stderr = reportRun(t, db, "verify", review)
	if code != 0 || !strings.Contains(out, "no longer in the database: snapshot 1 of kinde-prod (pruned before 2099-01-01T00:00:00Z)") ||
		!strings.Contains(out, anchor) {
		t.Errorf("verify --db after the prune: exit %d: %s%s", code, out, stderr)
	}

	// A tampered version is a problem line and exit 1.
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("UPDATE versions SET hash = x'00' WHERE ext_id = 'kp_b'"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	code, out, stderr = reportRun(t, db, "check")
	if code != 1 || !strings.Contains(out, "snapshot 3 of kinde-prod: digest") || !oneLineErr(stderr, "problems") {
		t.Errorf("check of a tampered database: exit %d: %s%s", code, out, stderr)
	}
	for _, args := range [][]string{
		{"prune"},
		{"prune", "--before", "#3"},
		{"prune", "--before", "soon"},
		{"prune", "--before", "1d", "--source", "nope"},
		{"check", "extra"},
	} {
		if code, _, stderr := reportRun(t, db, args...); code != 1 || !oneLineErr(stderr, "") {
			t.Errorf("%v: exit %d, stderr %q; want 1 and one line", args, code, stderr)
		}
	}
}

func oneLineErr(stderr, want string) bool {
	s := strings.TrimSuffix(stderr, "\n")
	return strings.HasPrefix(s, "idsnap: ") && !strings.Contains(s, "\n") && strings.Contains(s, want)
}

// TestRetentionAfterPull: [retention] keep prunes what a pull left older
// than keep, on the app's clock.
func TestRetentionAfterPull(t *testing.T) {
	dir, cfg := oryWorld(t)
	b, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, append(b, "[retention]\nkeep = \"1d\"\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "idsnap.db")
	pullAt := func(now time.Time) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		a := newApp(strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
		a.now = func() time.Time { return now }
		if err := a.command().Run(context.Background(), []string{"idsnap", "--db", dbPath, "--config", cfg, "pull"}); err != nil {
			t.Fatalf("pull: %v: %s", err, stderr.String())
		}
		return stdout.String()
	}
	if out := pullAt(time.Now()); strings.Contains(out, "pruned") {
		t.Fatalf("the first pull pruned: %s", out)
	}
	pullAt(time.Now()) // both snapshots are younger than a day: kept
	if n := len(snapshotsJSON(t, dbPath)); n != 2 {
		t.Fatalf("%d snapshots, want 2", n)
	}
	out := pullAt(time.Now().Add(49 * time.Hour))
	if !strings.Contains(out, "ory: pruned 2 snapshots") || !strings.Contains(out, "chain anchored at snapshot 2") {
		t.Errorf("pull two days on: %s", out)
	}
	if snaps := snapshotsJSON(t, dbPath); len(snaps) != 1 || snaps[0].ID != 3 {
		t.Errorf("after retention: %+v, want snapshot 3 alone", snaps)
	}
	if code, out, stderr := reportRun(t, dbPath, "check"); code != 0 {
		t.Errorf("check after retention: %s%s", out, stderr)
	}
}

// TestRetentionKeep: [retention] keep is a duration, checked before a pull
// starts; a mistake is one line naming the file and the setting.
func TestRetentionKeep(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{"[retention]\nkeep = '400d'\n", ""},
		{"", ""},
		{"[retention]\nkeep = 'forever'\n", `idsnap.toml: [retention] keep: "forever" is not a duration`},
		{"[retention]\nkeep = '2025-01-01'\n", `"2025-01-01" is not a duration`},
		{"[retention]\nkeep = '0d'\n", "[retention] keep: duration must be more than zero"},
		{"[retention]\nkeep = '400d'\nmax = 3\n", "[retention]: unknown key max"},
		{"[retention]\nkeep = 400\n", "[retention]"},
	} {
		c, err := parseConfig([]byte(tc.toml))
		if err != nil {
			t.Fatalf("%q: %v", tc.toml, err)
		}
		c.Path = "idsnap.toml"
		d, err := retentionKeep(c)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.toml, err)
		case tc.want == "" && tc.toml != "" && d != 400*24*time.Hour:
			t.Errorf("%q: keep = %v, want 400 days", tc.toml, d)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n")):
			t.Errorf("%q: %v, want one line containing %q", tc.toml, err, tc.want)
		}
	}
}
