package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap/report"
)

func (a *app) historyCommand() *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     "show every change to one person's accounts and their grants, across sources",
		ArgsUsage: "PRINCIPAL",
		Description: "PRINCIPAL is a user id, an email (any case) or a username, as pulled. Every\n" +
			"account it matches in any source is followed: when it joined, changed or left,\n" +
			"and every grant it was given or lost, with the snapshot that first saw it.\n\n" +
			"Examples:\n  idsnap history alice@example.com\n  idsnap history kp_0123abcd --format json",
		Flags:  []cli.Flag{formatFlag(), utcFlag(), acrossTenantsFlag()},
		Action: a.history,
	}
}

func (a *app) history(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Len() != 1 {
		return fmt.Errorf("history takes one PRINCIPAL (a user id, email or username), got %d arguments", cmd.Args().Len())
	}
	query := cmd.Args().First()
	format, err := a.outputFormat(cmd)
	if err != nil {
		return err
	}
	db, err := a.openDB(ctx, cmd)
	if err != nil {
		return err
	}
	defer db.Close()

	accounts, err := db.FindUsers(ctx, query)
	if err != nil {
		return err
	}
	snaps, err := db.Snapshots(ctx, "")
	if err != nil {
		return err
	}
	h, err := report.CollectHistory(ctx, query, accounts, snaps, db.History, cmd.Bool("across-tenants"))
	if err != nil {
		return err
	}
	h.Location = a.location(cmd)
	if err := report.RenderHistory(a.stdout, format, h); err != nil {
		return err
	}
	return a.renderHistoryEvents(ctx, db, format, h, snaps)
}
