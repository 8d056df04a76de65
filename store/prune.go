package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/idsnap/idsnap"
)

// PruneResult is what Prune removed, or would remove.
type PruneResult struct {
	// Snapshots are the removed snapshots, oldest first.
	Snapshots []idsnap.Snapshot
	// Versions and Activity count the removed rows: those only the removed
	// snapshots referenced.
	Versions, Activity int64
	// Sources says what went of each pruned source, by name.
	Sources []PrunedSource
}

// PrunedSource is what Prune removed of one source.
type PrunedSource struct {
	Anchor             idsnap.Anchor // the anchor the prune set
	Snapshots          int
	Versions, Activity int64
}

// Prune removes the snapshots taken before before (of source, or of every
// source when source is ""), with every version and activity row only they
// referenced, in one transaction. It never removes a source's latest
// snapshot: the current state is what the next pull compares against. Only
// a prefix of each source's snapshots goes, so its hash chain stays whole:
// the last removed snapshot's chain digest is kept as the source's anchor,
// from which the first kept snapshot's chain digest follows.
//
// Kept snapshots read exactly as before: the versions still in force at the
// first kept snapshot K start there (valid_from is moved up to K, since the
// snapshot it named is gone), and each keeps the activity row in force at K.
//
// With dryRun the same work is done and rolled back, so the counts are
// exact. Prune does not reclaim the freed pages; Vacuum does.
func (db *DB) Prune(ctx context.Context, before time.Time, source string, dryRun bool) (res PruneResult, err error) {
	const op = "prune"
	select {
	case db.writeTurn <- struct{}{}:
	case <-ctx.Done():
		return res, fmt.Errorf("%s: %w", op, ctx.Err())
	}
	defer func() { <-db.writeTurn }()
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return res, db.dbError(op, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return res, db.dbError(op, err)
	}
	end := "ROLLBACK"
	defer func() {
		if end == "ROLLBACK" || err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			return
		}
		if _, cerr := conn.ExecContext(ctx, "COMMIT"); cerr != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			err = db.dbError(op, cerr)
		}
	}()
	if source != "" {
		var n int
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sources WHERE name = ?", source).Scan(&n); err != nil {
			return res, db.dbError(op, err)
		}
		if n == 0 {
			return res, fmt.Errorf("%s: source %s: %w", op, source, ErrNotFound)
		}
	}
	snaps, err := snapshotsOn(ctx, conn, source)
	if err != nil {
		return res, db.dbError(op, err)
	}
	bySource := map[string][]idsnap.Snapshot{}
	var order []string
	for _, s := range snaps {
		if _, ok := bySource[s.Source]; !ok {
			order = append(order, s.Source)
		}
		bySource[s.Source] = append(bySource[s.Source], s)
	}
	for _, name := range order {
		ss := bySource[name]
		n := 0 // the prefix taken before `before`, never the latest
		for n < len(ss)-1 && ss[n].TakenAt.Before(before) {
			n++
		}
		if n == 0 {
			continue
		}
		a := idsnap.Anchor{Source: name, SnapshotID: ss[n-1].ID, TakenAt: ss[n-1].TakenAt,
			PrunedBefore: before.UTC(), ChainDigest: ss[n-1].ChainDigest}
		versions, activity, err := pruneSource(ctx, conn, a, ss[n].ID)
		if err != nil {
			return res, db.dbError(op+" "+name, err)
		}
		res.Snapshots = append(res.Snapshots, ss[:n]...)
		res.Versions += versions
		res.Activity += activity
		res.Sources = append(res.Sources, PrunedSource{Anchor: a, Snapshots: n, Versions: versions, Activity: activity})
	}
	if !dryRun {
		end = "COMMIT"
	}
	return res, nil
}

