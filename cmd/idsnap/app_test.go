package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A typo in a command or a flag is one line naming it and where to look,
// exit 1, and nothing on stdout: no "Incorrect Usage" and no help dump.
func TestUsageErrorsAreOneLine(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"snapshot"}, `idsnap: unknown command "snapshot": run idsnap --help for the commands`},
		{[]string{"export", "review"}, `idsnap: unknown command "review": run idsnap export --help for the commands`},
		{[]string{"--bogus", "snapshots"}, "idsnap: unknown flag --bogus: run idsnap --help for the flags"},
		{[]string{"snapshots", "--bogus"}, "idsnap: unknown flag --bogus: run idsnap snapshots --help for the flags"},
		{[]string{"export", "access-review", "--out", "ev"}, "idsnap: missing --at: run idsnap export access-review --help for the flags"},
		{[]string{"report"}, "idsnap: missing --since and --out: run idsnap report --help for the flags"},
		{[]string{"export", "changes", "--expected-interval", "soon"}, `idsnap: invalid value "soon" for flag --expected-interval`},
	} {
		code, stdout, stderr := reportRun(t, db, tc.args...)
		if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1, nothing, and one line starting %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
}

// Bare idsnap, and a command that only groups others, print their help.
func TestBareCommandsPrintHelp(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none.db")
	for _, args := range [][]string{nil, {"export"}} {
		code, stdout, stderr := reportRun(t, db, args...)
		if code != 0 || !strings.Contains(stdout, "USAGE:") || stderr != "" {
			t.Errorf("%v: exit %d, stdout %.80q, stderr %q; want 0 and the help", args, code, stdout, stderr)
		}
	}
}
