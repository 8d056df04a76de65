// Command dbcheck reads an idsnap database the way the crash tests need it
// read, outside the race-instrumented test binary (SQLite under -race is
// ten times slower): PRAGMA integrity_check, every snapshot, and for the
// snapshots named on the command line ("all" for every one, "after=N" for
// those with an id above N) the counts and
// a digest of their state and of the diff from the source's previous
// snapshot. It prints one JSON object.
package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/store"
)

type snap struct {
	idsnap.Snapshot
	Read        bool                  `json:"read"`
	StateCounts map[idsnap.Kind]int64 `json:"state_counts,omitempty"`
	State       string                `json:"state,omitempty"`
	Changes     string                `json:"changes,omitempty"`
}

func main() {
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "dbcheck:", err)
		os.Exit(1)
	}
}

func run(path string, ids []string) error {
	ctx := context.Background()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	var integrity string
	if err := raw.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&integrity); err != nil {
		return err
	}
	raw.Close()
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	snaps, err := db.Snapshots(ctx, "")
	if err != nil {
		return err
	}
	want := map[int64]bool{}
	all, after := false, int64(-1)
	for _, s := range ids {
		if s == "all" {
			all = true
		}
		if v, ok := strings.CutPrefix(s, "after="); ok {
			after, _ = strconv.ParseInt(v, 10, 64)
		}
		n, _ := strconv.ParseInt(s, 10, 64)
		want[n] = true
	}
	out := struct {
		Integrity string `json:"integrity"`
		Snapshots []snap `json:"snapshots"`
	}{Integrity: integrity}
	prev := map[string]int64{}
	for _, s := range snaps {
		from := prev[s.Source]
		prev[s.Source] = s.ID
		o := snap{Snapshot: s}
		if all || want[s.ID] || (after >= 0 && s.ID > after) {
			o.Read, o.StateCounts = true, map[idsnap.Kind]int64{}
			sum := sha256.New()
			err := db.State(ctx, s.ID, func(r idsnap.Record) error {
				o.StateCounts[r.Kind]++
				r.Activity = nil
				b, _ := json.Marshal(r)
				sum.Write(b)
				return nil
			})
			if err != nil {
				return fmt.Errorf("state of %d: %w", s.ID, err)
			}
			o.State = hex.EncodeToString(sum.Sum(nil))
			if from != 0 {
				changes, err := db.Changes(ctx, from, s.ID, store.ChangeOptions{})
				if err != nil {
					return fmt.Errorf("changes %d..%d: %w", from, s.ID, err)
				}
				b, _ := json.Marshal(changes)
				d := sha256.Sum256(b)
				o.Changes = hex.EncodeToString(d[:])
			}
		}
		out.Snapshots = append(out.Snapshots, o)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
