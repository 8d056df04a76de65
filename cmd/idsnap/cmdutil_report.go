package main

import (
	"context"
	"fmt"
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
	w.Flag = what
	return w, nil
}

// scope is the sources a report reads (--source) and the zone of times in
// its reasons.
func (a *app) scope(cmd *cli.Command, policy report.Policy) report.Scope {
	return report.Scope{Sources: cmd.StringSlice("source"), Policy: policy, Location: a.location(cmd)}
}

// dbState is the state of snap, streamed from the database each time it is
// read: a snapshot never changes, so the access review and its findings
// can read it twice rather than hold a large tenant in memory.
func dbState(db *store.DB) report.StateFunc {
	return func(snap idsnap.Snapshot) report.State {
		return report.State{
			Snapshot: snap,
			Records: func(ctx context.Context, fn func(idsnap.Record) error) error {
				return db.State(ctx, snap.ID, fn)
			},
		}
	}
}

// dbChanges reads changes between two snapshots with opts.
func dbChanges(db *store.DB, opts store.ChangeOptions) report.ChangesFunc {
	return func(ctx context.Context, from, to int64) ([]idsnap.Change, error) {
		return db.Changes(ctx, from, to, opts)
	}
}
