package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{[]string{"report", "--out", out}, `"since" not set`},
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
