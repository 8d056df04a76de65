package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
	fcfg, pcfg, err := a.ruleConfigs(cmd)
	if err != nil {
		return err
	}
	db, err := a.openDB(ctx, cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	snaps, err := db.Snapshots(ctx, "")
	if err != nil {
		return err
	}
	sources, sinceAt, untilAt, err := evidence.Period(ctx, snaps, evidence.ChangesRequest{
		Since: since, Until: until, Sources: cmd.StringSlice("source"), Location: a.location(cmd),
	}, dbChanges(db, store.ChangeOptions{}))
	if err != nil {
		return err
	}
	r := report.HTMLReport{Since: sinceAt, Until: untilAt, Generated: a.now(), Version: versionString()}
	var ends []report.State
	for _, sc := range sources {
		src := report.HTMLSource{Name: sc.Source.Name, Provider: sc.Source.Provider, Changes: sc.Changes}
		if sc.Baseline == nil {
			continue // nothing pulled by --until
		}
		src.Snapshots = append([]idsnap.Snapshot{*sc.Baseline}, sc.Snapshots...)
		r.Sources = append(r.Sources, src)
		ends = append(ends, dbState(db)(src.Snapshots[len(src.Snapshots)-1]))
	}
	if len(r.Sources) == 0 {
		return fmt.Errorf("no source has snapshots in the period: give an earlier --since, or pull first")
	}
	res, err := findings.Run(ctx, ends, fcfg, pcfg)
	if err != nil {
		return err
	}
	r.Findings = res.HTML()
	return writeFileAtomic(out, func(f *os.File) error { return report.RenderHTML(f, r) })
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
