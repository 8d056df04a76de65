package store

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
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
// and, in the same statement, the versions in force at :from (b) and at
// :to (a) with their activity as of those snapshots and, for grants, the
// names of the principal, resource and entitlement as of the snapshot where
// the grant was seen (:to, or :from for a revoked one). One set-based
// statement instead of point queries per change: the per-change queries
// through database/sql were most of the cost (BENCHMARKS.md, "Store").
//
// The candidate scans are range scans of versions_from and versions_to
// (TestChangesUsesIndexes), and every join is a seek on versions_key or on
// activity's primary key, so the cost grows with the number of changes, not
// with the tenant (with the Activity option, see activityCand). INDEXED BY
// because, without statistics, SQLite prefers scanning the covering
// versions_key index over the whole source. %s is the activity candidates
// when asked for.
var changesSQL = `WITH cand (kind, ext_id) AS (
	SELECT kind, ext_id FROM versions INDEXED BY versions_from WHERE source_id = :src AND valid_from > :from AND valid_from <= :to
		AND kind BETWEEN :kmin AND :kmax
	UNION SELECT kind, ext_id FROM versions INDEXED BY versions_to WHERE source_id = :src AND valid_to > :from AND valid_to <= :to
		AND kind BETWEEN :kmin AND :kmax
	%s)
SELECT ` + prefixCols(versionFields, "b") + `, ` + prefixCols(packedActivity, "b", ":from") + `,
	` + prefixCols(versionFields, "a") + `, ` + prefixCols(packedActivity, "a", ":to") + `,
	pn.name, pn.email, rn.name, rn.email, en.name, en.email
FROM cand c
LEFT JOIN versions b ON b.source_id = :src AND b.kind = c.kind AND b.ext_id = c.ext_id
	AND b.valid_from <= :from AND (b.valid_to IS NULL OR b.valid_to > :from)
LEFT JOIN versions a ON a.source_id = :src AND a.kind = c.kind AND a.ext_id = c.ext_id
	AND a.valid_from <= :to AND (a.valid_to IS NULL OR a.valid_to > :to)
` + refJoin("pn", 1, "principal_id") + refJoin("rn", 2, "resource_id") + refJoin("en", 3, "entitlement_id") + `
ORDER BY c.kind, c.ext_id`

// prefixCols is cols (versionFields or packedActivity) for the version
// aliased alias instead of v, with the snapshot parameter at, if any.
func prefixCols(cols, alias string, at ...any) string {
	if len(at) > 0 {
		cols = fmt.Sprintf(cols, at...)
	}
	return strings.ReplaceAll(cols, "v.", alias+".")
}

// refJoin joins, for a grant candidate, the record of kind code named by
// the grant's column col, as of the snapshot where the grant was seen: :to
// when it exists there, else :from.
func refJoin(alias string, code int, col string) string {
	at := "CASE WHEN a.id IS NULL THEN :from ELSE :to END"
	return fmt.Sprintf(`LEFT JOIN versions %[1]s ON c.kind = 4 AND %[1]s.source_id = :src AND %[1]s.kind = %[2]d
	AND %[1]s.ext_id = CASE WHEN a.id IS NULL THEN b.%[3]s ELSE a.%[3]s END
	AND %[1]s.valid_from <= %[4]s AND (%[1]s.valid_to IS NULL OR %[1]s.valid_to > %[4]s)
`, alias, code, col, at)
}

// activityCand adds the records present at :to whose activity has a row in
// (:from, :to]. It walks the source's versions: sign-ins touch a large
// share of users between any two snapshots, so an index for them would
// cost more storage than it saves (BenchmarkYear10k).
const activityCand = `UNION SELECT v.kind, v.ext_id FROM versions v
	WHERE v.source_id = :src AND v.valid_from <= :to AND (v.valid_to IS NULL OR v.valid_to > :to)
	AND v.kind BETWEEN :kmin AND :kmax AND EXISTS (SELECT 1 FROM activity x WHERE x.version_id = v.id AND x.valid_from > :from AND x.valid_from <= :to)`

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
	// Two connections, one for users, resources and entitlements and one
	// for grants, run at once: the work is seeks and decoding on one core
	// each, and grants (with their refs) are about half of it.
	q := fmt.Sprintf(changesSQL, extra)
	parts := [2][2]int{{1, 3}, {4, 4}}
	var outs [2][]idsnap.Change
	var errs [2]error
	var wg sync.WaitGroup
	for i, kinds := range parts {
		wg.Go(func() {
			args := []driver.NamedValue{
				{Name: "src", Ordinal: 1, Value: srcID}, {Name: "from", Ordinal: 2, Value: from}, {Name: "to", Ordinal: 3, Value: to},
				{Name: "kmin", Ordinal: 4, Value: int64(kinds[0])}, {Name: "kmax", Ordinal: 5, Value: int64(kinds[1])},
			}
			outs[i], errs[i] = db.changes(ctx, q, args, name, to, opts)
		})
	}
	wg.Wait()
	if err := cmp.Or(errs[0], errs[1]); err != nil {
		return nil, db.dbError("changes", err)
	}
	return append(outs[0], outs[1]...), nil
}

// changes runs changesSQL with args and turns its rows into changes.
func (db *DB) changes(ctx context.Context, q string, args []driver.NamedValue, name string, to int64, opts ChangeOptions) ([]idsnap.Change, error) {
	var out []idsnap.Change
	err := db.query(ctx, q, args, func(vals []driver.Value) error {
		const n = nVersionFields + 1 // and the packed activity
		b := decodeVersion(vals[:n-1], vals[n-1], name)
		a := decodeVersion(vals[n:2*n-1], vals[2*n-1], name)
		c, ok := diff(b, a, opts.Activity)
		if !ok {
			return nil
		}
		c.Source, c.SnapshotID = name, to
		if c.Kind == idsnap.KindGrant {
			g := c.After
			if g == nil {
				g = c.Before
			}
			refs := vals[2*n:]
			c.Principal = decodeRef(g.PrincipalID, refs[0], refs[1])
			c.Resource = decodeRef(g.ResourceID, refs[2], refs[3])
			c.Entitlement = decodeRef(g.EntitlementID, refs[4], refs[5])
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// decodeRef is a display ref as reader.ref makes it: nil without an id,
// the id alone when the record is missing.
func decodeRef(id string, name, email driver.Value) *idsnap.Ref {
	if id == "" {
		return nil
	}
	return &idsnap.Ref{ID: id, Name: str(name), Email: str(email)}
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

// reader loads display refs of one source for History, with the statement
// prepared once: it runs up to three times per grant change. (Changes joins
// its refs in changesSQL instead.)
type reader struct {
	db      *DB
	srcID   int64
	name    string
	refStmt *sql.Stmt
}

func (db *DB) newReader(ctx context.Context, srcID int64, name string) (*reader, error) {
	r := &reader{db: db, srcID: srcID, name: name}
	var err error
	r.refStmt, err = db.sql.PrepareContext(ctx, `SELECT name, email FROM versions
		WHERE source_id = ? AND kind = ? AND ext_id = ? AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)`)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (r *reader) close() { r.refStmt.Close() }

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
