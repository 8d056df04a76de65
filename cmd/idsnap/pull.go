package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sourcegraph/conc/pool"
	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/ingest"
	"github.com/idsnap/idsnap/store"
)

func (a *app) pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "pull every configured source (or those named) into a new snapshot each",
		ArgsUsage: " ",
		Description: "Pages each source's admin API read-only and commits one immutable snapshot per source.\n" +
			"Sources pull in parallel; one failing never stops another. Exit code 1 when any failed.\n\n" +
			"Examples:\n  idsnap pull\n  idsnap pull --source kinde-prod --source ory",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "source", Aliases: []string{"s"}, Usage: "pull only source `NAME` (repeatable)"},
		},
		Action: a.pull,
	}
}

// pullResult is what one source's pull came to.
type pullResult struct {
	snap    idsnap.Snapshot
	stats   fetch.Stats
	elapsed time.Duration
	err     error
}

func (a *app) pull(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Present() {
		return fmt.Errorf("pull takes no arguments; name sources with --source")
	}
	cfg, err := a.loadConfig(cmd)
	if err != nil {
		return err
	}
	specs, err := cfg.Select(cmd.StringSlice("source"))
	if err != nil {
		return err
	}
	keep, err := retentionKeep(cfg)
	if err != nil {
		return err
	}
	ingest.TuneGC()
	db, err := a.openDB(ctx, cmd)
	if err != nil {
		return err
	}
	defer db.Close()

	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name()
	}
	prog := newProgress(a.stderr, a.stderrTTY && !cmd.Bool("quiet"), names)
	prog.Start(200 * time.Millisecond)

	results := make([]pullResult, len(specs))
	// One source failing never cancels another: each commits on its own.
	p := pool.New().WithErrors()
	for i, spec := range specs {
		p.Go(func() error {
			results[i] = a.pullSource(ctx, db, spec, prog.source(spec.Name()))
			return results[i].err
		})
	}
	_ = p.Wait() // every error is in results, reported per source below
	prog.Stop()

	failed := 0
	var committed []string
	for i, r := range results {
		name := specs[i].Name()
		if r.err == nil {
			committed = append(committed, name)
		}
		if r.err != nil {
			failed++
			if len(specs) > 1 {
				fmt.Fprintf(a.stderr, "idsnap: %s: %s\n", name, oneLine(r.err))
			}
			continue
		}
		if tc, ok := r.snap.TenantChange(); ok {
			fmt.Fprintf(a.stderr, "%s: tenant changed since snapshot %d: %s; diffs across it are refused (see --across-tenants)\n",
				name, tc.Before.ID, tc.Detail())
		}
		if !cmd.Bool("quiet") {
			fmt.Fprintf(a.stdout, "%s: snapshot %d: %s in %s (%s)\n", name, r.snap.ID, countsText(r.snap.Counts), r.elapsed.Round(time.Millisecond), statsText(r.stats))
		}
	}
	if err := a.retain(ctx, cmd, db, keep, committed); err != nil {
		if failed == 0 {
			return err
		}
		fmt.Fprintf(a.stderr, "idsnap: %s\n", oneLine(err))
	}
	switch {
	case failed == 0:
		return nil
	case len(specs) == 1:
		// One source: run prints its error as the one line.
		return fmt.Errorf("%s: %w", specs[0].Name(), results[0].err)
	case failed == len(specs):
		return fmt.Errorf("all %d sources failed; nothing was committed", failed)
	default:
		return fmt.Errorf("%d of %d sources failed; the others were committed", failed, len(specs))
	}
}

// pullSource pulls one source into a snapshot: resolve secrets, build the
// fetcher, and ingest it: whole or nothing.
func (a *app) pullSource(ctx context.Context, db *store.DB, spec sourceSpec, sp *sourceProgress) (res pullResult) {
	start := a.now()
	sp.setState("pulling")
	defer func() {
		res.elapsed = a.now().Sub(start)
		if res.err != nil {
			sp.setState("failed")
			if ctx.Err() != nil {
				res.err = fmt.Errorf("interrupted, nothing committed: %w", ctx.Err())
			}
		} else {
			sp.setState("done")
		}
	}()
	src, err := spec.Resolve(a.getenv)
	if err != nil {
		return pullResult{err: err}
	}
	log := a.log.With("source", src.Name)
	cl, f, err := a.fetcher(src, sp.observe)
	if err != nil {
		return pullResult{err: err}
	}
	snap, err := ingest.Pull(ctx, db, src, f, ingest.Hooks{
		Staged:     func(idsnap.Record) { sp.record() },
		Committing: func() { sp.setState("committing") },
		Info: func() idsnap.PullInfo {
			return idsnap.PullInfo{EndedAt: a.now().UTC(), Endpoints: cl.Endpoints(), Totals: cl.Totals()}
		},
	})
	if err != nil {
		return pullResult{err: err, stats: cl.Stats()}
	}
	log.Info("pulled", "snapshot", snap.ID, "records", sp.records.Load(), "requests", cl.Stats().Requests)
	return pullResult{snap: snap, stats: cl.Stats()}
}

// fetcher builds the HTTP client and the provider's fetcher for src.
func (a *app) fetcher(src idsnap.Source, observe func(fetch.Event)) (*fetch.Client, fetch.Fetcher, error) {
	p, ok := providerNamed(src.Provider)
	if !ok {
		return nil, nil, fmt.Errorf("provider %s is not built into this idsnap %s", src.Provider, versionString())
	}
	cl := fetch.NewClient(fetch.Options{
		RequestsPerSecond: src.RequestsPerSecond,
		Logger:            a.log.With("source", src.Name),
		Observer:          observe,
	})
	f, err := p.New(src, cl)
	if err != nil {
		return nil, nil, fmt.Errorf("configure: %w", err)
	}
	return cl, f, nil
}

// countsText reads "3 users, 1 resource, ..." in kind order, leaving out
// kinds the provider has none of.
func countsText(counts map[idsnap.Kind]int64) string {
	plural := map[idsnap.Kind][2]string{
		idsnap.KindUser:        {"user", "users"},
		idsnap.KindResource:    {"resource", "resources"},
		idsnap.KindEntitlement: {"entitlement", "entitlements"},
		idsnap.KindGrant:       {"grant", "grants"},
	}
	var parts []string
	for _, k := range idsnap.Kinds {
		n := counts[k]
		if n == 0 && k != idsnap.KindUser {
			continue
		}
		word := plural[k][1]
		if n == 1 {
			word = plural[k][0]
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, word))
	}
	return strings.Join(parts, ", ")
}

func statsText(s fetch.Stats) string {
	t := fmt.Sprintf("%d requests", s.Requests)
	if s.Requests == 1 {
		t = "1 request"
	}
	if n := s.RateLimited; n > 0 {
		t += fmt.Sprintf(", %d rate-limited", n)
	}
	if n := s.Retries; n > 0 {
		t += fmt.Sprintf(", %d retries", n)
	}
	return t
}
