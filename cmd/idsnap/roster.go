package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/report/findings"
	"github.com/idsnap/idsnap/report/people"
	"github.com/idsnap/idsnap/report/roster"
	"github.com/idsnap/idsnap/store"
)

// rosterHelp lists the roster rules in findings --help, aligned with
// findings.Help's.
const rosterHelp = "With a roster (--roster or the config's [roster] file), also:\n" +
	"  terminated-with-access            a terminated person's account active or holding a grant\n" +
	"  leaver-deprovisioned-late         access outlived end_date by more than hours (24)\n" +
	"  not-in-roster                     an active human account no roster person matches\n" +
	"  joiner-before-start               an account or grant there before start_date\n"

// rosterFlag is --roster on findings, people and export access-review.
func rosterFlag() cli.Flag {
	return &cli.StringFlag{Name: "roster", Usage: "check accounts against the HR roster CSV `FILE` (default: [roster] file in the config)"}
}

// rosterRules gives the embedded roster.FindingsConfig a name of its own.
type rosterRules = roster.FindingsConfig

// findingsTable reads the [findings] table: report's rules' parameters
// and the roster rules', decoded together so neither rejects the other's
// keys.
func findingsTable(c *config) (findings.Config, roster.FindingsConfig, error) {
	var f struct {
		findings.Config
		rosterRules
	}
	if err := c.section("findings", &f); err != nil {
		return f.Config, roster.FindingsConfig{}, err
	}
	if err := f.Config.Validate(); err != nil {
		return f.Config, roster.FindingsConfig{}, fmt.Errorf("%s: %w", c.Path, err)
	}
	r := f.rosterRules
	if err := r.Validate(); err != nil {
		return f.Config, r, fmt.Errorf("%s: %w", c.Path, err)
	}
	return f.Config, r, nil
}

// loadRoster reads --roster, else the config's [roster] file, relative to
// the config file; nil when neither names one.
func (a *app) loadRoster(cmd *cli.Command) (*roster.Roster, error) {
	c, err := a.loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	var rc roster.Config
	if err := c.section("roster", &rc); err != nil {
		return nil, err
	}
	if err := rc.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", c.Path, err)
	}
	path := cmd.String("roster")
	if path == "" {
		if rc.File == "" {
			return nil, nil
		}
		path = rc.File
		if !filepath.IsAbs(path) && c.Path != "" {
			path = filepath.Join(filepath.Dir(c.Path), path)
		}
	}
	return roster.Load(path, rc.Columns)
}

// needRoster refuses --fail-on with a roster rule when no roster was
// read: the rule would never run, and the exit code would say all is well.
func needRoster(failOn []string, rv *rosterRun) error {
	if rv != nil {
		return nil
	}
	for _, id := range failOn {
		if slices.Contains(roster.RuleIDs(), id) {
			return fmt.Errorf("--fail-on %s needs a roster: give --roster FILE or [roster] file in the config", id)
		}
	}
	return nil
}

// rosterRun is a roster and its rules' parameters, for findings and the
// access review: its rules run with theirs, on the same states; nil
// without a roster.
type rosterRun struct {
	r    *roster.Roster
	cfg  roster.FindingsConfig
	pcfg people.Config
	db   *store.DB
	res  *roster.Result
}

// newRosterRun reads the roster, if one is given, and the roster rules'
// parameters.
func (a *app) newRosterRun(cmd *cli.Command, db *store.DB, pcfg people.Config) (*rosterRun, error) {
	r, err := a.loadRoster(cmd)
	if r == nil || err != nil {
		return nil, err
	}
	c, err := a.loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	_, f, err := findingsTable(c)
	if err != nil {
		return nil, err
	}
	return &rosterRun{r: r, cfg: f, pcfg: pcfg, db: db}, nil
}

// check runs the roster rules on the states findings read and adds them
// to res, after its own rules.
func (rv *rosterRun) check(ctx context.Context, states []report.State, res *findings.Result) error {
	if rv == nil {
		return nil
	}
	rr, err := roster.Check(ctx, states, rv.r, rv.pcfg, rv.cfg, rv.db)
	if err != nil {
		return fmt.Errorf("roster %s: %w", rv.r.File, err)
	}
	res.Add(rr.Rules, rr.Findings)
	rv.res = rr
	return nil
}

// cells gives the review's roster columns, once check has run.
func (rv *rosterRun) cells() func(source, principalID string) []string {
	if rv == nil {
		return nil
	}
	return func(source, id string) []string { return rv.res.ReviewCells(source, id) }
}

// params records the roster in the manifest: file, SHA-256, rows.
func (rv *rosterRun) params() map[string]string {
	if rv == nil {
		return nil
	}
	return map[string]string{"roster": rv.r.File, "roster_sha256": rv.r.SHA256, "roster_rows": strconv.Itoa(len(rv.r.People))}
}
