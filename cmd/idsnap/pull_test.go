package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
	"github.com/idsnap/idsnap/fetch/ory/orytest"
	"github.com/idsnap/idsnap/fetch/zitadel/zitadeltest"
)

// fakes are the three providers' fakes, running on loopback.
type fakes struct {
	kinde   *kindetest.Server
	ory     *orytest.Server
	zitadel *zitadeltest.Server
}

const (
	testOryToken = "ory_pat_test"
	testPAT      = "zitadel-pat-test"
)

func startFakes(t testing.TB, kindeCfg kindetest.Config, zitadelCfg zitadeltest.Config) fakes {
	t.Helper()
	if zitadelCfg.PAT == "" {
		zitadelCfg.PAT = testPAT
	}
	f := fakes{
		kinde:   kindetest.NewServer(kindetest.Generate(1, 40, 4), kindeCfg),
		ory:     orytest.NewServer(orytest.Generate(2, 30), orytest.Config{APIToken: testOryToken}),
		zitadel: zitadeltest.NewServer(zitadeltest.Generate(3, 25, 3), zitadelCfg),
	}
	t.Cleanup(f.kinde.Close)
	t.Cleanup(f.ory.Close)
	t.Cleanup(f.zitadel.Close)
	return f
}

// writeConfig writes an idsnap.toml for the fakes; secrets come from the
// environment (env:) so the test also covers resolution.
func (f fakes) writeConfig(t testing.TB, dir string) string {
	t.Helper()
	cfg := fmt.Sprintf(`
[sources.kinde-test]
provider = "kinde"
base_url = %q
client_id = %q
client_secret = "env:TEST_KINDE_SECRET"

[sources.ory-test]
provider = "ory"
base_url = %q
api_token = "env:TEST_ORY_TOKEN"

[sources.zitadel-test]
provider = "zitadel"
instance_url = %q
pat = "file:pat.txt"
`, f.kinde.URL, kindetest.DemoClientID, f.ory.URL, f.zitadel.URL)
	path := filepath.Join(dir, "idsnap.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pat.txt"), []byte(testPAT+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// result is one in-process run of idsnap.
type result struct {
	code           int
	stdout, stderr string
}

func runIDSnap(t testing.TB, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"idsnap"}, args...), strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	return result{code, stdout.String(), stderr.String()}
}

func testEnv() map[string]string {
	return map[string]string{"TEST_KINDE_SECRET": kindetest.DemoClientSecret, "TEST_ORY_TOKEN": testOryToken}
}

func snapshotsJSON(t testing.TB, db string) []snapshotJSON {
	t.Helper()
	r := runIDSnap(t, nil, "--db", db, "snapshots", "--format", "json")
	if r.code != 0 {
		t.Fatalf("snapshots: exit %d: %s", r.code, r.stderr)
	}
	var out []snapshotJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("snapshots --format json: %v\n%s", err, r.stdout)
	}
	return out
}

