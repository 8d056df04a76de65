package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/store"
)

// wideDB is a database whose diff, access and history rows are far wider
// than a terminal: long names, emails, resource names and ids.
func wideDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "idsnap.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	src := idsnap.Source{Name: "kinde-prod-eu", Provider: "kinde", BaseURL: "https://acme.kinde.com"}
	var first, second []idsnap.Record
	res := idsnap.Record{Kind: idsnap.KindResource, ID: "org_0f3c9a7be21d4e55", Name: "Acme Corporation Europe Finance and Treasury Operations", Raw: json.RawMessage(`{}`)}
	ent := idsnap.Record{Kind: idsnap.KindEntitlement, ID: res.ID + ":billing-administrator", ResourceID: res.ID, Name: "billing-administrator", Raw: json.RawMessage(`{}`)}
	first = append(first, res, ent)
	second = append(second, res, ent)
	for i := range 6 {
		id := fmt.Sprintf("kp_%032x", 0xabc0+i)
		u := idsnap.Record{Kind: idsnap.KindUser, ID: id, Email: fmt.Sprintf("firstname.lastname.%d@subsidiary.example.com", i),
			Name: "Maximilian Alexander von Hohenberg-Schwarzenfeld " + strings.Repeat("X", i), Status: idsnap.StatusActive, Raw: json.RawMessage(`{}`)}
		g := idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(id, ent.ID), PrincipalID: id, ResourceID: res.ID, EntitlementID: ent.ID, Raw: json.RawMessage(`{}`)}
		first = append(first, u, g)
		if i%2 == 0 {
			u.Status, u.Name = idsnap.StatusSuspended, u.Name+" (contractor, until the end of the quarter)"
			second = append(second, u, g)
		}
	}
	commitSnapshot(t, db, src, first...)
	commitSnapshot(t, db, src, second...)
	return path
}

// TestTablesFitRealTerminal runs the built idsnap in tmux at 80 and 120
// columns: no line of diff, access or history is longer than the
// terminal. Off a terminal the same commands print whole values.
func TestTablesFitRealTerminal(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed (apt-get install tmux): the real-terminal test cannot run")
	}
	bin := idsnapBinary(t)
	db := wideDB(t)
	cmds := [][]string{
		{"diff", "1", "2"},
		{"access", "--at", "latest"},
		{"history", "firstname.lastname.0@subsidiary.example.com"},
	}
	for _, args := range cmds {
		// Off a terminal: whole values, wider than any terminal.
		out, err := exec.Command(bin, append([]string{"--db", db}, args...)...).Output()
		if err != nil {
			t.Fatalf("%s: %v", args, err)
		}
		if w := maxWidth(string(out)); w <= 120 {
			t.Fatalf("%s off a terminal: widest line %d, want whole values (> 120)", args, w)
		}
		t.Logf("%s off a terminal:\n%s", args, out)
	}
	for _, cols := range []int{80, 120} {
		for _, args := range cmds {
			t.Run(fmt.Sprintf("%d/%s", cols, args[0]), func(t *testing.T) {
				out := inTmux(t, tmux, cols, append([]string{bin, "--db", db}, args...))
				t.Logf("%d columns:\n%s", cols, out)
				if w := maxWidth(out); w > cols {
					t.Errorf("a line is %d columns wide on a %d-column terminal", w, cols)
				}
				if !strings.Contains(out, "…") {
					t.Error("nothing was shortened: the test shows nothing")
				}
				if !strings.Contains(out, "kinde-prod-eu") {
					t.Error("the SOURCE column is not whole")
				}
			})
		}
	}
}

func maxWidth(s string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		n = max(n, twwidth.Width(strings.TrimRight(l, " ")))
	}
	return n
}

// inTmux runs argv in a detached tmux session of a private server, cols
// wide, and returns what the pane shows, wrapped lines joined (-J) so a
// line longer than the terminal shows as such. The command signals its end
// with wait-for; remain-on-exit keeps the pane to read.
func inTmux(t *testing.T, tmux string, cols int, argv []string) string {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "tmux.sock")
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g remain-on-exit on\nset -g history-limit 10000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tm := func(args ...string) string {
		t.Helper()
		c := exec.CommandContext(ctx, tmux, append([]string{"-S", sock, "-f", conf}, args...)...)
		// No COLUMNS: the width must come from the terminal itself.
		c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TERM=xterm-256color"}
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	shell := strings.Join(quoted, " ") + "; " + tmux + " -S '" + sock + "' wait-for -S idsnap-done"
	tm("new-session", "-d", "-x", fmt.Sprint(cols), "-y", "60", "-s", "fit", "sh", "-c", shell)
	t.Cleanup(func() { exec.Command(tmux, "-S", sock, "kill-server").Run() })
	tm("wait-for", "idsnap-done")
	return tm("capture-pane", "-p", "-J", "-S", "-", "-t", "fit")
}
