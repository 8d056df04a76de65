package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
	"github.com/idsnap/idsnap/fetch/ory/orytest"
	"github.com/idsnap/idsnap/fetch/zitadel/zitadeltest"
)

var crashTrials = flag.Int("crash.trials", 30, "SIGKILL trials of TestCrashDuringPull")

// binDir holds the idsnap binary the child-process tests share; TestMain
// removes it.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// idsnapBinary builds cmd/idsnap once per test process (without -race: the
// child need not be instrumented) and returns its path, or skips when no
// go toolchain is at hand.
func idsnapBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the idsnap binary; skipped with -short")
	}
	binOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			binErr = err
			return
		}
		if binDir, binErr = os.MkdirTemp("", "idsnap-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "idsnap")
		out, err := exec.Command(goBin, "build", "-o", binPath, "github.com/idsnap/idsnap/cmd/idsnap").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Skipf("cannot build idsnap: %v", binErr)
	}
	return binPath
}

// child is the environment of idsnap runs as child processes: a working
// directory with idsnap.toml, and the environment the secrets come from.
type child struct {
	bin, dir, db string
	env          []string
}

// childSources are sources of an idsnap.toml, as TOML tables.
type childSources struct {
	kinde   *kindetest.Server
	ory     *orytest.Server
	zitadel *zitadeltest.Server
	// Secrets given to the child through its environment.
	kindeSecret, oryToken, pat string
}

