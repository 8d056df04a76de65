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

func (a *app) eventsCommand() *cli.Command {
	return &cli.Command{
		Name:      "events",
		Usage:     "list the webhook events idsnap listen received, oldest first",
		ArgsUsage: " ",
		Description: "Events are what the provider reported as it happened, between pulls; they never\n" +
			"change a snapshot. --since takes a WHEN (7d, yesterday, 2026-11-01, a snapshot id).\n\n" +
			"Examples:\n  idsnap events --since 7d\n  idsnap events --source kinde-prod --format json",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "since", Usage: "only events that occurred after `WHEN`"},
			&cli.StringSliceFlag{Name: "source", Aliases: []string{"s"}, Usage: "only source `NAME` (repeatable)"},
			formatFlag(), utcFlag(),
		},
		Action: a.events,
	}
}

func (a *app) events(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Present() {
		return fmt.Errorf("events takes no arguments; use --since and --source")
	}
	format, err := a.outputFormat(cmd)
	if err != nil {
		return err
	}
	db, err := a.openDB(ctx, cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	f := store.EventFilter{Sources: cmd.StringSlice("source")}
	if s := cmd.String("since"); s != "" {
		if f.Since, err = a.whenTime(ctx, cmd, db, "--since", s); err != nil {
			return err
		}
	}
	evs, err := db.Events(ctx, f)
	if err != nil {
		return err
	}
	return report.RenderEvents(a.stdout, format, evs, a.location(cmd))
}

// whenTime reads a WHEN as an instant: a snapshot stands for the time it
// was taken.
func (a *app) whenTime(ctx context.Context, cmd *cli.Command, db *store.DB, what, s string) (time.Time, error) {
	w, err := a.parseWhen(cmd, what, s)
	if err != nil {
		return time.Time{}, err
	}
	switch w.Kind {
	case report.WhenTime:
		return w.At, nil
	case report.WhenSnapshot:
		snap, err := db.Snapshot(ctx, w.Snapshot)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s: snapshot #%d: %w", what, w.Snapshot, err)
		}
		return snap.TakenAt, nil
	}
	return time.Time{}, fmt.Errorf("%s %s: give a time or a snapshot id; latest names a snapshot per source", what, s)
}

// renderDiffEvents adds, after a diff, the webhook events beside its
// changes and the transients; nothing when no event falls between the
// compared snapshots.
func (a *app) renderDiffEvents(ctx context.Context, db *store.DB, format report.Format, d *report.Diff) error {
	var windows []report.Window
	var evs []idsnap.Event
	for _, sd := range d.Sources {
		if sd.From.Snapshot.ID == sd.To.Snapshot.ID {
			continue
		}
		w := report.Window{Source: sd.Source, From: sd.From.Snapshot.TakenAt, To: sd.To.Snapshot.TakenAt, Changes: sd.Changes}
		got, err := db.Events(ctx, store.EventFilter{Sources: []string{sd.Source}, Since: w.From, Until: w.To})
		if err != nil {
			return err
		}
		windows, evs = append(windows, w), append(evs, got...)
	}
	n := report.NoteEvents(windows, evs)
	n.Location = d.Location
	return report.RenderEventNotes(a.stdout, format, n)
}

// renderHistoryEvents adds, after a history, the events about its
// accounts beside each change, between the change's snapshot and the one
// before it.
func (a *app) renderHistoryEvents(ctx context.Context, db *store.DB, format report.Format, h *report.History, snaps []idsnap.Snapshot) error {
	var windows []report.Window
	var evs []idsnap.Event
	for _, acc := range h.Accounts {
		got, err := db.Events(ctx, store.EventFilter{Sources: []string{acc.Source}, UserID: acc.ID})
		if err != nil {
			return err
		}
		evs = append(evs, got...)
		var prev time.Time
		for _, s := range snaps {
			if s.Source != acc.Source {
				continue
			}
			w := report.Window{Source: s.Source, From: prev, To: s.TakenAt}
			for _, e := range h.Entries {
				if e.Change.SnapshotID == s.ID {
					w.Changes = append(w.Changes, e.Change)
				}
			}
			windows, prev = append(windows, w), s.TakenAt
		}
	}
	n := report.NoteEvents(windows, evs)
	n.Location = h.Location
	return report.RenderEventNotes(a.stdout, format, n)
}
