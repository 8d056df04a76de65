package main

import (
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

// tenantWorld is one source name whose configuration is rewritten between
// pulls, as a user correcting base_url or org_id does.
type tenantWorld struct {
	t        *testing.T
	dir, db  string
	env      map[string]string
	name     string
	provider string
}

func newTenantWorld(t *testing.T, name, provider string) *tenantWorld {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pat.txt"), []byte(testPAT+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tenantWorld{t: t, dir: dir, db: filepath.Join(dir, "idsnap.db"), env: testEnv(), name: name, provider: provider}
}

// pull writes the source's configuration from keys (TOML lines) and pulls.
func (w *tenantWorld) pull(keys string) result {
	w.t.Helper()
	cfg := fmt.Sprintf("[sources.%s]\nprovider = %q\n%s\n", w.name, w.provider, keys)
	path := filepath.Join(w.dir, "idsnap.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		w.t.Fatal(err)
	}
	r := runIDSnap(w.t, w.env, "--db", w.db, "--config", path, "pull")
	if r.code != 0 {
		w.t.Fatalf("pull: exit %d: %s", r.code, r.stderr)
	}
	return r
}

func (w *tenantWorld) run(args ...string) result {
	w.t.Helper()
	return runIDSnap(w.t, nil, append([]string{"--db", w.db}, args...)...)
}

// wantTenantWarning checks pull's one stderr line about the change.
func wantTenantWarning(t *testing.T, r result, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("pull stderr = %q, want the one line %q", r.stderr, want)
	}
}

