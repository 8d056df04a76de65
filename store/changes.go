package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/idsnap/idsnap"
)

// ChangeOptions tunes Changes.
type ChangeOptions struct {
	// Activity also reports sign-in changes, as "changed" with the fields
	// activity.last_sign_in, activity.sign_ins and activity.failed_sign_ins.
	Activity bool
}

// changesSQL finds the records whose versions start or end in (:from, :to]
// and the versions in force at :from and at :to. The candidate scans are
// range scans of versions_from and versions_to (TestChangesUsesIndexes), so
// the cost grows with the number of changes, not with the tenant (with the
// Activity option, see activityCand). INDEXED
// BY because, without statistics, SQLite prefers scanning the covering
// versions_key index over the whole source. %s is
// the activity candidates when asked for.
const changesSQL = `WITH cand (kind, ext_id) AS (
	SELECT kind, ext_id FROM versions INDEXED BY versions_from WHERE source_id = :src AND valid_from > :from AND valid_from <= :to
	UNION SELECT kind, ext_id FROM versions INDEXED BY versions_to WHERE source_id = :src AND valid_to > :from AND valid_to <= :to
	%s)
SELECT c.kind, c.ext_id, b.id, a.id FROM cand c
LEFT JOIN versions b ON b.source_id = :src AND b.kind = c.kind AND b.ext_id = c.ext_id
	AND b.valid_from <= :from AND (b.valid_to IS NULL OR b.valid_to > :from)
LEFT JOIN versions a ON a.source_id = :src AND a.kind = c.kind AND a.ext_id = c.ext_id
	AND a.valid_from <= :to AND (a.valid_to IS NULL OR a.valid_to > :to)
ORDER BY c.kind, c.ext_id`

// activityCand adds the records present at :to whose activity has a row in
// (:from, :to]. It walks the source's versions: sign-ins touch a large
// share of users between any two snapshots, so an index for them would
// cost more storage than it saves (BenchmarkYear10k).
const activityCand = `UNION SELECT v.kind, v.ext_id FROM versions v
	WHERE v.source_id = :src AND v.valid_from <= :to AND (v.valid_to IS NULL OR v.valid_to > :to)
	AND EXISTS (SELECT 1 FROM activity x WHERE x.version_id = v.id AND x.valid_from > :from AND x.valid_from <= :to)`

