package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap"
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
		Flags:  []cli.Flag{formatFlag(), utcFlag()},
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
	if len(accounts) == 0 {
		return fmt.Errorf("no user %q in any snapshot: give a user id, email or username as the provider has it", query)
	}
	var changes []idsnap.Change
	for _, acc := range accounts {
		cs, err := db.History(ctx, acc.Source, acc.ID)
		if err != nil {
			return fmt.Errorf("%s: history of %s: %w", acc.Source, acc.ID, err)
		}
		for i := range cs {
			if cs[i].Source == "" {
				cs[i].Source = acc.Source
			}
		}
		changes = append(changes, cs...)
	}
	snaps, err := db.Snapshots(ctx, "")
	if err != nil {
		return err
	}
	h := report.NewHistory(query, accounts, changes, snaps)
	h.Location = a.location(cmd)
	return report.RenderHistory(a.stdout, format, h)
}
