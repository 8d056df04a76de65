package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/report/evidence"
	"github.com/idsnap/idsnap/report/findings"
	"github.com/idsnap/idsnap/report/people"
	"github.com/idsnap/idsnap/store"
)

func (a *app) exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write evidence an auditor can test: data files, manifest.json, SHA256SUMS, signature",
		Description: "Each export is a new folder (--out must not exist or be empty) holding the data,\n" +
			"manifest.json (tool version, parameters, the snapshots read with their digests,\n" +
			"row counts, each file's size and SHA-256), SHA256SUMS (sha256sum -c SHA256SUMS)\n" +
			"and, with --sign, manifest.json.minisig (minisign -Vm manifest.json -p KEY.pub).\n" +
			"Check a folder with idsnap verify.",
		Commands: []*cli.Command{a.exportAccessReviewCommand(), a.exportChangesCommand()},
	}
}

// exportFlags are the flags both exports share.
func exportFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "write the evidence folder `DIR` (must not exist or be empty)"},
		&cli.StringSliceFlag{Name: "source", Aliases: []string{"s"}, Usage: "only source `NAME` (repeatable)"},
		&cli.StringFlag{Name: "sign", Usage: "sign manifest.json with the secret key `FILE` (from idsnap keygen)"},
		utcFlag(),
	}
}

func (a *app) exportAccessReviewCommand() *cli.Command {
	return &cli.Command{
		Name:  "access-review",
		Usage: "who held which entitlement at a moment, one row each, with empty reviewer columns",
		Description: "One row per principal and entitlement held at --at (a principal holding none\n" +
			"gets one row with empty resource and entitlement), in access-review.csv and,\n" +
			"with --xlsx, access-review.xlsx with a keep/modify/revoke dropdown. With a\n" +
			"roster (--roster or [roster] file), rows gain employee_id, department,\n" +
			"manager_email and roster_status, and the manifest records the roster's SHA-256.\n\n" +
			"Examples:\n  idsnap export access-review --at 2026-03-31T23:59:59Z --out q1-review --xlsx --sign idsnap.key\n" +
			"  idsnap export access-review --at latest --source kinde-prod --out review",
		Flags: append(exportFlags(),
			&cli.StringFlag{Name: "at", Required: true, Usage: "the moment `WHEN`: each source's latest snapshot at or before it"},
			&cli.BoolFlag{Name: "xlsx", Usage: "also write access-review.xlsx"},
			rosterFlag(),
		),
		Action: a.exportAccessReview,
	}
}

func (a *app) exportChangesCommand() *cli.Command {
	return &cli.Command{
		Name:  "changes",
		Usage: "every change in a period, and which pulls cover it",
		Description: "changes.csv lists every change between consecutive snapshots from the one at\n" +
			"--since to the one at --until, so access granted and revoked within the period\n" +
			"shows too. coverage.csv lists the snapshots read with their digests, and a gap\n" +
			"row wherever pulls are further apart than --expected-interval.\n\n" +
			"Examples:\n  idsnap export changes --since 2026-01-01 --until 2026-04-01 --out q1-changes --sign idsnap.key",
		Flags: append(exportFlags(),
			&cli.StringFlag{Name: "since", Required: true, Usage: "from the snapshot at `WHEN`"},
			&cli.StringFlag{Name: "until", Usage: "to the snapshot at `WHEN` (default now)"},
			&cli.DurationFlag{Name: "expected-interval", Value: evidence.DefaultExpectedInterval, Usage: "longest normal `DURATION` between two pulls; longer gaps get a coverage row"},
			&cli.BoolFlag{Name: "html", Usage: "also write report.html, the period's HTML report (as idsnap report), listed in the manifest"},
			acrossTenantsFlag(),
		),
		Action: a.exportChanges,
	}
}

func (a *app) exportAccessReview(ctx context.Context, cmd *cli.Command) error {
	return a.runReview(ctx, cmd, "export access-review", func(snaps []idsnap.Snapshot, req evidence.ReviewRequest, state report.StateFunc) (*evidence.Manifest, []report.Skipped, error) {
		return evidence.ExportAccessReview(ctx, cmd.String("out"), snaps, req, state)
	})
}

