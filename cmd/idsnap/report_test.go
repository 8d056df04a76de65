package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsnap/idsnap/report"
)

func TestReportCommand(t *testing.T) {
	db := twoPulls(t)
	out := filepath.Join(t.TempDir(), "report.html")
	code, _, errOut := reportRun(t, db, "report", "--since", "2000-01-01", "--out", out)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("report mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(out)
	page := string(b)
	// kinde #1 → #2: alice changed, bob left (his grant revoked), carol
	// joined and granted; ory has one snapshot and no changes.
	if n := strings.Count(page, `<tr class="change-`); n != 5 {
		t.Errorf("%d change rows, want 5", n)
	}
	for _, want := range []string{"bob@example.com", "carol@example.com", `id="findings-table"`, "<td>1</td><td>kinde</td>", "<td>3</td><td>ory</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("the output folder holds %d files, want only the report (no temporary left)", len(entries))
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--out", out}, "missing --since"},
		{[]string{"report", "--since", "7d", "--out", filepath.Join(t.TempDir(), "r.pdf")}, "name an .html file"},
		{[]string{"report", "--since", "soon", "--out", out}, "--since"},
		{[]string{"report", "--since", "2000-01-01", "--until", "2000-01-02", "--source", "nope", "--out", out}, "source nope has no snapshots"},
	} {
		code, _, errOut := reportRun(t, db, tt.args...)
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error naming %q", tt.args, code, errOut, tt.want)
		}
	}
}

// TestExportChangesHTML: --html puts the period's report in the evidence
// folder, listed in the manifest, so verify and a signature cover it.
func TestExportChangesHTML(t *testing.T) {
	dbPath := evHistory(t)
	out := filepath.Join(t.TempDir(), "changes")
	if r := runIDSnap(t, nil, "--db", dbPath, "export", "changes", "--since", "2000-01-01", "--html", "--out", out); r.code != 0 {
		t.Fatalf("export changes --html: exit %d: %s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, report.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `id="changes-table"`) || !strings.Contains(string(b), "kinde-prod") {
		t.Error("report.html is not the period's report")
	}
	listed := false
	for _, f := range evManifest(t, out).Files {
		listed = listed || f.Name == report.HTMLFile
	}
	if !listed {
		t.Error("the manifest does not list report.html")
	}
	if r := runIDSnap(t, nil, "--db", dbPath, "verify", out); r.code != 0 {
		t.Errorf("verify: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	// Without --html the folder is as before.
	plain := filepath.Join(t.TempDir(), "plain")
	if r := runIDSnap(t, nil, "--db", dbPath, "export", "changes", "--since", "2000-01-01", "--out", plain); r.code != 0 {
		t.Fatalf("export changes: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(plain, report.HTMLFile)); err == nil {
		t.Error("report.html written without --html")
	}
}
