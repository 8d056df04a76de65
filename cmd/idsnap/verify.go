package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report/evidence"
	"github.com/idsnap/idsnap/store"
)

func (a *app) verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check an evidence folder: digests, no missing or extra files, signature, snapshots",
		ArgsUsage: "DIR",
		Description: "Checks every file against SHA256SUMS and manifest.json (size and SHA-256), that\n" +
			"the folder holds exactly the files the manifest lists, the signature with\n" +
			"--pubkey (required then), and with --db that the snapshots and chain digests the\n" +
			"manifest names are the ones stored (those a prune removed are listed, with each\n" +
			"pruned source's chain anchor). Any problem fails with one line naming the\n" +
			"file; exit status 1.\n\n" +
			"Examples:\n  idsnap verify q1-review --pubkey idsnap.pub\n  idsnap verify q1-review --pubkey idsnap.pub --db /var/lib/idsnap/idsnap.db",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "pubkey", Aliases: []string{"p"}, Usage: "require a valid signature by the public key `FILE` (minisign format)"},
		},
		Action: a.verify,
	}
}

func (a *app) verify(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Len() != 1 {
		return fmt.Errorf("verify takes one evidence folder DIR, got %d arguments", cmd.Args().Len())
	}
	dir := cmd.Args().First()
	var opts evidence.VerifyOptions
	var anchorsOf *store.DB
	if path := cmd.String("pubkey"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("--pubkey: %w", err)
		}
		k, err := evidence.ParsePublicKey(b)
		if err != nil {
			return fmt.Errorf("--pubkey %s: %w", path, err)
		}
		opts.PublicKey = &k
	}
	// Only an explicit --db is checked against, and it must exist: verify
	// never creates a database.
	if cmd.IsSet("db") {
		path := a.dbPath(cmd)
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("--db %s does not exist", path)
			}
			return fmt.Errorf("--db: %w", err)
		}
		db, err := a.openDB(ctx, cmd)
		if err != nil {
			return err
		}
		defer db.Close()
		opts.Snapshot = func(ctx context.Context, id int64) (idsnap.Snapshot, error) { return db.Snapshot(ctx, id) }
		opts.Pruned = db.Pruned
		anchorsOf = db
	}
	res, err := evidence.Verify(ctx, dir, opts)
	if err != nil {
		return fmt.Errorf("verify %s: %w", dir, err)
	}
	if !cmd.Bool("quiet") {
		fmt.Fprintln(a.stdout, res.Summary(dir))
	}
	for _, l := range res.MixedTenants {
		fmt.Fprintf(a.stderr, "idsnap: warning: %s\n", l)
	}
	if anchorsOf != nil {
		a.verifyAnchors(ctx, cmd, anchorsOf)
	}
	return nil
}

// verifyAnchors follows verify's summary with the chain anchors of the
// pruned sources: the evidence's chain digests before them can no longer
// be recomputed from the database.
func (a *app) verifyAnchors(ctx context.Context, cmd *cli.Command, db *store.DB) {
	anchors, err := db.Anchors(ctx)
	if err != nil || cmd.Bool("quiet") {
		return
	}
	for _, an := range anchors {
		fmt.Fprintf(a.stdout, "%s: %s\n", an.Source, anchorText(an))
	}
}
