package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/store"
)

func (a *app) pruneCommand() *cli.Command {
	return &cli.Command{
		Name:      "prune",
		Usage:     "remove snapshots taken before a time, and the data only they held",
		ArgsUsage: " ",
		Description: "Removes each source's snapshots taken before WHEN (never its newest), with every\n" +
			"version and sign-in row only they referenced, in one transaction, then runs VACUUM to\n" +
			"give the space back (it needs free space for a copy of the database while it runs).\n" +
			"The hash chain stays verifiable: the last pruned snapshot's chain digest is kept as\n" +
			"the anchor the first kept snapshot chains from (see idsnap check).\n\n" +
			"Examples:\n  idsnap prune --before 400d --dry-run\n  idsnap prune --before 2025-01-01 --source kinde-prod",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "before", Aliases: []string{"b"}, Usage: "remove snapshots taken before `WHEN` (a date, 2025-01-01, or a duration back from now, 400d)"},
			&cli.StringFlag{Name: "source", Aliases: []string{"s"}, Usage: "prune only source `NAME`"},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "say what would be removed, remove nothing"},
			utcFlag(),
		},
		Action: a.prune,
	}
}

func (a *app) prune(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Present() {
		return fmt.Errorf("prune takes no arguments; give the time with --before")
	}
	if !cmd.IsSet("before") {
		return fmt.Errorf("prune needs --before WHEN: a date (2025-01-01) or a duration back from now (400d)")
	}
	w, err := a.parseWhen(cmd, "--before", cmd.String("before"))
	if err != nil {
		return err
	}
	if w.Kind != report.WhenTime {
		return fmt.Errorf("--before %s: give a time (2025-01-01, 400d), not a snapshot", w.Text)
	}
	db, err := a.openDB(ctx, cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	dry := cmd.Bool("dry-run")
	res, err := db.Prune(ctx, w.At, cmd.String("source"), dry)
	if err != nil {
		return err
	}
	out := a.stdout
	if cmd.Bool("quiet") {
		out = io.Discard
	}
	writePrune(out, res, w.At, dry)
	if dry || len(res.Snapshots) == 0 {
		return nil
	}
	return vacuum(ctx, db, out)
}

// writePrune says what a prune removed, one line per source.
func writePrune(w io.Writer, res store.PruneResult, before time.Time, dry bool) {
	verb := "pruned"
	if dry {
		verb = "would prune"
	}
	if len(res.Sources) == 0 {
		fmt.Fprintf(w, "nothing to prune: no snapshot before %s but the newest of its source\n", before.UTC().Format(time.RFC3339))
		return
	}
	for _, p := range res.Sources {
		word := "snapshots"
		if p.Snapshots == 1 {
			word = "snapshot"
		}
		fmt.Fprintf(w, "%s: %s %d %s, %d versions, %d activity rows; %s\n",
			p.Anchor.Source, verb, p.Snapshots, word, p.Versions, p.Activity, anchorText(p.Anchor))
	}
}

// anchorText is how prune, check and verify name a pruned chain's start.
func anchorText(a idsnap.Anchor) string {
	return fmt.Sprintf("chain anchored at snapshot %d, pruned before %s", a.SnapshotID, a.PrunedBefore.UTC().Format(time.RFC3339))
}

// vacuum gives the pages a prune freed back to the file system, saying so
// on w.
func vacuum(ctx context.Context, db *store.DB, w io.Writer) error {
	free, total, err := db.FreePages(ctx)
	if err != nil {
		return err
	}
	if err := db.Vacuum(ctx); err != nil {
		return fmt.Errorf("snapshots pruned, but the space was not reclaimed: %w", err)
	}
	_, after, err := db.FreePages(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "vacuum: the file went from %d to %d pages (%d were free)\n", total, after, free)
	return nil
}

// retain applies [retention] keep after a pull, to the sources it
// committed. VACUUM runs only once a quarter of the file is free: a daily
// prune frees about one day's pages, which the next pulls reuse, so the
// file stops growing without a daily rewrite of the whole database.
func (a *app) retain(ctx context.Context, cmd *cli.Command, db *store.DB, keep time.Duration, sources []string) error {
	if keep <= 0 {
		return nil
	}
	out := a.stdout
	if cmd.Bool("quiet") {
		out = io.Discard
	}
	before := a.now().Add(-keep)
	for _, name := range sources {
		res, err := db.Prune(ctx, before, name, false)
		if err != nil {
			return fmt.Errorf("%s: retention: %w", name, err)
		}
		if len(res.Sources) > 0 {
			writePrune(out, res, before, false)
		}
	}
	free, total, err := db.FreePages(ctx)
	if err != nil || free*4 < total {
		return err
	}
	return vacuum(ctx, db, out)
}

// retentionKeep reads [retention] keep: 0 (keep everything) without it.
func retentionKeep(cfg *config) (time.Duration, error) {
	var r struct {
		Keep string `toml:"keep"`
	}
	if err := cfg.section("retention", &r); err != nil {
		return 0, err
	}
	if r.Keep == "" {
		return 0, nil
	}
	d, err := report.ParseSpan(r.Keep)
	if err != nil {
		return 0, fmt.Errorf("%s: [retention] keep: %w", cfg.Path, err)
	}
	return d, nil
}
