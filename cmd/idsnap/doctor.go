package main

import (
	"context"
	"fmt"

	"github.com/sourcegraph/conc/pool"
	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/report"
)

func (a *app) doctorCommand() *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check each source's URL, credentials and permissions without pulling",
		ArgsUsage: " ",
		Description: "Sends one cheap request per check and prints what is missing and how to grant it.\n" +
			"Exit code 1 when any check fails.\n\nExamples:\n  idsnap doctor\n  idsnap doctor --source zitadel-eu",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "source", Aliases: []string{"s"}, Usage: "check only source `NAME` (repeatable)"},
			formatFlag(),
		},
		Action: a.doctor,
	}
}

// checkJSON is one line of `doctor --format json`.
type checkJSON struct {
	Source string `json:"source"`
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

func (a *app) doctor(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Present() {
		return fmt.Errorf("doctor takes no arguments; name sources with --source")
	}
	format, err := a.outputFormat(cmd)
	if err != nil {
		return err
	}
	cfg, err := a.loadConfig(cmd)
	if err != nil {
		return err
	}
	specs, err := cfg.Select(cmd.StringSlice("source"))
	if err != nil {
		return err
	}
	results := make([][]checkJSON, len(specs))
	p := pool.New()
	for i, spec := range specs {
		p.Go(func() { results[i] = a.doctorSource(ctx, spec) })
	}
	p.Wait()

	var all []checkJSON
	failed := 0
	for _, r := range results {
		for _, c := range r {
			if !c.OK {
				failed++
			}
		}
		all = append(all, r...)
	}
	if format == report.FormatJSON {
		if all == nil {
			all = []checkJSON{}
		}
		err = report.RenderJSON(a.stdout, all)
	} else {
		t := report.Table{Header: []string{"source", "check", "ok", "detail", "fix"}, Shrink: []string{"detail"}}
		for _, c := range all {
			ok := "ok"
			if !c.OK {
				ok = "MISSING"
			}
			t.Rows = append(t.Rows, []string{c.Source, c.Check, ok, c.Detail, c.Fix})
		}
		err = report.RenderTable(a.stdout, format, t)
	}
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed: apply the fixes above and run idsnap doctor again", failed, len(all))
	}
	return nil
}

// doctorSource runs one source's checks. Configuration problems (a secret
// that cannot be read, a provider not built in) are checks too, so one bad
// source never hides the others' results.
func (a *app) doctorSource(ctx context.Context, spec sourceSpec) []checkJSON {
	name := spec.Name()
	fail := func(check string, err error, fix string) []checkJSON {
		return []checkJSON{{Source: name, Check: check, Detail: oneLine(err), Fix: fix}}
	}
	src, err := spec.Resolve(a.getenv)
	if err != nil {
		return fail("configuration", err, "set the secret, or fix its env: or file: reference")
	}
	_, f, err := a.fetcher(src, nil)
	if err != nil {
		return fail("configuration", err, "fix the source's settings in the config or the IDSNAP_* variables")
	}
	d, ok := f.(fetch.Doctor)
	if !ok {
		return []checkJSON{{Source: name, Check: "doctor", OK: true, Detail: src.Provider + " has no checks; run idsnap pull --source " + name + " to test it"}}
	}
	var out []checkJSON
	for _, c := range d.Doctor(ctx) {
		out = append(out, checkJSON{Source: name, Check: c.Name, OK: c.OK, Detail: c.Detail, Fix: c.Fix})
	}
	return out
}
