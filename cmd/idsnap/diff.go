package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/store"
)

func (a *app) diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "show what changed between two snapshots of each source",
		ArgsUsage: "[FROM [TO]]",
		Description: "Compares, per source, the snapshot at FROM (or --since, default yesterday) with\n" +
			"the one at TO (or --until, default latest). A time resolves to the latest\n" +
			"snapshot taken at or before it; the output names the exact snapshots compared.\n" +
			"WHEN is today, yesterday, a duration back (36h, 7d, 2w), a date or time\n" +
			"(2026-11-01, 2026-11-01T09:00:00Z), a snapshot id (12 or #12: that source only),\n" +
			"latest or latest~N. A user that left is shown once with the grants it lost.\n\n" +
			"Examples:\n  idsnap diff\n  idsnap diff --since 7d --source kinde-prod --change left,revoked\n" +
			"  idsnap diff 12 15 --format json\n  idsnap diff --since 2026-11-01 --exit-code",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "since", Usage: "compare from the snapshot at `WHEN` (default yesterday)"},
			&cli.StringFlag{Name: "until", Usage: "compare to the snapshot at `WHEN` (default latest)"},
			&cli.StringSliceFlag{Name: "source", Aliases: []string{"s"}, Usage: "only source `NAME` (repeatable)"},
			&cli.StringSliceFlag{Name: "change", Usage: "only changes of `TYPE`: joined, left, changed, granted, revoked (comma separated or repeated)"},
			&cli.StringSliceFlag{Name: "kind", Usage: "only records of `KIND`: user, resource, entitlement, grant (comma separated or repeated)"},
			formatFlag(),
			&cli.BoolFlag{Name: "activity", Usage: "also report sign-in activity (last sign-in, sign-in counts) as changes"},
			&cli.BoolFlag{Name: "exit-code", Usage: "exit with status 3 when there are changes"},
			utcFlag(),
			acrossTenantsFlag(),
		},
		Action: a.diff,
	}
}

func (a *app) diff(ctx context.Context, cmd *cli.Command) error {
	args := cmd.Args().Slice()
	if len(args) > 2 {
		return fmt.Errorf("diff takes at most FROM and TO, got %d arguments", len(args))
	}
	sinceText, untilText := "yesterday", "latest"
	if cmd.IsSet("since") {
		sinceText = cmd.String("since")
	}
	if cmd.IsSet("until") {
		untilText = cmd.String("until")
	}
	sinceWhat, untilWhat := "--since", "--until"
	if len(args) >= 1 {
		if cmd.IsSet("since") {
			return fmt.Errorf("give FROM or --since, not both")
		}
		sinceText, sinceWhat = args[0], "FROM"
	}
	if len(args) == 2 {
		if cmd.IsSet("until") {
			return fmt.Errorf("give TO or --until, not both")
		}
		untilText, untilWhat = args[1], "TO"
	}
	since, err := a.parseWhen(cmd, sinceWhat, sinceText)
	if err != nil {
		return err
	}
	until, err := a.parseWhen(cmd, untilWhat, untilText)
	if err != nil {
		return err
	}
	changes, err := report.ParseChangeTypes(cmd.StringSlice("change"))
	if err != nil {
		return fmt.Errorf("--change: %w", err)
	}
	kinds, err := report.ParseKinds(cmd.StringSlice("kind"))
	if err != nil {
		return fmt.Errorf("--kind: %w", err)
	}
	format, err := a.outputFormat(cmd)
	if err != nil {
		return err
	}
	db, snaps, err := a.openSnapshots(ctx, cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	q := report.DiffQuery{Since: since, Until: until, Scope: a.scope(cmd, report.Lenient), Filter: report.Filter{Changes: changes, Kinds: kinds},
		AcrossTenants: cmd.Bool("across-tenants")}
	d, err := report.Compare(ctx, snaps, q, dbChanges(db, store.ChangeOptions{Activity: cmd.Bool("activity")}))
	if err != nil {
		return err
	}
	if err := report.RenderDiff(a.stdout, format, d); err != nil {
		return err
	}
	if err := a.renderDiffEvents(ctx, db, format, d); err != nil {
		return err
	}
	if cmd.Bool("exit-code") && len(d.Entries) > 0 {
		return errFound
	}
	return nil
}
