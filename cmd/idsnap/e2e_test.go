package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBinariesEndToEnd builds idsnap and idsim, starts idsim as a process
// and runs the built idsnap against it as a user would: pull, advance a
// day, pull, diff --format json.
func TestBinariesEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH: cannot build the binaries")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, pkg := range []string{"idsnap", "idsim"} {
		out, err := exec.CommandContext(ctx, goBin, "build", "-o", filepath.Join(dir, pkg), "github.com/idsnap/idsnap/cmd/"+pkg).CombinedOutput()
		if err != nil {
			t.Skipf("go build %s is not possible here: %v\n%s", pkg, err, out)
		}
	}

	envFile := filepath.Join(dir, "idsim.env")
	sim := exec.CommandContext(ctx, filepath.Join(dir, "idsim"), "--seed", "5", "--people", "80", "--write-env", envFile)
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Process.Kill(); sim.Wait() })
	var env []string
	for range 200 { // idsim writes the file once it listens
		if data, err := os.ReadFile(envFile); err == nil {
			sc := bufio.NewScanner(strings.NewReader(string(data)))
			for sc.Scan() {
				env = append(env, strings.TrimPrefix(sc.Text(), "export "))
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(env) == 0 {
		t.Fatal("idsim did not write its env file")
	}
	// A clean environment: the host's IDSNAP_* must not leak in.
	env = append(env, "HOME="+dir, "PATH="+os.Getenv("PATH"))

	db := filepath.Join(dir, "e2e.db")
	cmd := func(name string, args ...string) string {
		t.Helper()
		c := exec.CommandContext(ctx, filepath.Join(dir, name), args...)
		c.Env, c.Dir = env, dir
		var stderr strings.Builder
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
		}
		return string(out)
	}
	pulled := cmd("idsnap", "--db", db, "pull")
	if strings.Count(pulled, ": snapshot ") != 3 {
		t.Fatalf("first pull: %q", pulled)
	}
	var control string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "IDSIM_CONTROL="); ok {
			control = v
		}
	}
	cmd("idsim", "advance", "--control", control)
	cmd("idsnap", "--db", db, "pull")

	var diff struct {
		Changes []struct {
			Source string `json:"source"`
			Change string `json:"change"`
			Kind   string `json:"kind"`
			ID     string `json:"id"`
		} `json:"changes"`
	}
	out := cmd("idsnap", "--db", db, "diff", "latest~1", "latest", "--format", "json")
	if err := json.Unmarshal([]byte(out), &diff); err != nil {
		t.Fatalf("diff --format json: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, c := range diff.Changes {
		if c.Source == "" || c.Change == "" || c.Kind == "" || c.ID == "" {
			t.Errorf("change lacks a contract field: %+v", c)
		}
		seen[c.Source+" "+c.Change] = true
	}
	// A day of idsim churn always has, per provider, at least these.
	for _, want := range []string{"kinde joined", "kinde left", "kinde changed", "kinde granted", "ory joined", "zitadel joined", "zitadel granted", "zitadel revoked"} {
		if !seen[want] {
			t.Errorf("diff after a day lacks %q; saw %v", want, seen)
		}
	}
}
