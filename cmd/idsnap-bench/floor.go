package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"

	"github.com/idsnap/idsnap"
)

// versionColumns are the columns of versions a pull writes, id and
// valid_to aside (SQLite numbers the rows; a first pull's are current).
const versionColumns = `source_id, kind, ext_id, valid_from, hash, principal_id, resource_id, entitlement_id,
	email, email_verified, username, name, status, type, external_id, created_at, raw`

// insertFloor is SQLite's own pace for what a first pull wrote, a floor
// under the pull's wall: the versions rows of the database at pulled
// copied by SQLite itself (INSERT … SELECT from the attached database, in
// the order the pull wrote them and in key order: the faster counts) into a fresh database at fresh with
// idsnap's schema and pragmas, in one transaction. No Go code runs per
// row: no fetching, decoding, canonical JSON, hashing, driver calls,
// activity rows or digest. It returns the time of the copy and its commit
// and the rows copied.
func insertFloor(ctx context.Context, pulled, fresh string) (time.Duration, int, error) {
	os.Remove(fresh)
	defer os.Remove(fresh)
	db, err := sql.Open("sqlite", sqliteDSN(fresh))
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, idsnap.Schema); err != nil {
		return 0, 0, err
	}
	// The pulled database is fresh and pulled once: source 1, snapshot 1.
	if _, err := db.ExecContext(ctx, `INSERT INTO sources (id, name) VALUES (1, 'floor');
		INSERT INTO snapshots (id, source_id, provider, taken_at, users, resources, entitlements, grants, digest, chain_digest)
		VALUES (1, 1, 'floor', '2026-01-01T00:00:00Z', 0, 0, 0, 0, '', '')`); err != nil {
		return 0, 0, err
	}
	if _, err := db.ExecContext(ctx, `ATTACH DATABASE ? AS pulled`, pulled); err != nil {
		return 0, 0, err
	}
	// Read it once beforehand, so the copy finds its pages in the OS cache.
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT `+versionColumns+` FROM pulled.versions)`).Scan(&n); err != nil {
		return 0, 0, err
	}
	// Two orders, the faster counts: the pull's, and key order (each
	// index but versions_key still takes its rows out of order).
	best := time.Duration(0)
	for _, order := range []string{"id", "kind, ext_id"} {
		start := time.Now()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, 0, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO main.versions (`+versionColumns+`)
			SELECT `+versionColumns+` FROM pulled.versions ORDER BY `+order); err != nil {
			tx.Rollback()
			return 0, 0, err
		}
		if err := tx.Commit(); err != nil {
			return 0, 0, err
		}
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM main.versions`); err != nil {
			return 0, 0, err
		}
	}
	return best, n, nil
}

// floorFigure is the insert floor of d for n rows beside a first pull's
// critical path crit: a first pull's wall cannot be shorter than the
// floor, so where the floor alone exceeds the target's share of the path,
// no fetcher or writer meets that target on this machine and schema.
func floorFigure(name string, d time.Duration, n int, crit time.Duration) figure {
	return figure{
		name:    "SQLite's insert floor under the first " + name,
		value:   fmt.Sprintf("%s for %d versions rows (%.0f rows/s), copied by SQLite in one transaction", secs(d), n, float64(n)/d.Seconds()),
		against: fmt.Sprintf("critical path %s", secs(crit)),
		ratio:   fmt.Sprintf("%.2f×", d.Seconds()/crit.Seconds()),
		target:  fmt.Sprintf("(information: the first pull's wall is at least the floor; its target ≤ %.1f×)", firstWallRatio),
	}
}
