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
	e := startSim(t, "--seed", "5", "--people", "80")
	db := filepath.Join(e.dir, "e2e.db")
	cmd := e.run
	control := e.control
	pulled := cmd("idsnap", "--db", db, "pull")
	if strings.Count(pulled, ": snapshot ") != 3 {
		t.Fatalf("first pull: %q", pulled)
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

// e2eEnv is a running idsim and the built binaries, for end-to-end tests.
type e2eEnv struct {
	t       *testing.T
	ctx     context.Context
	dir     string
	env     []string
	control string
}

// startSim builds idsnap and idsim, starts idsim with simArgs and waits
// until it listens; the test is skipped where Go cannot build here.
func startSim(t *testing.T, simArgs ...string) *e2eEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("builds two binaries; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH: cannot build the binaries")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	for _, pkg := range []string{"idsnap", "idsim"} {
		out, err := exec.CommandContext(ctx, goBin, "build", "-o", filepath.Join(dir, pkg), "github.com/idsnap/idsnap/cmd/"+pkg).CombinedOutput()
		if err != nil {
			t.Skipf("go build %s is not possible here: %v\n%s", pkg, err, out)
		}
	}
	envFile := filepath.Join(dir, "idsim.env")
	sim := exec.CommandContext(ctx, filepath.Join(dir, "idsim"), append(simArgs, "--write-env", envFile)...)
	sim.Dir = dir
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Process.Kill(); sim.Wait() })
	e := &e2eEnv{t: t, ctx: ctx, dir: dir}
	for range 200 { // idsim writes the file once it listens
		if data, err := os.ReadFile(envFile); err == nil {
			sc := bufio.NewScanner(strings.NewReader(string(data)))
			for sc.Scan() {
				e.env = append(e.env, strings.TrimPrefix(sc.Text(), "export "))
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(e.env) == 0 {
		t.Fatal("idsim did not write its env file")
	}
	for _, kv := range e.env {
		if v, ok := strings.CutPrefix(kv, "IDSIM_CONTROL="); ok {
			e.control = v
		}
	}
	// A clean environment: the host's IDSNAP_* must not leak in.
	e.env = append(e.env, "HOME="+dir, "PATH="+os.Getenv("PATH"))
	return e
}

// exec runs a built binary and returns its stdout and exit code; any exit
// code but 0 and 3 fails the test.
func (e *e2eEnv) exec(name string, args ...string) (string, int) {
	e.t.Helper()
	c := exec.CommandContext(e.ctx, filepath.Join(e.dir, name), args...)
	c.Env, c.Dir = e.env, e.dir
	var stderr strings.Builder
	c.Stderr = &stderr
	out, err := c.Output()
	code := c.ProcessState.ExitCode()
	if err != nil && code != 3 {
		e.t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out), code
}

// run is exec for commands that must succeed.
func (e *e2eEnv) run(name string, args ...string) string {
	e.t.Helper()
	out, code := e.exec(name, args...)
	if code != 0 {
		e.t.Fatalf("%s %s: exit code %d\n%s", name, strings.Join(args, " "), code, out)
	}
	return out
}
