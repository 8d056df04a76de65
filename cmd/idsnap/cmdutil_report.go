package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/store"
)

// utcFlag switches WHEN's calendar days (today, yesterday, dates) and the
// times shown from local time to UTC.
func utcFlag() cli.Flag {
	return &cli.BoolFlag{Name: "utc", Usage: "read today, yesterday and dates in UTC, and show times in UTC (default: local time)"}
}

// location is the zone WHEN and output use: UTC under --utc, else local.
func (a *app) location(cmd *cli.Command) *time.Location {
	if cmd.Bool("utc") {
		return time.UTC
	}
	return time.Local
}

// parseWhen reads one WHEN, naming the flag or argument it came from in
// any error.
func (a *app) parseWhen(cmd *cli.Command, what, s string) (report.When, error) {
	w, err := report.ParseWhen(s, a.now(), a.location(cmd))
	if err != nil {
		return report.When{}, fmt.Errorf("%s: %w", what, err)
	}
	return w, nil
}

// snapshotScope is the source a snapshot-id WHEN belongs to ("" for any
// other WHEN): such an id applies to its own source only.
func snapshotScope(ctx context.Context, db *store.DB, w report.When) (string, error) {
	if w.Kind != report.WhenSnapshot {
		return "", nil
	}
	s, err := db.Snapshot(ctx, w.Snapshot)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("snapshot #%d does not exist: list them with idsnap snapshots", w.Snapshot)
	}
	if err != nil {
		return "", err
	}
	return s.Source, nil
}

// sourceSnapshots groups the database's snapshots by source and picks the
// sources to report on: scope alone when a snapshot id fixed it, else
// those named with --source, else every source with snapshots. A named
// source without snapshots comes back with none, for the caller to report.
func sourceSnapshots(ctx context.Context, db *store.DB, named []string, scope string) (names []string, bySource map[string][]idsnap.Snapshot, err error) {
	all, err := db.Snapshots(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	bySource = map[string][]idsnap.Snapshot{}
	for _, s := range all {
		bySource[s.Source] = append(bySource[s.Source], s)
	}
	switch {
	case scope != "" && len(named) > 0 && !slices.Contains(named, scope):
		return nil, nil, fmt.Errorf("the snapshot given is of source %s, which --source leaves out", scope)
	case scope != "":
		names = []string{scope}
	case len(named) > 0:
		for _, n := range named {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	default:
		for n := range bySource {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, bySource, nil
}

// tooOld is why a source is left out when a time precedes its first
// snapshot: nothing is known of it then.
func tooOld(w report.When, first idsnap.Snapshot, loc *time.Location) string {
	return fmt.Sprintf("no snapshot at or before %s (its first is #%d, %s)",
		w.At.In(loc).Format(time.RFC3339), first.ID, first.TakenAt.In(loc).Format(time.RFC3339))
}

// dbState is the state of snap, streamed from the database each time it is
// read: a snapshot never changes, so the access review and its findings
// can read it twice rather than hold a large tenant in memory.
func dbState(db *store.DB, snap idsnap.Snapshot) report.State {
	return report.State{
		Snapshot: snap,
		Records: func(ctx context.Context, fn func(idsnap.Record) error) error {
			return db.State(ctx, snap.ID, fn)
		},
	}
}