func newChild(t testing.TB, s childSources) *child {
	t.Helper()
	c := &child{bin: idsnapBinary(t), dir: t.TempDir()}
	c.db = filepath.Join(c.dir, "idsnap.db")
	var cfg strings.Builder
	if s.kinde != nil {
		fmt.Fprintf(&cfg, "[sources.kinde]\nprovider = \"kinde\"\nbase_url = %q\nclient_id = %q\nclient_secret = \"env:T_KINDE_SECRET\"\nrequests_per_second = 10000\n\n",
			s.kinde.URL, kindetest.DemoClientID)
	}
	if s.ory != nil {
		fmt.Fprintf(&cfg, "[sources.ory]\nprovider = \"ory\"\nbase_url = %q\napi_token = \"env:T_ORY_TOKEN\"\nrequests_per_second = 10000\n\n", s.ory.URL)
	}
	if s.zitadel != nil {
		fmt.Fprintf(&cfg, "[sources.zitadel]\nprovider = \"zitadel\"\ninstance_url = %q\npat = \"file:pat.txt\"\nrequests_per_second = 10000\n\n", s.zitadel.URL)
		if err := os.WriteFile(filepath.Join(c.dir, "pat.txt"), []byte(s.pat+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(c.dir, "idsnap.toml"), []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// A clean environment: the host's IDSNAP_* must not leak in.
	c.env = []string{"HOME=" + c.dir, "PATH=" + os.Getenv("PATH"), "T_KINDE_SECRET=" + s.kindeSecret, "T_ORY_TOKEN=" + s.oryToken, "NO_COLOR=1"}
	return c
}

// cmd returns an idsnap command on the child's database and config.
func (c *child) cmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, append([]string{"--db", c.db, "--config", filepath.Join(c.dir, "idsnap.toml")}, args...)...)
	cmd.Dir, cmd.Env = c.dir, c.env
	return cmd
}

// run runs idsnap to the end and returns its exit code and output.
func (c *child) run(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.cmd(ctx, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("idsnap %v: %v", args, err)
	}
	return code, out.String(), errOut.String()
}

// history is what the test has seen committed: per snapshot, the digest
// of its state and of its changes since the source's previous snapshot.
type history struct {
	state   map[int64]string
	changes map[int64]string
	r       *rand.Rand
	last    []idsnap.Snapshot // as of the last check
}

func countSource(snaps []idsnap.Snapshot, source string) int {
	n := 0
	for _, s := range snaps {
		if s.Source == source {
			n++
		}
	}
	return n
}

// checkDB is what must hold after any crash: the file passes SQLite's
// integrity check, every snapshot listed is complete (its counts match its
// state), and nothing seen before changed: neither a snapshot's state nor
// the diff leading to it. New snapshots are read whole; of the older ones
// one at random is read again (all of them when all is set), so a run
// stays fast while every snapshot is re-read at its end. The reading is
// done by testdata/dbcheck, built without -race.
func checkDB(t *testing.T, path string, h *history, all bool) []idsnap.Snapshot {
	t.Helper()
	args := []string{"all"}
	if !all {
		var last int64
		known := make([]int64, 0, len(h.state))
		for id := range h.state {
			last = max(last, id)
			known = append(known, id)
		}
		args = []string{fmt.Sprintf("after=%d", last)}
		if len(known) > 0 {
			args = append(args, fmt.Sprint(known[h.r.IntN(len(known))]))
		}
	}
	got := checkerRun(t, path, args...)
	if got.Integrity != "ok" {
		t.Fatalf("PRAGMA integrity_check = %q", got.Integrity)
	}
	var snaps []idsnap.Snapshot
	for _, s := range got.Snapshots {
		snaps = append(snaps, s.Snapshot)
		was, seen := h.state[s.ID]
		if seen && !strings.HasSuffix(was, " "+s.Digest+" "+s.ChainDigest) {
			t.Fatalf("snapshot %d's digests changed: %s %s, was %s", s.ID, s.Digest, s.ChainDigest, was)
		}
		if !s.Read {
			continue
		}
		for _, k := range idsnap.Kinds {
			if s.StateCounts[k] != s.Counts[k] {
				t.Fatalf("snapshot %d (%s) lists counts %v but its state has %v: a partial snapshot", s.ID, s.Source, s.Counts, s.StateCounts)
			}
		}
		st := s.State + " " + s.Digest + " " + s.ChainDigest
		if seen && st != was {
			t.Fatalf("snapshot %d's state changed after a crashed pull", s.ID)
		}
		h.state[s.ID] = st
		if was, seen := h.changes[s.ID]; seen && was != s.Changes {
			t.Fatalf("the diff leading to snapshot %d changed after a crashed pull", s.ID)
		}
		h.changes[s.ID] = s.Changes
	}
	return snaps
}

// checked is testdata/dbcheck's answer.
type checked struct {
	Integrity string `json:"integrity"`
	Snapshots []struct {
		idsnap.Snapshot
		Read        bool                  `json:"read"`
		StateCounts map[idsnap.Kind]int64 `json:"state_counts"`
		State       string                `json:"state"`
		Changes     string                `json:"changes"`
	} `json:"snapshots"`
}

var (
	checkerOnce sync.Once
	checkerPath string
	checkerErr  error
)

func checkerRun(t *testing.T, db string, ids ...string) checked {
	t.Helper()
	idsnapBinary(t) // makes binDir
	checkerOnce.Do(func() {
		checkerPath = filepath.Join(binDir, "dbcheck")
		out, err := exec.Command("go", "build", "-o", checkerPath, "./testdata/dbcheck").CombinedOutput()
		if err != nil {
			checkerErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if checkerErr != nil {
		t.Fatalf("build dbcheck: %v", checkerErr)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(checkerPath, append([]string{db}, ids...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dbcheck: %v: %s", err, stderr.String())
	}
	var c checked
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("dbcheck: %v", err)
	}
	return c
}

// churn changes a few users of both tenants, so consecutive snapshots
// differ and their diffs are worth keeping stable.
func churn(r *rand.Rand, k *kindetest.Tenant, o *orytest.Tenant) {
	ids := k.UserIDs()
	for range 3 {
		id := ids[r.IntN(len(ids))]
		k.SetEmail(id, fmt.Sprintf("moved%d@example.com", r.Int()))
	}
	oids := o.IDs()
	for range 5 {
		o.SetName(oids[r.IntN(len(oids))], "Renamed", fmt.Sprint(r.Int()))
	}
}

// TestCrashDuringPull kills `idsnap pull` with SIGKILL at random moments
// (while fetching, while staging, while committing) and checks after each
// kill that the database is intact, every snapshot complete, the diffs of
// earlier snapshots unchanged and that the next pull commits.
func TestCrashDuringPull(t *testing.T) {
	// Kinde stays under one staging batch; Ory is the bulk, so the commit
	// takes a moment worth hitting.
	kt := kindetest.Generate(41, 200, 4)
	ot := orytest.Generate(42, 2500)
	ks := kindetest.NewServer(kt, kindetest.Config{})
	t.Cleanup(ks.Close)
	osrv := orytest.NewServer(ot, orytest.Config{APIToken: "ory_apikey_crash"})
	t.Cleanup(osrv.Close)
	c := newChild(t, childSources{kinde: ks, ory: osrv, kindeSecret: kindetest.DemoClientSecret, oryToken: "ory_apikey_crash"})
	h := &history{state: map[int64]string{}, changes: map[int64]string{}, r: rand.New(rand.NewPCG(1, 2))}

	// Calibrate: how long a whole pull takes, and when its last request
	// went out (the fetch is over; staging and commit remain).
	start := time.Now()
	code, _, stderr := c.run(t, "--log-level", "debug", "pull")
	total := time.Since(start)
	if code != 0 {
		t.Fatalf("first pull: exit %d: %s", code, stderr)
	}
	fetchEnd := lastRequestAt(stderr, start, total)
	snaps := checkDB(t, c.db, h, false)
	h.last = snaps
	if len(snaps) != 2 {
		t.Fatalf("first pull made %d snapshots, want 2", len(snaps))
	}
	t.Logf("a pull takes %v, its fetch about %v", total.Round(time.Millisecond), fetchEnd.Round(time.Millisecond))

	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	phases := map[string]int{}
	killedAfterCommit, oryCommitted := 0, 0
	for trial := range *crashTrials {
		churn(r, kt, ot)
		// A third of the kills in the fetch, the rest in staging and commit.
		var at time.Duration
		phase := "fetch"
		if trial%3 == 0 {
			at = time.Duration(r.Int64N(int64(fetchEnd) + 1))
		} else {
			phase = "stage/commit"
			at = fetchEnd + time.Duration(r.Int64N(int64(total-fetchEnd)+1))
		}
		phases[phase]++
		before := len(h.state)
		orysBefore := countSource(h.last, "ory")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := c.cmd(ctx, "pull")
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(at)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		cancel()
		snaps := checkDB(t, c.db, h, false)
		if len(h.state) > before {
			killedAfterCommit++
		}
		if countSource(snaps, "ory") > orysBefore {
			oryCommitted++
		}
		h.last = snaps
		// The next pull commits both sources.
		n := len(snaps)
		if code, _, stderr := c.run(t, "pull"); code != 0 {
			t.Fatalf("trial %d: pull after a kill at %v (%s): exit %d: %s", trial, at, phase, code, stderr)
		}
		after := checkDB(t, c.db, h, false)
		if len(after) != n+2 {
			t.Fatalf("trial %d: pull after a kill made %d snapshots, want 2", trial, len(after)-n)
		}
		h.last = after
	}
	checkDB(t, c.db, h, true)
	t.Logf("%d kills (%v); %d after at least one source had committed, %d after the bulk (ory) one had; %d snapshots checked",
		*crashTrials, phases, killedAfterCommit, oryCommitted, len(h.state))
}

// lastRequestAt reads idsnap's debug log for the time of its last request,
// as an offset from start; without one it guesses two thirds of total.
func lastRequestAt(log string, start time.Time, total time.Duration) time.Duration {
	var last time.Time
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "msg=request") {
			continue
		}
		ts, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil && t.After(last) {
			last = t
		}
	}
	if last.IsZero() || last.Sub(start) >= total || last.Before(start) {
		return total * 2 / 3
	}
	return last.Sub(start)
}
