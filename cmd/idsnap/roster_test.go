package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRosterCommands(t *testing.T) {
	dbPath := fndDB(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The roster sits beside the config, named relative to it, with HR's
	// own header for the email column.
	write("conf/hr.csv", "Work Email,Status,Employee_ID,End_Date\nalice@acme.com,terminated,E1,2020-01-01\n")
	cfg := write("conf/idsnap.toml", "[roster]\nfile = \"hr.csv\"\n[roster.columns]\nemail = \"Work Email\"\n"+
		"[findings.leaver-deprovisioned-late]\nhours = 48\n[findings.dormant]\ndays = 90\n")

	code, out, errOut := fndRun(t, "--db", dbPath, "--config", cfg, "findings", "--fail-on", "terminated-with-access")
	if code != 3 {
		t.Fatalf("findings with a roster: exit %d, want 3\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"terminated-with-access", "hours=48", "not-in-roster", "kp_bob", "roster alice@acme.com (E1, terminated"} {
		if !strings.Contains(out, want) {
			t.Errorf("findings output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = fndRun(t, "--db", dbPath, "--config", cfg, "people")
	if code != 0 || !strings.Contains(out, "ROSTER STATUS") || !strings.Contains(out, "not in roster") || !strings.Contains(out, "email:lowercase+email:plus-tag") {
		t.Errorf("people with a roster: exit %d\n%s", code, out)
	}

	// Without a roster the rules and people stay as they were.
	code, out, _ = fndRun(t, "--db", dbPath, "findings")
	if code != 0 || strings.Contains(out, "not-in-roster") {
		t.Errorf("findings without a roster: exit %d\n%s", code, out)
	}
	if code, _, errOut := fndRun(t, "--db", dbPath, "findings", "--fail-on", "not-in-roster"); code != 1 || !strings.Contains(errOut, "--fail-on not-in-roster needs a roster") {
		t.Errorf("--fail-on a roster rule without a roster: exit %d %s", code, errOut)
	}
	if code, _, errOut := fndRun(t, "--db", dbPath, "findings", "--fail-on", "not-a-rule"); code != 1 || !strings.Contains(errOut, "unknown rule") {
		t.Errorf("--fail-on not-a-rule: exit %d %s", code, errOut)
	}

	for _, tc := range []struct {
		name, args, roster, config, want string
	}{
		{"bad status", "--roster BAD", "email,status\nalice@acme.com,gone\n", "", `row 2, column status: unknown status "gone"`},
		{"missing file", "--roster " + filepath.Join(dir, "none.csv"), "", "", "none.csv does not exist"},
		{"unknown roster key", "", "", "[roster]\nfiel = \"x\"\n", "[roster]: unknown key fiel"},
		{"unknown column field", "", "", "[roster.columns]\nmail = \"x\"\n", `roster columns: unknown field "mail"`},
		{"negative hours", "--roster BAD", "email,status\n", "[findings.leaver-deprovisioned-late]\nhours = -1\n", "hours = -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--db", dbPath}
			if tc.config != "" {
				args = append(args, "--config", write(strings.ReplaceAll(tc.name, " ", "-")+".toml", tc.config))
			}
			bad := write(strings.ReplaceAll(tc.name, " ", "-")+".csv", tc.roster)
			for _, cmd := range []string{"findings", "people"} {
				a := append(append([]string{}, args...), cmd)
				if tc.args != "" {
					a = append(a, strings.Fields(strings.ReplaceAll(tc.args, "BAD", bad))...)
				}
				code, out, errOut := fndRun(t, a...)
				if code != 1 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 || out != "" {
					t.Errorf("%s: exit %d, stderr %q, stdout %q; want one line with %q", cmd, code, errOut, out, tc.want)
				}
			}
		})
	}
}
