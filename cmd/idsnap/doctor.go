package main

import (
	"context"
	"errors"
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

	label string // the table's ok column
}

// doctorLabel says in a word how c went: MISSING only for a permission or
// setting that is absent, so a wrong secret is not mistaken for none.
func doctorLabel(c fetch.Check) string {
	switch {
	case c.OK:
		return "ok"
	case c.Rejected:
		return "REJECTED"
	case c.Missing:
		return "MISSING"
	}
	return "FAIL"
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
			t.Rows = append(t.Rows, []string{c.Source, c.Check, c.label, c.Detail, c.Fix})
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
	one := func(c fetch.Check) []checkJSON {
		return []checkJSON{{Source: name, Check: c.Name, OK: c.OK, Detail: c.Detail, Fix: c.Fix, label: doctorLabel(c)}}
	}
	src, err := spec.Resolve(a.getenv)
	if err != nil {
		// MISSING when the secret's variable or file is not there to
		// read; a malformed reference or an unreadable file is a FAIL.
		if errors.As(err, new(absentSecret)) {
			return one(fetch.Check{Name: "configuration", Detail: oneLine(err), Fix: "set the secret, or fix its env: or file: reference", Missing: true})
		}
		return one(fetch.Check{Name: "configuration", Detail: oneLine(err), Fix: "fix the secret's env:NAME or file:PATH reference, or the file's permissions"})
	}
	_, f, err := a.fetcher(src, nil)
	if err != nil {
		return one(fetch.Check{Name: "configuration", Detail: oneLine(err), Fix: "fix the source's settings in the config or the IDSNAP_* variables"})
	}
	d, ok := f.(fetch.Doctor)
	if !ok {
		return one(fetch.Check{Name: "doctor", OK: true, Detail: src.Provider + " has no checks; run idsnap pull --source " + name + " to test it"})
	}
	var out []checkJSON
	for _, c := range d.Doctor(ctx) {
		out = append(out, one(c)...)
	}
	return out
}
