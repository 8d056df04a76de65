package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/report/findings"
	"github.com/idsnap/idsnap/report/people"
	"github.com/idsnap/idsnap/report/roster"
	"github.com/idsnap/idsnap/store"
)

func (a *app) findingsCommand() *cli.Command {
	return &cli.Command{
		Name:      "findings",
		Usage:     "check accounts against rules: dormant, never signed in, suspended with grants, ...",
		ArgsUsage: " ",
		Description: "Runs every rule over the users of each source's snapshot at --at (default\n" +
			"latest). Each rule reports its population and, per principal, FAIL, PASS or\n" +
			"UNKNOWN where the provider gives no data (Ory and ZITADEL expose no sign-ins).\n" +
			"Days count back from each snapshot's time, not from now. Only FAIL and\n" +
			"UNKNOWN are listed. Rules (parameters in the config's [findings] table):\n" +
			findings.Help() + rosterHelp + "\n" +
			"Examples:\n  idsnap findings\n  idsnap findings --fail-on dormant,suspended-with-grants\n" +
			"  idsnap findings --at 2026-10-01 --source kinde-prod --format json",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "at", Value: "latest", Usage: "report on the snapshots at `WHEN`: today, yesterday, 7d, 2026-11-01, a snapshot id, latest~N"},
			&cli.StringSliceFlag{Name: "source", Aliases: []string{"s"}, Usage: "only source `NAME` (repeatable)"},
			&cli.StringSliceFlag{Name: "fail-on", Usage: "exit with status 3 when `RULE` has a FAIL (comma separated or repeated)"},
			rosterFlag(),
			formatFlag(),
			utcFlag(),
		},
		Action: a.findings,
	}
}

func (a *app) findings(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Present() {
		return fmt.Errorf("findings takes no arguments; pick the snapshots with --at")
	}
	failOn := splitValues(cmd.StringSlice("fail-on"))
	for _, id := range failOn {
		// The roster's rules are named too: a typo in one is as likely.
		if !slices.Contains(findings.RuleIDs(), id) && !slices.Contains(roster.RuleIDs(), id) {
			return fmt.Errorf("--fail-on: unknown rule %q: use one of %s, or with a roster %s",
				id, strings.Join(findings.RuleIDs(), ", "), strings.Join(roster.RuleIDs(), ", "))
		}
	}
	format, err := a.outputFormat(cmd)
	if err != nil {
		return err
	}
	fcfg, pcfg, err := a.ruleConfigs(cmd)
	if err != nil {
		return err
	}
	db, err := a.openDB(ctx, cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	rv, err := a.newRosterRun(cmd, db, pcfg)
	if err != nil {
		return err
	}
	if err := needRoster(failOn, rv); err != nil {
		return err
	}
	in, err := a.reportInputs(ctx, cmd, db)
	if err != nil {
		return err
	}
	res, err := findings.Run(ctx, in, fcfg, pcfg)
	if err != nil {
		return err
	}
	if err := rv.check(ctx, in, res); err != nil {
		return err
	}
	if err := findings.Render(a.stdout, format, res); err != nil {
		return err
	}
	for _, id := range failOn {
		if res.Failed(id) {
			return errFound
		}
	}
	return nil
}

// ruleConfigs reads the config's [findings] and [people] tables: what
// findings, people and the access review's findings column share.
func (a *app) ruleConfigs(cmd *cli.Command) (findings.Config, people.Config, error) {
	c, err := a.loadConfig(cmd)
	if err != nil {
		return findings.Config{}, people.Config{}, err
	}
	f, err := findingsConfig(c)
	if err != nil {
		return f, people.Config{}, err
	}
	p, err := peopleConfig(c)
	return f, p, err
}

// findingsConfig reads the [findings] table: the rules' parameters.
func findingsConfig(c *config) (findings.Config, error) {
	// The roster rules' keys share the table: findingsTable reads both.
	f, _, err := findingsTable(c)
	return f, err
}

// peopleConfig reads the [people] table: domain aliases, links, unlinks.
func peopleConfig(c *config) (people.Config, error) {
	var p people.Config
	if err := c.section("people", &p); err != nil {
		return p, err
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("%s: %w", c.Path, err)
	}
	return p, nil
}

// reportInputs resolves --at per source (--source, or every source with
// snapshots) into the states findings and people read. A source with no
// snapshot that old is left out with a note on stderr.
func (a *app) reportInputs(ctx context.Context, cmd *cli.Command, db *store.DB) ([]report.State, error) {
	at, err := a.parseWhen(cmd, "--at", cmd.String("at"))
	if err != nil {
		return nil, err
	}
	snaps, err := db.Snapshots(ctx, "")
	if err != nil {
		return nil, err
	}
	in, skipped, err := report.States(snaps, at, a.scope(cmd, report.Lenient), dbState(db))
	for _, s := range skipped {
		a.skipNote(cmd, s.Source+": "+s.Reason)
	}
	return in, err
}

// skipNote tells, on stderr, why a source is left out, unless --quiet.
func (a *app) skipNote(cmd *cli.Command, msg string) {
	if !cmd.Bool("quiet") {
		fmt.Fprintf(a.stderr, "idsnap: skipped %s\n", msg)
	}
}

// splitValues flattens repeated and comma-separated values.
func splitValues(vals []string) []string {
	var out []string
	for _, v := range vals {
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
