package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap/report/people"
	"github.com/idsnap/idsnap/report/roster"
)

func (a *app) peopleCommand() *cli.Command {
	return &cli.Command{
		Name:      "people",
		Usage:     "show which accounts across sources belong to the same person, and why",
		ArgsUsage: " ",
		Description: "Links users of each source's snapshot at --at (default latest) by normalised\n" +
			"email (lower-cased, +tag cut, domain aliases from the config), then by external\n" +
			"id (Kinde provided_id, Ory external_id: equal across sources, or equal to another\n" +
			"source's user id). matched_by names the steps that joined each person. The\n" +
			"config's [people] table holds domain_aliases, and links and unlinks\n" +
			"([[\"source:id\", \"source:id\"]]) that override the automatic steps.\n" +
			"With a roster (--roster or [roster] file), each account shows its roster\n" +
			"person: employee id, status, and how it matched.\n\n" +
			"Examples:\n  idsnap people --linked\n  idsnap people --format json",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "at", Value: "latest", Usage: "link users of the snapshots at `WHEN`"},
			&cli.StringSliceFlag{Name: "source", Aliases: []string{"s"}, Usage: "only source `NAME` (repeatable)"},
			&cli.BoolFlag{Name: "linked", Usage: "only people with more than one account"},
			rosterFlag(),
			formatFlag(),
			utcFlag(),
		},
		Action: a.people,
	}
}

func (a *app) people(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Present() {
		return fmt.Errorf("people takes no arguments")
	}
	format, err := a.outputFormat(cmd)
	if err != nil {
		return err
	}
	_, pcfg, err := a.ruleConfigs(cmd)
	if err != nil {
		return err
	}
	db, err := a.openDB(ctx, cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	in, err := a.reportInputs(ctx, cmd, db)
	if err != nil {
		return err
	}
	res, err := people.Run(ctx, in, pcfg, cmd.Bool("linked"))
	if err != nil {
		return err
	}
	r, err := a.loadRoster(cmd)
	if err != nil {
		return err
	}
	if r == nil {
		return people.Render(a.stdout, format, res)
	}
	m, err := roster.Match(ctx, in, r, pcfg)
	if err != nil {
		return fmt.Errorf("roster %s: %w", r.File, err)
	}
	return roster.RenderPeople(a.stdout, format, roster.PeopleWith(res, m))
}
