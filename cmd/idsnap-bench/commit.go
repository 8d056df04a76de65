package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/store"
)

const commitTargetRatio = 0.5

// commit measures ingest: the records of one pull staged and committed
// into an empty database, and a daily re-pull of the same tenant with 0.5%
// churn, in records per second. The baseline is the driver's bulk path: a
// plain prepared INSERT of the same rows, in one transaction, into the
// same versions table with the same indexes (idsnap's own schema), with
// nothing canonicalized or hashed on the way.
func (b *bench) commit(ctx context.Context) error {
	w := newWorld(b.sc.commitUsers, 11, 1)
	n := w.len()

	base, err := baselineInsert(ctx, b.path("baseline.db"), w)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	baseRate := float64(n) / base.Seconds()

	db, err := store.Open(ctx, b.path("commit.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	if _, err := w.pull(ctx, db, benchSource); err != nil {
		return err
	}
	first := time.Since(start)
	rate := float64(n) / first.Seconds()
	b.add(figure{
		name:    fmt.Sprintf("commit ingest, first pull of %d records", n),
		value:   fmt.Sprintf("%.0f records/s (%s, Stage+Put+Commit)", rate, secs(first)),
		against: fmt.Sprintf("prepared INSERT in one transaction, same table and indexes: %.0f records/s (%s)", baseRate, secs(base)),
		ratio:   fmt.Sprintf("%.2f×", rate/baseRate),
		target:  fmt.Sprintf("≥ %.1f×", commitTargetRatio),
		met:     verdict(rate/baseRate >= commitTargetRatio),
	})

	w.churn(0.005)
	w.signIn(0.2)
	start = time.Now()
	if _, err := w.pull(ctx, db, benchSource); err != nil {
		return err
	}
	daily := time.Since(start)
	b.add(figure{
		name:    fmt.Sprintf("commit ingest, daily pull of %d records (0.5%% churn, 20%% sign-ins)", n),
		value:   fmt.Sprintf("%.0f records/s (%s)", float64(n)/daily.Seconds(), secs(daily)),
		against: "the same baseline",
		ratio:   fmt.Sprintf("%.2f×", float64(n)/daily.Seconds()/baseRate),
		target:  "(none)",
	})
	return nil
}

// sqliteDSN mirrors the store's per-connection settings.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "cache_size(-32768)")
	q.Add("_pragma", "journal_mode(WAL)")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// baselineInsert inserts w's records into a fresh database with idsnap's
// schema through one prepared statement in one transaction and returns how
// long the inserts and the commit took. Values are prepared beforehand.
func baselineInsert(ctx context.Context, path string, w *world) (time.Duration, error) {
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, idsnap.Schema); err != nil {
		return 0, err
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO sources (id, name) VALUES (1, 'bench');
		INSERT INTO snapshots (id, source_id, provider, taken_at, users, resources, entitlements, grants, digest, chain_digest)
		VALUES (1, 1, 'kinde', '2026-01-01T00:00:00Z', 0, 0, 0, 0, '', '')`); err != nil {
		return 0, err
	}
	type row []any
	var rows []row
	codes := map[idsnap.Kind]int{idsnap.KindUser: 1, idsnap.KindResource: 2, idsnap.KindEntitlement: 3, idsnap.KindGrant: 4}
	for _, set := range [][]idsnap.Record{w.users, w.resources, w.grants} {
		for _, r := range set {
			h := sha256.Sum256(r.Raw)
			var verified any
			if r.EmailVerified != nil && *r.EmailVerified {
				verified = 1
			}
			rows = append(rows, row{codes[r.Kind], r.ID, h[:], r.PrincipalID, r.ResourceID, r.EntitlementID, r.Email, verified,
				r.Username, r.Name, string(r.Status), string(r.Type), r.ExternalID, r.CreatedAt.Format(time.RFC3339Nano), string(r.Raw)})
		}
	}
	start := time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO versions (source_id, kind, ext_id, valid_from, hash, principal_id, resource_id,
		entitlement_id, email, email_verified, username, name, status, type, external_id, created_at, raw)
		VALUES (1, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r...); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