// Changes returns what changed from snapshot from to snapshot to of the same
// source, sorted by kind, id and type. from 0 means before the first
// snapshot, so everything in to is joined or granted. Without the Activity
// option its cost grows with the number of changes, not with the tenant.
// Grants carry their
// principal, resource and entitlement as of the snapshot where the grant
// was seen (to, or from for a revoked one). SnapshotID is to.
func (db *DB) Changes(ctx context.Context, from, to int64, opts ChangeOptions) ([]idsnap.Change, error) {
	if from < 0 || from >= to {
		return nil, fmt.Errorf("changes: snapshot %d is not before snapshot %d", from, to)
	}
	srcID, name, err := db.snapshotSource(ctx, to)
	if err != nil {
		return nil, err
	}
	if from != 0 {
		fromSrc, fromName, err := db.snapshotSource(ctx, from)
		if err != nil {
			return nil, err
		}
		if fromSrc != srcID {
			return nil, fmt.Errorf("changes: snapshot %d is of %s and snapshot %d of %s; compare snapshots of one source", from, fromName, to, name)
		}
	}
	extra := ""
	if opts.Activity {
		extra = activityCand
	}
	args := []any{sql.Named("src", srcID), sql.Named("from", from), sql.Named("to", to)}
	rows, err := db.sql.QueryContext(ctx, fmt.Sprintf(changesSQL, extra), args...)
	if err != nil {
		return nil, db.dbError("changes", err)
	}
	type pair struct{ before, after sql.NullInt64 }
	var pairs []pair
	for rows.Next() {
		var kind int
		var id string
		var p pair
		if err := rows.Scan(&kind, &id, &p.before, &p.after); err != nil {
			rows.Close()
			return nil, db.dbError("changes", err)
		}
		pairs = append(pairs, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, db.dbError("changes", err)
	}

	r, err := db.newReader(ctx, srcID, name)
	if err != nil {
		return nil, db.dbError("changes", err)
	}
	defer r.close()
	var out []idsnap.Change
	for _, p := range pairs {
		var b, a *version
		if p.before.Valid {
			if b, err = r.version(ctx, p.before.Int64, from); err != nil {
				return nil, db.dbError("changes", err)
			}
		}
		if p.after.Valid {
			if a, err = r.version(ctx, p.after.Int64, to); err != nil {
				return nil, db.dbError("changes", err)
			}
		}
		c, ok := diff(b, a, opts.Activity)
		if !ok {
			continue
		}
		c.Source, c.SnapshotID = name, to
		at := to
		if c.Type == idsnap.Revoked {
			at = from
		}
		if err := r.refs(ctx, &c, at); err != nil {
			return nil, db.dbError("changes", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// diff is the change from version b to version a (either may be nil); ok
// is false when nothing reportable changed.
func diff(b, a *version, activity bool) (idsnap.Change, bool) {
	switch {
	case b == nil && a == nil:
		return idsnap.Change{}, false
	case b == nil:
		t := idsnap.Joined
		if a.rec.Kind == idsnap.KindGrant {
			t = idsnap.Granted
		}
		return idsnap.Change{Type: t, Kind: a.rec.Kind, ID: a.rec.ID, After: &a.rec}, true
	case a == nil:
		t := idsnap.Left
		if b.rec.Kind == idsnap.KindGrant {
			t = idsnap.Revoked
		}
		return idsnap.Change{Type: t, Kind: b.rec.Kind, ID: b.rec.ID, Before: &b.rec}, true
	}
	var fields []idsnap.FieldChange
	if b.id != a.id && string(b.hash) != string(a.hash) {
		fields = idsnap.Compare(&b.rec, &a.rec)
	}
	if activity {
		fields = append(fields, activityFields(b.rec.Activity, a.rec.Activity)...)
	}
	if len(fields) == 0 {
		return idsnap.Change{}, false
	}
	return idsnap.Change{Type: idsnap.Changed, Kind: a.rec.Kind, ID: a.rec.ID,
		Before: &b.rec, After: &a.rec, Fields: fields}, true
}

// activityFields lists the sign-in values that differ. Unknown activity
// and a never-set last sign-in read as nil.
func activityFields(b, a *idsnap.Activity) []idsnap.FieldChange {
	vals := func(x *idsnap.Activity) [3]any {
		if x == nil {
			return [3]any{}
		}
		var last any
		if !x.LastSignIn.IsZero() {
			last = x.LastSignIn.UTC().Format(time.RFC3339Nano)
		}
		return [3]any{last, x.SignIns, x.FailedSignIns}
	}
	names := [3]string{"activity.last_sign_in", "activity.sign_ins", "activity.failed_sign_ins"}
	bv, av := vals(b), vals(a)
	var out []idsnap.FieldChange
	for i := range names {
		if bv[i] != av[i] {
			out = append(out, idsnap.FieldChange{Field: names[i], From: bv[i], To: av[i]})
		}
	}
	return out
}

// reader loads versions and display refs of one source, with statements
// prepared once: Changes runs them once or more per change.
type reader struct {
	db          *DB
	srcID       int64
	name        string
	versionStmt *sql.Stmt
	refStmt     *sql.Stmt
}

func (db *DB) newReader(ctx context.Context, srcID int64, name string) (*reader, error) {
	r := &reader{db: db, srcID: srcID, name: name}
	var err error
	r.versionStmt, err = db.sql.PrepareContext(ctx, `SELECT `+versionCols+` FROM versions v `+activityJoin+`
		WHERE v.id = :id`)
	if err != nil {
		return nil, err
	}
	r.refStmt, err = db.sql.PrepareContext(ctx, `SELECT name, email FROM versions
		WHERE source_id = ? AND kind = ? AND ext_id = ? AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)`)
	if err != nil {
		r.versionStmt.Close()
		return nil, err
	}
	return r, nil
}

func (r *reader) close() {
	r.versionStmt.Close()
	r.refStmt.Close()
}

// version loads one version with its activity as of snapshot at.
func (r *reader) version(ctx context.Context, id, at int64) (*version, error) {
	v, err := scanVersion(r.versionStmt.QueryRowContext(ctx, sql.Named("id", id), sql.Named("at", at)), r.name)
	return &v, err
}

// refs names a grant's principal, resource and entitlement as of snapshot at.
func (r *reader) refs(ctx context.Context, c *idsnap.Change, at int64) error {
	if c.Kind != idsnap.KindGrant {
		return nil
	}
	g := c.After
	if g == nil {
		g = c.Before
	}
	var err error
	if c.Principal, err = r.ref(ctx, idsnap.KindUser, g.PrincipalID, at); err != nil {
		return err
	}
	if c.Resource, err = r.ref(ctx, idsnap.KindResource, g.ResourceID, at); err != nil {
		return err
	}
	c.Entitlement, err = r.ref(ctx, idsnap.KindEntitlement, g.EntitlementID, at)
	return err
}

// ref is the display name of a record as of snapshot at; a record missing
// there keeps its id alone.
func (r *reader) ref(ctx context.Context, kind idsnap.Kind, id string, at int64) (*idsnap.Ref, error) {
	if id == "" {
		return nil, nil
	}
	ref := &idsnap.Ref{ID: id}
	err := r.refStmt.QueryRowContext(ctx, r.srcID, kindCode[kind], id, at, at).Scan(&ref.Name, &ref.Email)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return ref, nil
}