// wantRefused checks that diff FROM TO fails with one line naming both
// snapshots and both tenants, and that --across-tenants compares and
// marks the output in every format.
func wantRefused(t *testing.T, w *tenantWorld, from, to string, before, after string) {
	t.Helper()
	r := w.run("diff", from, to)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code == 0 || len(lines) != 1 {
		t.Fatalf("diff %s %s across tenants: exit %d, stderr %q, stdout %q; want one refusing line", from, to, r.code, r.stderr, r.stdout)
	}
	for _, s := range []string{"snapshot " + from + " to " + to, before, after, "--across-tenants"} {
		if !strings.Contains(lines[0], s) {
			t.Errorf("refusal %q does not name %q", lines[0], s)
		}
	}

	r = w.run("diff", from, to, "--across-tenants", "--format", "json")
	if r.code != 0 {
		t.Fatalf("diff --across-tenants: exit %d: %s", r.code, r.stderr)
	}
	var d struct {
		TenantChanges []struct {
			Source   string `json:"source"`
			Before   struct{ ID int64 }
			After    struct{ ID int64 }
			Compared bool `json:"compared"`
		} `json:"tenant_changes"`
		Changes []struct {
			Change        string `json:"change"`
			AcrossTenants bool   `json:"across_tenants"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("diff json: %v\n%s", err, r.stdout)
	}
	if len(d.TenantChanges) != 1 || !d.TenantChanges[0].Compared || d.TenantChanges[0].Source != w.name ||
		fmt.Sprint(d.TenantChanges[0].Before.ID) != from || fmt.Sprint(d.TenantChanges[0].After.ID) != to {
		t.Errorf("diff json tenant_changes = %+v, want one compared change %s → %s of %s", d.TenantChanges, from, to, w.name)
	}
	if len(d.Changes) == 0 {
		t.Fatal("diff --across-tenants shows no changes; the tenants differ entirely")
	}
	for _, c := range d.Changes {
		if !c.AcrossTenants {
			t.Fatalf("change %+v not marked across_tenants", c)
		}
	}

	r = w.run("diff", from, to, "--across-tenants", "--format", "csv")
	rows := readCSVString(t, r.stdout)
	if len(rows) < 2 {
		t.Fatalf("diff csv: %d rows", len(rows))
	}
	det := len(rows[0]) - 1
	for _, row := range rows[1:] {
		if !strings.HasPrefix(row[det], "[across tenants] ") {
			t.Fatalf("csv detail %q not marked", row[det])
		}
	}
	for _, f := range []string{"table", "markdown"} {
		r = w.run("diff", from, to, "--across-tenants", "--format", f)
		if !strings.Contains(r.stdout, "compared across a tenant change (--across-tenants): snapshot "+from+" to "+to) {
			t.Errorf("diff --format %s does not mark the comparison:\n%s", f, r.stdout)
		}
	}
}

func TestKindeBaseURLChange(t *testing.T) {
	a := kindetest.NewServer(kindetest.Generate(1, 12, 2), kindetest.Config{})
	b := kindetest.NewServer(kindetest.Generate(7, 9, 2), kindetest.Config{})
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	w := newTenantWorld(t, "kinde", "kinde")
	keys := func(url string) string {
		return fmt.Sprintf("base_url = %q\nclient_id = %q\nclient_secret = \"env:TEST_KINDE_SECRET\"", url, kindetest.DemoClientID)
	}
	if r := w.pull(keys(a.URL)); r.stderr != "" {
		t.Errorf("first pull wrote to stderr: %q", r.stderr)
	}
	if r := w.pull(keys(a.URL + "/")); r.stderr != "" {
		t.Errorf("a trailing slash is the same tenant, yet pull said %q", r.stderr)
	}
	r := w.pull(keys(b.URL))
	wantTenantWarning(t, r, fmt.Sprintf("kinde: tenant changed since snapshot 2: base URL %s → %s; diffs across it are refused (see --across-tenants)", a.URL, b.URL))
	wantRefused(t, w, "2", "3", a.URL, b.URL)
	snaps := snapshotsJSON(t, w.db)
	if len(snaps) != 3 || snaps[1].TenantChangedSince != 0 || snaps[2].TenantChangedSince != 2 {
		t.Errorf("snapshots json: %+v; want snapshot 3 tenant_changed_since 2", snaps)
	}
	if r := w.run("snapshots"); !strings.Contains(r.stderr, "note: kinde: tenant changed from snapshot 2 to 3 (base URL ") {
		t.Errorf("snapshots does not note the change: %q", r.stderr)
	}
	if r := w.run("diff", "1", "2"); r.code != 0 {
		t.Errorf("diff within one tenant: exit %d: %s", r.code, r.stderr)
	}
}

func TestOryBaseURLChangeSplitsHistory(t *testing.T) {
	ta, tb := orytest.Generate(2, 10), orytest.Generate(5, 10)
	a := orytest.NewServer(ta, orytest.Config{APIToken: testOryToken})
	b := orytest.NewServer(tb, orytest.Config{APIToken: testOryToken})
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	w := newTenantWorld(t, "ory", "ory")
	keys := func(url string) string { return fmt.Sprintf("base_url = %q\napi_token = \"env:TEST_ORY_TOKEN\"", url) }
	w.pull(keys(a.URL))
	id := ta.IDs()[0]
	if err := ta.SetName(id, "Renamed", "Person"); err != nil {
		t.Fatal(err)
	}
	w.pull(keys(a.URL))
	wantTenantWarning(t, w.pull(keys(b.URL)),
		fmt.Sprintf("ory: tenant changed since snapshot 2: base URL %s → %s; diffs across it are refused (see --across-tenants)", a.URL, b.URL))
	wantRefused(t, w, "2", "3", a.URL, b.URL)
	// A period spanning the change is refused too: its ends are of two tenants.
	if r := w.run("diff", "1", "3"); r.code == 0 || !strings.Contains(r.stderr, "snapshot 2") {
		t.Errorf("diff 1 3: exit %d, stderr %q; want the refusal naming the change at snapshot 2 → 3", r.code, r.stderr)
	}

	type hist struct {
		Changes       []histChange              `json:"changes"`
		TenantChanges []struct{ Compared bool } `json:"tenant_changes"`
	}
	history := func(args ...string) hist {
		t.Helper()
		r := w.run(append([]string{"history", id, "--format", "json"}, args...)...)
		if r.code != 0 {
			t.Fatalf("history: exit %d: %s", r.code, r.stderr)
		}
		var h hist
		if err := json.Unmarshal([]byte(r.stdout), &h); err != nil {
			t.Fatalf("history json: %v\n%s", err, r.stdout)
		}
		return h
	}
	h := history()
	if len(h.TenantChanges) != 1 || h.TenantChanges[0].Compared {
		t.Errorf("history tenant_changes = %+v, want one, not compared", h.TenantChanges)
	}
	for _, c := range h.Changes {
		if c.Snapshot.ID == 3 {
			t.Errorf("history shows %s at snapshot 3, across the tenant change", c.Change)
		}
	}
	if !containsChange(h.Changes, func(change string, snap int64) bool { return change == "changed" && snap == 2 }) {
		t.Errorf("history lost the rename within the first tenant: %+v", h.Changes)
	}
	h = history("--across-tenants")
	if !containsChange(h.Changes, func(change string, snap int64) bool { return change == "left" && snap == 3 }) {
		t.Errorf("history --across-tenants lacks the leave at snapshot 3: %+v", h.Changes)
	}
	for _, c := range h.Changes {
		if c.AcrossTenants != (c.Snapshot.ID == 3) {
			t.Errorf("history change %+v: across_tenants %v", c, c.AcrossTenants)
		}
	}
	r := w.run("history", id)
	if !strings.Contains(r.stdout, "tenant changed from snapshot 2 to 3") || !strings.Contains(r.stdout, "split there") {
		t.Errorf("history table does not say it split the period:\n%s", r.stdout)
	}
}

// histChange is a change of history --format json.
type histChange struct {
	Change        string `json:"change"`
	Snapshot      struct{ ID int64 }
	AcrossTenants bool `json:"across_tenants"`
}

func containsChange(cs []histChange, match func(change string, snap int64) bool) bool {
	for _, c := range cs {
		if match(c.Change, c.Snapshot.ID) {
			return true
		}
	}
	return false
}

func TestZitadelOrgChange(t *testing.T) {
	ten := zitadeltest.Generate(3, 8, 2)
	first := ten.Orgs()[0].ID
	second := ten.AddOrg("Beta", "beta.example")
	for i := range 3 {
		ten.AddUser(zitadeltest.User{OrgID: second, UserName: fmt.Sprintf("beta%d", i), FirstName: "Beta", LastName: fmt.Sprint(i),
			DisplayName: fmt.Sprintf("Beta %d", i), Email: fmt.Sprintf("beta%d@beta.example", i), EmailVerified: true})
	}
	srv := zitadeltest.NewServer(ten, zitadeltest.Config{PAT: testPAT})
	t.Cleanup(srv.Close)
	w := newTenantWorld(t, "zitadel", "zitadel")
	keys := func(org string) string {
		return fmt.Sprintf("instance_url = %q\npat = \"file:%s\"\norg_id = %q", srv.URL, filepath.Join(w.dir, "pat.txt"), org)
	}
	w.pull(keys(second))
	wantTenantWarning(t, w.pull(keys(first)),
		fmt.Sprintf("zitadel: tenant changed since snapshot 1: org %s → %s; diffs across it are refused (see --across-tenants)", second, first))
	w.pull(keys(first))
	wantRefused(t, w, "1", "2", "org "+second, first)

	// The changes export splits the period at the change and says so.
	out := filepath.Join(t.TempDir(), "ev")
	if r := w.run("export", "changes", "--since", "1", "--until", "3", "--out", out); r.code != 0 {
		t.Fatalf("export changes: exit %d: %s", r.code, r.stderr)
	}
	changes := readCSV(t, filepath.Join(out, "changes.csv"))
	if len(changes) != 1 {
		t.Errorf("changes.csv has %d data rows across the tenant change, want none", len(changes)-1)
	}
	cov, err := os.ReadFile(filepath.Join(out, "coverage.csv"))
	if err != nil || !strings.Contains(string(cov), "tenant changed since snapshot 1: org "+second+" → "+first+"; changes across it are not compared") {
		t.Errorf("coverage.csv does not note the tenant change (%v):\n%s", err, cov)
	}
	var m struct {
		Sources []struct {
			Snapshots []struct {
				ID     int64
				Tenant *struct{ Provider, Org string }
			}
		}
	}
	mb, _ := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err := json.Unmarshal(mb, &m); err != nil || len(m.Sources) != 1 || len(m.Sources[0].Snapshots) != 3 {
		t.Fatalf("manifest: %v\n%s", err, mb)
	}
	for _, s := range m.Sources[0].Snapshots {
		want := first
		if s.ID == 1 {
			want = second
		}
		if s.Tenant == nil || s.Tenant.Provider != "zitadel" || s.Tenant.Org != want {
			t.Errorf("manifest snapshot %d tenant = %+v, want zitadel org %s", s.ID, s.Tenant, want)
		}
	}
	r := w.run("verify", out)
	if r.code != 0 || !strings.Contains(r.stderr, "source zitadel mixes tenants: snapshot 1 to 2") {
		t.Errorf("verify: exit %d, stderr %q; want a pass that reports the mixed tenants", r.code, r.stderr)
	}

	html := filepath.Join(t.TempDir(), "r.html")
	if r := w.run("report", "--since", "1", "--until", "3", "--out", html); r.code != 0 || !strings.Contains(r.stderr, "note: zitadel: tenant changed from snapshot 1 to 2") {
		t.Errorf("report: exit %d, stderr %q; want a note that the period is split", r.code, r.stderr)
	}
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), "zitadel: tenant changed from snapshot 1 to 2 (org "+second+" → "+first+"): split there") {
		t.Errorf("report.html does not note the tenant change (%v)", err)
	}

	out2 := filepath.Join(t.TempDir(), "ev2")
	if r := w.run("export", "changes", "--since", "1", "--until", "3", "--out", out2, "--across-tenants"); r.code != 0 {
		t.Fatalf("export changes --across-tenants: exit %d: %s", r.code, r.stderr)
	}
	if rows := readCSV(t, filepath.Join(out2, "changes.csv")); len(rows) < 2 {
		t.Errorf("changes.csv --across-tenants has no rows")
	}
	mb, _ = os.ReadFile(filepath.Join(out2, "manifest.json"))
	if !strings.Contains(string(mb), `"across_tenants": "true"`) {
		t.Errorf("manifest does not record --across-tenants:\n%s", mb)
	}
}