// pruneSource removes the snapshots of a.Source up to a.SnapshotID, keep
// being the first kept one, and records a as the source's anchor.
func pruneSource(ctx context.Context, conn *sql.Conn, a idsnap.Anchor, keep int64) (versions, activity int64, err error) {
	var src int64
	if err := conn.QueryRowContext(ctx, "SELECT id FROM sources WHERE name = ?", a.Source).Scan(&src); err != nil {
		return 0, 0, err
	}
	args := []any{sql.Named("src", src), sql.Named("k", keep)}
	exec := func(q string) (int64, error) {
		r, err := conn.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, err
		}
		return r.RowsAffected()
	}
	steps := []struct {
		q     string
		count *int64
	}{
		// Versions that ended by the first kept snapshot: only pruned
		// snapshots saw them. Their activity goes first (foreign key).
		{`DELETE FROM activity WHERE version_id IN (
			SELECT id FROM versions WHERE source_id = :src AND valid_to <= :k)`, &activity},
		// Of the versions that continue, the activity rows superseded
		// before K: K reads the latest row at or before it.
		{`DELETE FROM activity WHERE version_id IN (
				SELECT id FROM versions WHERE source_id = :src AND valid_from < :k AND (valid_to IS NULL OR valid_to > :k))
			AND valid_from < (SELECT max(valid_from) FROM activity b
				WHERE b.version_id = activity.version_id AND b.valid_from <= :k)`, &activity},
		{`DELETE FROM versions WHERE source_id = :src AND valid_to <= :k`, &versions},
		{`UPDATE versions SET valid_from = :k WHERE source_id = :src AND valid_from < :k`, nil},
	}
	for _, s := range steps {
		n, err := exec(s.q)
		if err != nil {
			return 0, 0, err
		}
		if s.count != nil {
			*s.count += n
		}
	}
	_, err = conn.ExecContext(ctx, `INSERT INTO anchors (source_id, snapshot_id, taken_at, pruned_before, chain_digest)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (source_id) DO UPDATE SET snapshot_id = excluded.snapshot_id,
		taken_at = excluded.taken_at, pruned_before = excluded.pruned_before, chain_digest = excluded.chain_digest`,
		src, a.SnapshotID, formatTime(a.TakenAt), formatTime(a.PrunedBefore), a.ChainDigest)
	if err != nil {
		return 0, 0, err
	}
	_, err = conn.ExecContext(ctx, "DELETE FROM snapshots WHERE source_id = ? AND id <= ?", src, a.SnapshotID)
	return versions, activity, err
}

// snapshotsOn is Snapshots on one connection (inside its transaction).
func snapshotsOn(ctx context.Context, conn *sql.Conn, source string) ([]idsnap.Snapshot, error) {
	rows, err := conn.QueryContext(ctx, `SELECT `+snapshotCols+` FROM snapshots s
		JOIN sources o ON o.id = s.source_id WHERE ? = '' OR o.name = ? ORDER BY s.id`, source, source)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []idsnap.Snapshot
	for rows.Next() {
		s, err := scanSnapshot(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Vacuum rebuilds the file to hand the pages a prune freed back to the
// file system. A full VACUUM rather than incremental vacuum: incremental
// vacuum needs auto_vacuum set before the first table is created (every
// existing database would need a full VACUUM to switch anyway), costs a
// pointer-map page per few hundred pages on every write, and only
// truncates free pages at the end of the file without compacting. VACUUM
// needs free space for a copy of the database while it runs.
func (db *DB) Vacuum(ctx context.Context) error {
	select {
	case db.writeTurn <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("vacuum: %w", ctx.Err())
	}
	defer func() { <-db.writeTurn }()
	if _, err := db.sql.ExecContext(ctx, "VACUUM"); err != nil {
		return db.dbError("vacuum", err)
	}
	// VACUUM in WAL mode writes the new file through the WAL: checkpoint
	// it so the space is back now, not at the next checkpoint.
	if _, err := db.sql.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return db.dbError("vacuum", err)
	}
	return nil
}

// FreePages returns the pages on the free list and in the file: how much a
// Vacuum would give back.
func (db *DB) FreePages(ctx context.Context) (free, total int64, err error) {
	err = db.sql.QueryRowContext(ctx, "SELECT (SELECT freelist_count FROM pragma_freelist_count()), (SELECT page_count FROM pragma_page_count())").Scan(&free, &total)
	if err != nil {
		return 0, 0, db.dbError("free pages", err)
	}
	return free, total, nil
}

// Anchors returns the chain anchors of the pruned sources, by source name.
func (db *DB) Anchors(ctx context.Context) ([]idsnap.Anchor, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT o.name, a.snapshot_id, a.taken_at, a.pruned_before, a.chain_digest
		FROM anchors a JOIN sources o ON o.id = a.source_id ORDER BY o.name`)
	if err != nil {
		return nil, db.dbError("anchors", err)
	}
	defer rows.Close()
	var out []idsnap.Anchor
	for rows.Next() {
		var a idsnap.Anchor
		var taken, before string
		if err := rows.Scan(&a.Source, &a.SnapshotID, &taken, &before, &a.ChainDigest); err != nil {
			return nil, db.dbError("anchors", err)
		}
		a.TakenAt, a.PrunedBefore = parseTime(taken), parseTime(before)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, db.dbError("anchors", err)
	}
	return out, nil
}

// Pruned says whether snapshot id of source was removed by a prune, and
// returns the source's anchor if so. Snapshot ids are never reused: the
// newest snapshot of each source is never pruned, so the largest id stays.
func (db *DB) Pruned(ctx context.Context, source string, id int64) (idsnap.Anchor, bool, error) {
	anchors, err := db.Anchors(ctx)
	if err != nil {
		return idsnap.Anchor{}, false, err
	}
	for _, a := range anchors {
		if a.Source == source && id <= a.SnapshotID {
			if _, err := db.Snapshot(ctx, id); errors.Is(err, ErrNotFound) {
				return a, true, nil
			} else if err != nil {
				return idsnap.Anchor{}, false, err
			}
		}
	}
	return idsnap.Anchor{}, false, nil
}