func TestPullAllSources(t *testing.T) {
	f := startFakes(t, kindetest.Config{}, zitadeltest.Config{})
	dir := t.TempDir()
	cfg := f.writeConfig(t, dir)
	db := filepath.Join(dir, "idsnap.db")

	r := runIDSnap(t, testEnv(), "--db", db, "--config", cfg, "pull")
	if r.code != 0 {
		t.Fatalf("pull: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, name := range []string{"kinde-test", "ory-test", "zitadel-test"} {
		if !strings.Contains(r.stdout, name+": snapshot ") {
			t.Errorf("pull summary lacks %s:\n%s", name, r.stdout)
		}
	}
	if r.stderr != "" {
		t.Errorf("pull wrote to stderr off a terminal: %q", r.stderr)
	}

	snaps := snapshotsJSON(t, db)
	if len(snaps) != 3 {
		t.Fatalf("snapshots = %d, want 3", len(snaps))
	}
	want := map[string]struct {
		provider string
		users    int64
		grants   bool
	}{
		"kinde-test":   {"kinde", int64(len(f.kinde.Tenant.UserIDs())), true},
		"ory-test":     {"ory", int64(f.ory.Tenant.Len()), false},
		"zitadel-test": {"zitadel", int64(len(f.zitadel.Tenant.Users())), true},
	}
	for _, s := range snaps {
		w, ok := want[s.Source]
		if !ok {
			t.Errorf("unexpected snapshot of %q", s.Source)
			continue
		}
		if s.Provider != w.provider || s.Counts["user"] != w.users || (s.Counts["grant"] > 0) != w.grants {
			t.Errorf("snapshot %s: provider %s, counts %v; want %s, %d users, grants %v", s.Source, s.Provider, s.Counts, w.provider, w.users, w.grants)
		}
		// zitadel-test sets no org_id: the org the fetcher detected is
		// named in the snapshot, so evidence can say which tenant it read.
		if s.Source == "zitadel-test" && s.Org != f.zitadel.Tenant.Orgs()[0].ID {
			t.Errorf("snapshot zitadel-test: org %q, want the detected org %q", s.Org, f.zitadel.Tenant.Orgs()[0].ID)
		}
		if len(s.Digest) != 64 || len(s.ChainDigest) != 64 || s.TakenAt.IsZero() {
			t.Errorf("snapshot %s: digest %q chain %q taken_at %v", s.Source, s.Digest, s.ChainDigest, s.TakenAt)
		}
	}

	// --source pulls only the named source.
	r = runIDSnap(t, testEnv(), "--db", db, "--config", cfg, "pull", "--source", "ory-test")
	if r.code != 0 || strings.Count(r.stdout, ": snapshot ") != 1 {
		t.Fatalf("pull --source ory-test: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if n := len(snapshotsJSON(t, db)); n != 4 {
		t.Errorf("after pull --source: %d snapshots, want 4", n)
	}
	r = runIDSnap(t, testEnv(), "--db", db, "--config", cfg, "snapshots", "--source", "ory-test", "--format", "csv")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 3 || !strings.HasPrefix(r.stdout, "id,source,provider") {
		t.Errorf("snapshots --source ory-test --format csv: exit %d\n%s", r.code, r.stdout)
	}

	// -q prints nothing on success.
	r = runIDSnap(t, testEnv(), "--db", db, "--config", cfg, "-q", "pull")
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("pull -q: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestPullOneSourceFails(t *testing.T) {
	f := startFakes(t, kindetest.Config{}, zitadeltest.Config{})
	dir := t.TempDir()
	cfg := f.writeConfig(t, dir)
	db := filepath.Join(dir, "idsnap.db")
	env := testEnv()
	env["TEST_ORY_TOKEN"] = "wrong-token"

	r := runIDSnap(t, env, "--db", db, "--config", cfg, "pull")
	if r.code != 1 {
		t.Fatalf("pull with a bad ory token: exit %d, want 1; stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "idsnap: ory-test: ") || lines[1] != "idsnap: 1 of 3 sources failed; the others were committed" {
		t.Errorf("stderr = %q, want one line for ory-test and a summary", r.stderr)
	}
	if strings.Contains(r.stderr, "wrong-token") {
		t.Errorf("stderr leaks the token: %q", r.stderr)
	}
	got := map[string]bool{}
	for _, s := range snapshotsJSON(t, db) {
		got[s.Source] = true
	}
	if !got["kinde-test"] || !got["zitadel-test"] || got["ory-test"] {
		t.Errorf("committed sources = %v, want kinde-test and zitadel-test only", got)
	}

	// A secret that cannot be resolved fails that source only, naming it.
	delete(env, "TEST_KINDE_SECRET")
	r = runIDSnap(t, env, "--db", db, "--config", cfg, "pull", "--source", "kinde-test")
	if want := "idsnap: kinde-test: client_secret: environment variable TEST_KINDE_SECRET is not set\n"; r.code != 1 || r.stderr != want {
		t.Errorf("pull without the kinde secret: exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
	}

	// When every source fails, the summary does not speak of "the others".
	r = runIDSnap(t, env, "--db", db, "--config", cfg, "pull", "--source", "kinde-test", "--source", "ory-test")
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); r.code != 1 || len(lines) != 3 || lines[2] != "idsnap: all 2 sources failed; nothing was committed" {
		t.Errorf("pull with both failing: exit %d, stderr %q; want 1, a line each and a summary", r.code, r.stderr)
	}
}

func TestPullUsage(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no source", nil, []string{"--db", db, "pull"}, "idsnap: no source configured: write an idsnap.toml"},
		{"unknown source", map[string]string{"IDSNAP_ORY_BASE_URL": "http://127.0.0.1:1"}, []string{"--db", db, "pull", "--source", "kinde"}, `idsnap: unknown source "kinde": configured sources are ory`},
		{"missing config", nil, []string{"--db", db, "--config", filepath.Join(dir, "none.toml"), "pull"}, "idsnap: read config: " + filepath.Join(dir, "none.toml") + " does not exist"},
		{"bad log level", nil, []string{"--log-level", "loud", "version"}, `idsnap: unknown --log-level "loud"`},
		{"db is a directory", nil, []string{"--db", dir, "snapshots"}, "idsnap: --db " + dir + " is a directory: name the database file, e.g. " + filepath.Join(dir, "idsnap.db")},
		{"db is a device", nil, []string{"--db", os.DevNull, "snapshots"}, "idsnap: --db " + os.DevNull + " is not a regular file"},
		{"pull into a directory", map[string]string{"IDSNAP_ORY_BASE_URL": "http://127.0.0.1:1", "IDSNAP_ORY_API_TOKEN": "t"}, []string{"--db", dir, "pull"}, "idsnap: --db " + dir + " is a directory"},
		{"bad format", nil, []string{"--db", db, "snapshots", "--format", "xml"}, `idsnap: unknown format "xml"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runIDSnap(t, tc.env, tc.args...)
			if r.code != 1 || !strings.HasPrefix(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want 1 and one line starting %q", r.code, r.stderr, tc.want)
			}
		})
	}
}

func TestDoctor(t *testing.T) {
	// Kinde without read:organization_users, ZITADEL without user.grant.read.
	f := startFakes(t,
		kindetest.Config{Scopes: []string{kindetest.ScopeReadUsers, kindetest.ScopeReadOrganizations}},
		zitadeltest.Config{Permissions: []string{"org.read", "user.read", "project.read", "project.role.read", "iam.read"}})
	dir := t.TempDir()
	cfg := f.writeConfig(t, dir)

	r := runIDSnap(t, testEnv(), "--config", cfg, "doctor", "--format", "json")
	if r.code != 1 {
		t.Fatalf("doctor with missing scopes: exit %d, want 1; stderr %q", r.code, r.stderr)
	}
	var checks []checkJSON
	if err := json.Unmarshal([]byte(r.stdout), &checks); err != nil {
		t.Fatalf("doctor --format json: %v\n%s", err, r.stdout)
	}
	failed := map[string][]string{}
	sources := map[string]bool{}
	for _, c := range checks {
		sources[c.Source] = true
		if !c.OK {
			failed[c.Source] = append(failed[c.Source], c.Check)
			if c.Fix == "" {
				t.Errorf("failed check %s/%s has no fix", c.Source, c.Check)
			}
		}
	}
	if len(sources) != 3 {
		t.Errorf("doctor checked %v, want all three sources", sources)
	}
	if len(failed["ory-test"]) != 0 {
		t.Errorf("ory-test failed %v, want none", failed["ory-test"])
	}
	if !strings.Contains(strings.Join(failed["kinde-test"], ","), "read:organization_users") {
		t.Errorf("kinde-test failed %v, want read:organization_users", failed["kinde-test"])
	}
	if len(failed["zitadel-test"]) == 0 {
		t.Errorf("zitadel-test without user.grant.read passed every check")
	}

	r = runIDSnap(t, testEnv(), "--config", cfg, "doctor", "--source", "kinde-test")
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.Contains(l, "read:organization_users scope") && !strings.Contains(l, "MISSING") {
			t.Errorf("a scope the app lacks is not labelled MISSING: %s", l)
		}
	}

	r = runIDSnap(t, testEnv(), "--config", cfg, "doctor", "--source", "ory-test")
	if r.code != 0 || !strings.Contains(strings.ToLower(r.stdout), "ory-test") {
		t.Errorf("doctor --source ory-test: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestVersion(t *testing.T) {
	r := runIDSnap(t, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "idsnap "+versionString()+" go") {
		t.Errorf("version: exit %d, %q", r.code, r.stdout)
	}
}
