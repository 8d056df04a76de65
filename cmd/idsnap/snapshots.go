package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
)

func (a *app) snapshotsCommand() *cli.Command {
	return &cli.Command{
		Name:      "snapshots",
		Usage:     "list snapshots: id, source, taken at, counts, digest",
		ArgsUsage: " ",
		Description: "Lists committed snapshots, oldest first. The ids are what diff, export and\n" +
			"history take as FROM and TO.\n\nExamples:\n  idsnap snapshots\n  idsnap snapshots --source kinde-prod --format json",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "source", Aliases: []string{"s"}, Usage: "only snapshots of source `NAME` (repeatable)"},
			formatFlag(),
		},
		Action: a.snapshots,
	}
}

// snapshotJSON is one element of `snapshots --format json`: the contract
// in docs/architecture.md. Counts always hold all four kinds, zero included.
type snapshotJSON struct {
	ID          int64            `json:"id"`
	Source      string           `json:"source"`
	Provider    string           `json:"provider"`
	BaseURL     string           `json:"base_url,omitempty"`
	Org         string           `json:"org,omitempty"`
	TakenAt     time.Time        `json:"taken_at"`
	Counts      map[string]int64 `json:"counts"`
	Digest      string           `json:"digest"`
	ChainDigest string           `json:"chain_digest"`
	// TenantChangedSince is the source's previous snapshot when this one
	// is of another tenant (see README, "When a source changes tenant").
	TenantChangedSince int64 `json:"tenant_changed_since,omitempty"`
}

func (a *app) snapshots(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Present() {
		return fmt.Errorf("snapshots takes no arguments; name sources with --source")
	}
	format, err := a.outputFormat(cmd)
	if err != nil {
		return err
	}
	db, err := a.openDB(ctx, cmd)
	if err != nil {
		return err
	}
	defer db.Close()

	var snaps []idsnap.Snapshot
	sources := cmd.StringSlice("source")
	if len(sources) == 0 {
		sources = []string{""} // every source
	}
	for _, s := range sources {
		ss, err := db.Snapshots(ctx, s)
		if err != nil {
			return fmt.Errorf("list snapshots: %w", err)
		}
		snaps = append(snaps, ss...)
	}
	if len(sources) > 1 {
		// Commit order across sources, as for every source at once.
		slices.SortFunc(snaps, func(x, y idsnap.Snapshot) int { return cmp.Compare(x.ID, y.ID) })
	}

	changed := tenantChanges(snaps)
	if format == report.FormatJSON {
		out := make([]snapshotJSON, 0, len(snaps))
		for _, s := range snaps {
			j := toSnapshotJSON(s)
			if tc, ok := changed[s.ID]; ok {
				j.TenantChangedSince = tc.Before.ID
			}
			out = append(out, j)
		}
		return report.RenderJSON(a.stdout, out)
	}
	t := report.Table{Header: []string{"id", "source", "provider", "taken at", "users", "resources", "entitlements", "grants", "digest"}}
	for _, s := range snaps {
		digest := s.Digest
		if format == report.FormatTable && len(digest) > 12 {
			digest = digest[:12] // enough to tell snapshots apart; json and csv have it whole
		}
		t.Rows = append(t.Rows, []string{
			strconv.FormatInt(s.ID, 10), s.Source, s.Provider, s.TakenAt.UTC().Format(time.RFC3339),
			strconv.FormatInt(s.Counts[idsnap.KindUser], 10), strconv.FormatInt(s.Counts[idsnap.KindResource], 10),
			strconv.FormatInt(s.Counts[idsnap.KindEntitlement], 10), strconv.FormatInt(s.Counts[idsnap.KindGrant], 10),
			digest,
		})
	}
	if len(snaps) == 0 && format == report.FormatTable {
		if named := cmd.StringSlice("source"); len(named) > 0 {
			// Likely a typo in the name: the same words as diff and access.
			fmt.Fprintf(a.stderr, "no snapshots of %s: pull it first (idsnap pull --source %s)\n", strings.Join(named, ", "), named[0])
			return nil
		}
		fmt.Fprintln(a.stderr, "no snapshots yet: run idsnap pull")
		return nil
	}
	for _, s := range snaps {
		if tc, ok := changed[s.ID]; ok {
			fmt.Fprintf(a.stderr, "note: %s: tenant changed from %s\n", s.Source, report.SafeText(tc.String()))
		}
	}
	return report.RenderTable(a.stdout, format, t)
}

// tenantChanges are the tenant changes among snaps, by the id of the
// first snapshot of the new tenant.
func tenantChanges(snaps []idsnap.Snapshot) map[int64]idsnap.TenantChange {
	by := map[string][]idsnap.Snapshot{}
	for _, s := range snaps { // by id within a source
		by[s.Source] = append(by[s.Source], s)
	}
	out := map[int64]idsnap.TenantChange{}
	for _, list := range by {
		for _, tc := range idsnap.TenantChanges(list) {
			out[tc.After.ID] = tc
		}
	}
	return out
}

func toSnapshotJSON(s idsnap.Snapshot) snapshotJSON {
	counts := make(map[string]int64, len(idsnap.Kinds))
	for _, k := range idsnap.Kinds {
		counts[string(k)] = s.Counts[k]
	}
	return snapshotJSON{
		ID: s.ID, Source: s.Source, Provider: s.Provider, BaseURL: s.BaseURL, Org: s.Org,
		TakenAt: s.TakenAt.UTC(), Counts: counts, Digest: s.Digest, ChainDigest: s.ChainDigest,
	}
}
