package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"
)

func (a *app) checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check the database: SQLite integrity, foreign keys, every snapshot's digest and the hash chains",
		ArgsUsage: " ",
		Description: "Runs PRAGMA integrity_check and foreign_key_check, recomputes every snapshot's\n" +
			"digest and counts from the versions stored for it, and every chain digest from its\n" +
			"predecessor's (or, after a prune, from the source's anchor). Run it after restoring a\n" +
			"backup. Prints each problem on its own line; exit status 1 when there is any.\n\n" +
			"Examples:\n  idsnap check\n  idsnap check --db /var/lib/idsnap/idsnap.db",
		Action: a.check,
	}
}

func (a *app) check(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Present() {
		return fmt.Errorf("check takes no arguments; choose the database with --db")
	}
	db, err := a.openDB(ctx, cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.Check(ctx)
	if err != nil {
		return err
	}
	path := a.dbPath(cmd)
	for _, p := range res.Problems {
		fmt.Fprintln(a.stdout, p)
	}
	if n := len(res.Problems); n > 0 {
		return fmt.Errorf("check %s: %d problems (listed above): restore another backup, or keep this file aside for inspection", path, n)
	}
	if cmd.Bool("quiet") {
		return nil
	}
	fmt.Fprintf(a.stdout, "%s: OK: integrity_check ok, no foreign key violations, %d snapshots of %d sources: digests and chain digests match their versions\n",
		path, res.Snapshots, res.Sources)
	for _, an := range res.Anchors {
		fmt.Fprintf(a.stdout, "%s: %s\n", an.Source, anchorText(an))
	}
	return nil
}
