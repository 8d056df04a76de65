package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/report/evidence"
	"github.com/idsnap/idsnap/report/findings"
	"github.com/idsnap/idsnap/store"
)

func (a *app) reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "write an HTML report of a period: counts over time, changes, findings, snapshots",
		ArgsUsage: " ",
		Description: "Writes one self-contained HTML file (styles, scripts and charts inline; it\n" +
			"fetches nothing, so it opens from a mail attachment or an evidence folder):\n" +
			"per source, accounts and grants at every snapshot of the period and joiners,\n" +
			"leavers and grant changes per day; the period's changes as a sortable,\n" +
			"filterable table; the findings at its end; the snapshots and digests it was\n" +
			"made from. The period runs from each source's snapshot at --since (its\n" +
			"first, if it is younger) to its snapshot at --until.\n\n" +
			"Examples:\n  idsnap report --since 30d --out access-report.html\n" +
			"  idsnap report --since 2026-10-01 --until 2026-12-31 --source kinde-prod --out q4.html",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "since", Required: true, Usage: "the period's start, a `WHEN`: 30d, 2026-10-01, a snapshot id, latest~N"},
			&cli.StringFlag{Name: "until", Value: "latest", Usage: "the period's end, a `WHEN`"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "the HTML `FILE` to write (created 0600, replaced whole)"},
			&cli.StringSliceFlag{Name: "source", Aliases: []string{"s"}, Usage: "only source `NAME` (repeatable)"},
			acrossTenantsFlag(),
		},
		Action: a.report,
	}
}

func (a *app) report(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Present() {
		return fmt.Errorf("report takes no arguments; give the period with --since and --until")
	}
	out := cmd.String("out")
	if !strings.HasSuffix(strings.ToLower(out), ".html") && !strings.HasSuffix(strings.ToLower(out), ".htm") {
		return fmt.Errorf("--out %s: name an .html file", out)
	}
	since, err := a.parseWhen(cmd, "--since", cmd.String("since"))
	if err != nil {
		return err
	}
	until, err := a.parseWhen(cmd, "--until", cmd.String("until"))
	if err != nil {
		return err
	}
	if _, _, err := a.ruleConfigs(cmd); err != nil {
		return err // a bad config stops the command before any work
	}
	db, snaps, err := a.openSnapshots(ctx, cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	sources, sinceAt, untilAt, err := evidence.Period(ctx, snaps, evidence.ChangesRequest{
		Since: since, Until: until, Sources: cmd.StringSlice("source"), Location: a.location(cmd),
		AcrossTenants: cmd.Bool("across-tenants"),
	}, dbChanges(db, store.ChangeOptions{}))
	if err != nil {
		return err
	}
	for _, sc := range sources {
		for _, tc := range sc.TenantChanges {
			fmt.Fprintln(a.stderr, report.SafeText(report.TenantNote(tc, sc.AcrossTenants)))
		}
	}
	r, err := a.htmlReport(ctx, cmd, db, sources, sinceAt, untilAt)
	if err != nil {
		return err
	}
	return writeFileAtomic(out, func(f *os.File) error { return report.RenderHTML(f, r) })
}

// htmlReport is the HTML report of a period evidence.Period read, with the
// findings at each source's last snapshot in it.
func (a *app) htmlReport(ctx context.Context, cmd *cli.Command, db *store.DB, sources []evidence.SourceChanges, since, until time.Time) (report.HTMLReport, error) {
	r := report.HTMLReport{Since: since, Until: until, Generated: a.now(), Version: versionString()}
	var ends []report.State
	for _, sc := range sources {
		if sc.Baseline == nil {
			continue // nothing pulled by --until
		}
		src := report.HTMLSource{Name: sc.Source.Name, Provider: sc.Source.Provider, Changes: sc.Changes,
			TenantChanges: sc.TenantChanges, AcrossTenants: sc.AcrossTenants}
		src.Snapshots = append([]idsnap.Snapshot{*sc.Baseline}, sc.Snapshots...)
		r.Sources = append(r.Sources, src)
		ends = append(ends, dbState(db)(src.Snapshots[len(src.Snapshots)-1]))
	}
	if len(r.Sources) == 0 {
		return r, fmt.Errorf("no source has snapshots in the period: give an earlier --since, or pull first")
	}
	fcfg, pcfg, err := a.ruleConfigs(cmd)
	if err != nil {
		return r, err
	}
	res, err := findings.Run(ctx, ends, fcfg, pcfg)
	if err != nil {
		return r, err
	}
	r.Findings = res.HTML()
	return r, nil
}

// writeFileAtomic writes path through a temporary file beside it (0600,
// as os.CreateTemp makes it) renamed over path once whole, so a failed or
// killed run leaves no half-written report.
func writeFileAtomic(path string, write func(*os.File) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// attachHTML makes export changes --html carry the period's HTML report;
// nil without --html.
func (a *app) attachHTML(cmd *cli.Command, db *store.DB) func(context.Context, []evidence.SourceChanges, time.Time, time.Time) ([]evidence.File, error) {
	if !cmd.Bool("html") {
		return nil
	}
	return func(ctx context.Context, sources []evidence.SourceChanges, since, until time.Time) ([]evidence.File, error) {
		r, err := a.htmlReport(ctx, cmd, db, sources, since, until)
		if err != nil {
			return nil, err
		}
		return []evidence.File{{Name: report.HTMLFile, Write: func(w io.Writer) error { return report.RenderHTML(w, r) }}}, nil
	}
}
