package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/idsnap/idsnap"
)

// History returns every change to the user principalID of source and to the
// grants it holds, oldest first, each with SnapshotID set to the snapshot
// where it was first seen. Activity is not reported.
func (db *DB) History(ctx context.Context, source, principalID string) ([]idsnap.Change, error) {
	var srcID int64
	err := db.sql.QueryRowContext(ctx, "SELECT id FROM sources WHERE name = ?", source).Scan(&srcID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("history: source %s: %w", source, ErrNotFound)
	}
	if err != nil {
		return nil, db.dbError("history", err)
	}
	// :at 0 joins no activity: history is about attributes and grants.
	rows, err := db.sql.QueryContext(ctx, `SELECT `+versionCols+` FROM versions v `+activityJoin+`
		WHERE v.source_id = :src AND v.kind = 1 AND v.ext_id = :p
		UNION ALL SELECT `+versionCols+` FROM versions v `+activityJoin+`
		WHERE v.source_id = :src AND v.kind = 4 AND v.principal_id = :p
		ORDER BY 2, 3, 4`, sql.Named("src", srcID), sql.Named("p", principalID), sql.Named("at", 0))
	if err != nil {
		return nil, db.dbError("history", err)
	}
	var vs []*version
	for rows.Next() {
		v, err := scanVersion(rows, source)
		if err != nil {
			rows.Close()
			return nil, db.dbError("history", err)
		}
		vs = append(vs, &v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, db.dbError("history", err)
	}

	var out []idsnap.Change
	emit := func(b, a *version, at int64) {
		c, ok := diff(b, a, false)
		if ok {
			c.Source, c.SnapshotID = source, at
			out = append(out, c)
		}
	}
	for i, v := range vs {
		var prev *version
		if i > 0 && vs[i-1].rec.Kind == v.rec.Kind && vs[i-1].rec.ID == v.rec.ID {
			prev = vs[i-1]
		}
		switch {
		case prev != nil && prev.to.Int64 == v.from:
			emit(prev, v, v.from)
		default:
			emit(nil, v, v.from)
		}
		last := i+1 == len(vs) || vs[i+1].rec.Kind != v.rec.Kind || vs[i+1].rec.ID != v.rec.ID
		if v.to.Valid && (last || vs[i+1].from != v.to.Int64) {
			emit(v, nil, v.to.Int64)
		}
	}
	r, err := db.newReader(ctx, srcID, source)
	if err != nil {
		return nil, db.dbError("history", err)
	}
	defer r.close()
	for i := range out {
		c := &out[i]
		at := c.SnapshotID
		if c.Type == idsnap.Revoked {
			// The grant was last seen in the source's previous snapshot, and
			// the state as of at-1 is exactly that snapshot's.
			at--
		}
		if err := r.refs(ctx, c, at); err != nil {
			return nil, db.dbError("history", err)
		}
	}
	slices.SortStableFunc(out, func(a, b idsnap.Change) int {
		return cmp.Or(cmp.Compare(a.SnapshotID, b.SnapshotID),
			cmp.Compare(kindCode[a.Kind], kindCode[b.Kind]), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}
