package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idsnap/idsnap/fetch/ory/orytest"
)

// Two pulls of the same source at once: each either commits a complete
// snapshot or fails with one clear line; at least one commits.
func TestConcurrentPullsOfOneSource(t *testing.T) {
	const n = 3000
	o := orytest.NewServer(orytest.Generate(71, n), orytest.Config{APIToken: "ory_apikey_conc"})
	o.Faults.Latency = 5 * time.Millisecond // pulls that overlap
	t.Cleanup(o.Close)
	c := newChild(t, childSources{ory: o, oryToken: "ory_apikey_conc"})
	h := &history{state: map[int64]string{}, changes: map[int64]string{}, r: rand.New(rand.NewPCG(3, 4))}
	outcomes := map[string]int{}
	for round := range 4 {
		var wg sync.WaitGroup
		codes, errs := make([]int, 2), make([]string, 2)
		for i := range 2 {
			wg.Go(func() {
				codes[i], _, errs[i] = c.run(t, "pull")
			})
		}
		wg.Wait()
		committed := 0
		for i := range 2 {
			switch {
			case codes[i] == 0:
				committed++
				outcomes["committed"]++
			case codes[i] == 1 && oneClearLine(errs[i]):
				if strings.Contains(errs[i], "committed first") {
					outcomes["refused: another pull committed first"]++
				} else {
					outcomes["refused: locked"]++
				}
			default:
				t.Errorf("round %d: a concurrent pull: exit %d, stderr %q", round, codes[i], errs[i])
			}
		}
		if committed == 0 {
			t.Errorf("round %d: neither of two concurrent pulls committed: %q", round, errs)
		}
		for _, s := range checkDB(t, c.db, h, false) {
			if s.Counts["user"] != n {
				t.Errorf("snapshot %d has %d users, want %d", s.ID, s.Counts["user"], n)
			}
		}
	}
	t.Logf("outcomes of 8 pulls, two at a time: %v", outcomes)
}

// oneClearLine says stderr holds one error line, saying what happened.
func oneClearLine(stderr string) bool {
	s := strings.TrimSpace(stderr)
	return s != "" && !strings.Contains(s, "\n") && strings.HasPrefix(s, "idsnap: ory: ") &&
		(strings.Contains(s, "another pull of this source committed first") || strings.Contains(s, "locked by another idsnap process"))
}

// Readers (snapshots, diff) running while pulls commit see only complete
// snapshots: every snapshot they list has the whole tenant.
func TestReadersDuringPull(t *testing.T) {
	const n = 3000
	o := orytest.NewServer(orytest.Generate(72, n), orytest.Config{})
	t.Cleanup(o.Close)
	c := newChild(t, childSources{ory: o, oryToken: "unused"})
	for range 2 {
		if code, _, stderr := c.run(t, "pull"); code != 0 {
			t.Fatalf("pull: %s", stderr)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		defer cancel()
		for range 3 {
			if code, _, stderr := c.run(t, "pull"); code != 0 {
				t.Errorf("pull: %s", stderr)
			}
		}
	})
	reads := 0
	for ctx.Err() == nil {
		for _, args := range [][]string{{"snapshots", "--format", "json"}, {"diff", "--format", "json", "latest~1", "latest"}} {
			cmd := c.cmd(context.Background(), args...)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v during a pull: %v: %s", args, err, errOut.String())
			}
			reads++
			if args[0] == "snapshots" {
				var snaps []snapshotJSON
				if err := json.Unmarshal(out.Bytes(), &snaps); err != nil {
					t.Fatalf("snapshots --format json: %v", err)
				}
				for _, s := range snaps {
					if s.Counts["user"] != n {
						t.Fatalf("a reader saw snapshot %d with %d users, want %d: a partial snapshot", s.ID, s.Counts["user"], n)
					}
				}
				continue
			}
			var d struct {
				Changes []json.RawMessage `json:"changes"`
			}
			if err := json.Unmarshal(out.Bytes(), &d); err != nil {
				t.Fatalf("diff --format json: %v: %s", err, out.String())
			}
			if len(d.Changes) != 0 {
				t.Fatalf("diff of two pulls of an unchanged tenant shows %d changes: a partial snapshot?", len(d.Changes))
			}
		}
	}
	wg.Wait()
	t.Logf("%d reads during 3 pulls", reads)
}