// runReview does what export access-review and review start share: it
// reads the review request from the flags and the database's snapshots,
// runs export with them, reports the sources left out and prints the
// summary.
func (a *app) runReview(ctx context.Context, cmd *cli.Command, verb string,
	export func([]idsnap.Snapshot, evidence.ReviewRequest, report.StateFunc) (*evidence.Manifest, []report.Skipped, error)) error {
	if cmd.Args().Len() > 0 {
		return fmt.Errorf("%s takes no arguments, got %q", verb, cmd.Args().First())
	}
	signer, err := a.readSigner(cmd)
	if err != nil {
		return err
	}
	at, err := a.parseWhen(cmd, "--at", cmd.String("at"))
	if err != nil {
		return err
	}
	fcfg, pcfg, err := a.ruleConfigs(cmd)
	if err != nil {
		return err
	}
	db, snaps, err := a.openSnapshots(ctx, cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	rv, err := a.newRosterRun(cmd, db, pcfg)
	if err != nil {
		return err
	}
	m, skipped, err := export(snaps, evidence.ReviewRequest{
		At: at, Sources: cmd.StringSlice("source"), XLSX: cmd.Bool("xlsx"), Location: a.location(cmd),
		Findings: reviewFindings(fcfg, pcfg, rv.check),
		Roster:   rv.cells(),
		Meta:     evidence.Meta{GeneratedAt: a.now(), Args: commandLine(cmd), Signer: signer, Parameters: rv.params()},
	}, dbState(db))
	for _, s := range skipped {
		fmt.Fprintf(a.stderr, "idsnap: left out %s: %s\n", s.Source, s.Reason)
	}
	if err != nil {
		return err
	}
	a.exportSummary(cmd, cmd.String("out"), m)
	return nil
}

// reviewFindings runs the findings rules, with the config's parameters, on
// the same snapshots the review lists, so each row names the findings that
// apply to its principal and the reviewer sees why a row needs a decision.
// more, when set, adds rules run elsewhere (the roster's) to the result.
func reviewFindings(fcfg findings.Config, pcfg people.Config, more func(context.Context, []report.State, *findings.Result) error) func(context.Context, []report.State) (func(source, principalID string) []string, error) {
	return func(ctx context.Context, states []report.State) (func(source, principalID string) []string, error) {
		res, err := findings.Run(ctx, states, fcfg, pcfg)
		if err != nil {
			return nil, fmt.Errorf("findings for the review: %w", err)
		}
		if more != nil {
			if err := more(ctx, states, res); err != nil {
				return nil, err
			}
		}
		return res.IDsFor, nil
	}
}

func (a *app) exportChanges(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Len() > 0 {
		return fmt.Errorf("export changes takes no arguments, got %q", cmd.Args().First())
	}
	signer, err := a.readSigner(cmd)
	if err != nil {
		return err
	}
	now := a.now()
	since, err := a.parseWhen(cmd, "--since", cmd.String("since"))
	if err != nil {
		return err
	}
	until := report.When{Kind: report.WhenTime, Text: "now", At: now, Flag: "--until"}
	if cmd.IsSet("until") {
		if until, err = a.parseWhen(cmd, "--until", cmd.String("until")); err != nil {
			return err
		}
	}
	db, snaps, err := a.openSnapshots(ctx, cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	out := cmd.String("out")
	m, err := evidence.ExportChanges(ctx, out, snaps, evidence.ChangesRequest{
		Since: since, Until: until, Sources: cmd.StringSlice("source"), Location: a.location(cmd),
		ExpectedInterval: cmd.Duration("expected-interval"), Attach: a.attachHTML(cmd, db),
		AcrossTenants: cmd.Bool("across-tenants"),
		Meta:          evidence.Meta{GeneratedAt: now, Args: commandLine(cmd), Signer: signer},
	}, dbChanges(db, store.ChangeOptions{}))
	if err != nil {
		return err
	}
	a.exportSummary(cmd, out, m)
	return nil
}

// readSigner loads --sign's secret key, before any work is done.
func (a *app) readSigner(cmd *cli.Command) (*evidence.SecretKey, error) {
	path := cmd.String("sign")
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--sign: %w", err)
	}
	k, err := evidence.ParseSecretKey(b)
	if err != nil {
		return nil, fmt.Errorf("--sign %s: %w", path, err)
	}
	return k, nil
}

func (a *app) exportSummary(cmd *cli.Command, out string, m *evidence.Manifest) {
	if cmd.Bool("quiet") {
		return
	}
	var files []string
	for _, f := range m.Files {
		if f.Rows != nil {
			files = append(files, fmt.Sprintf("%s (%d rows)", f.Name, *f.Rows))
		} else {
			files = append(files, f.Name)
		}
	}
	signed := "not signed"
	if m.Signature != nil {
		signed = "signed by key " + m.Signature.KeyID
	}
	fmt.Fprintf(a.stdout, "wrote %s: %s export of %d sources: %s, %s, %s; %s\n", out, m.Export, len(m.Sources),
		strings.Join(files, ", "), evidence.ManifestFile, evidence.SumsFile, signed)
}

// commandLine rebuilds the command line from what was parsed: command
// names, then each flag that was set with its value, then arguments.
// Flags appear in canonical --name form; evidence.RedactArgs hides the values
// of secret-looking ones.
func commandLine(cmd *cli.Command) []string {
	lineage := cmd.Lineage()
	var out []string
	for i := len(lineage) - 1; i >= 0; i-- {
		c := lineage[i]
		out = append(out, c.Name)
		for _, f := range c.Flags {
			name := f.Names()[0]
			if !f.IsSet() {
				continue
			}
			switch v := c.Value(name).(type) {
			case bool:
				if v {
					out = append(out, "--"+name)
				} else {
					out = append(out, "--"+name+"=false")
				}
			case []string:
				for _, s := range v {
					out = append(out, "--"+name, s)
				}
			default:
				out = append(out, "--"+name, fmt.Sprint(v))
			}
		}
	}
	return append(out, cmd.Args().Slice()...)
}
