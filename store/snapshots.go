package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
)

const snapshotCols = `s.id, o.name, s.provider, s.base_url, s.org, s.taken_at,
	s.users, s.resources, s.entitlements, s.grants, s.digest, s.chain_digest, s.pull`

func scanSnapshot(sc interface{ Scan(...any) error }) (idsnap.Snapshot, error) {
	var s idsnap.Snapshot
	var taken string
	var u, r, e, g int64
	var pull sql.NullString
	err := sc.Scan(&s.ID, &s.Source, &s.Provider, &s.BaseURL, &s.Org, &taken, &u, &r, &e, &g, &s.Digest, &s.ChainDigest, &pull)
	if err == nil && pull.Valid {
		// A damaged pull record loses the IPE details, never the snapshot.
		var p idsnap.PullInfo
		if json.Unmarshal([]byte(pull.String), &p) == nil {
			s.Pull = &p
		}
	}
	s.TakenAt = parseTime(taken)
	s.Counts = map[idsnap.Kind]int64{idsnap.KindUser: u, idsnap.KindResource: r, idsnap.KindEntitlement: e, idsnap.KindGrant: g}
	return s, err
}

// Snapshots lists the snapshots of source, oldest first; source "" lists
// every source's.
func (db *DB) Snapshots(ctx context.Context, source string) ([]idsnap.Snapshot, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+snapshotCols+` FROM snapshots s
		JOIN sources o ON o.id = s.source_id WHERE ? = '' OR o.name = ? ORDER BY s.id`, source, source)
	if err != nil {
		return nil, db.dbError("list snapshots", err)
	}
	defer rows.Close()
	var out []idsnap.Snapshot
	for rows.Next() {
		s, err := scanSnapshot(rows)
		if err != nil {
			return nil, db.dbError("list snapshots", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, db.dbError("list snapshots", err)
	}
	return out, nil
}

// Snapshot returns one snapshot; a missing one is ErrNotFound.
func (db *DB) Snapshot(ctx context.Context, id int64) (idsnap.Snapshot, error) {
	s, err := scanSnapshot(db.sql.QueryRowContext(ctx, `SELECT `+snapshotCols+` FROM snapshots s
		JOIN sources o ON o.id = s.source_id WHERE s.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("snapshot %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return s, db.dbError(fmt.Sprintf("snapshot %d", id), err)
	}
	return s, nil
}

// snapshotSource returns the source id of a snapshot.
func (db *DB) snapshotSource(ctx context.Context, id int64) (srcID int64, name string, err error) {
	err = db.sql.QueryRowContext(ctx, `SELECT s.source_id, o.name FROM snapshots s
		JOIN sources o ON o.id = s.source_id WHERE s.id = ?`, id).Scan(&srcID, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", fmt.Errorf("snapshot %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, "", db.dbError(fmt.Sprintf("snapshot %d", id), err)
	}
	return srcID, name, nil
}

// versionCols selects a version as scanVersion reads it, with its activity
// as of snapshot :at. The alias v is the version, a its activity row.
const versionCols = versionFields + `, a.last_sign_in, a.sign_ins, a.failed_sign_ins`

// versionFields is versionCols without the activity.
const versionFields = `v.id, v.kind, v.ext_id, v.valid_from, v.valid_to, v.hash,
	v.principal_id, v.resource_id, v.entitlement_id, v.email, v.email_verified, v.username,
	v.name, v.status, v.type, v.external_id, v.created_at, v.raw`

// nVersionFields is the number of columns versionFields selects.
const nVersionFields = 18

// packedActivity selects, as one column, the activity of version v in force
// at snapshot %s (a parameter), packed as parseActivity reads it: one seek
// (the latest row at or before it, descending on the primary key) instead
// of activityJoin's max() and second seek, and one column to fetch instead
// of three, each of which costs a driver call per row.
const packedActivity = `(SELECT coalesce(last_sign_in, '') || ',' || coalesce(sign_ins, '') || ',' || coalesce(failed_sign_ins, '')
		FROM activity WHERE version_id = v.id AND valid_from <= %s ORDER BY valid_from DESC LIMIT 1)`

// activityJoin finds the activity row in force at snapshot :at.
const activityJoin = `LEFT JOIN activity a ON a.version_id = v.id AND a.valid_from = (
	SELECT max(valid_from) FROM activity WHERE version_id = v.id AND valid_from <= :at)`

// version is a stored version: the record plus its interval and hash.
type version struct {
	id, from int64
	to       sql.NullInt64
	hash     []byte
	rec      idsnap.Record
}

func scanVersion(sc interface{ Scan(...any) error }, source string) (version, error) {
	var v version
	var kind int
	var verified, last, n, failed sql.NullInt64
	var created, raw string
	r := &v.rec
	err := sc.Scan(&v.id, &kind, &r.ID, &v.from, &v.to, &v.hash,
		&r.PrincipalID, &r.ResourceID, &r.EntitlementID, &r.Email, &verified, &r.Username,
		&r.Name, &r.Status, &r.Type, &r.ExternalID, &created, &raw, &last, &n, &failed)
	if err != nil {
		return v, err
	}
	r.Source, r.Kind, r.CreatedAt = source, kindOf(kind), parseTime(created)
	if raw != "" {
		r.Raw = []byte(raw)
	}
	if verified.Valid {
		b := verified.Int64 == 1
		r.EmailVerified = &b
	}
	if n.Valid {
		r.Activity = &idsnap.Activity{SignIns: n.Int64, FailedSignIns: failed.Int64}
		if last.Valid {
			r.Activity.LastSignIn = time.Unix(last.Int64, 0).UTC()
		}
	}
	return v, nil
}

// State calls fn with every record as of the snapshot, ordered by kind
// (user, resource, entitlement, grant) then id, with Source set and
// Activity as of that snapshot (nil where the provider exposes none).
// It stops at fn's first error and returns it.
func (db *DB) State(ctx context.Context, snapshotID int64, fn func(idsnap.Record) error) error {
	srcID, name, err := db.snapshotSource(ctx, snapshotID)
	if err != nil {
		return err
	}
	// The versions_key index yields the canonical order and, covering
	// valid_from and valid_to, filters the interval without reading table
	// rows of other snapshots' versions. INDEXED BY because, without
	// statistics, SQLite otherwise range-scans versions_from and sorts
	// every row, raw included, through temporary files (most of the time
	// State took: BENCHMARKS.md, "Store").
	//
	// Reading and decoding run in their own goroutine, a batch ahead of
	// fn: the reports that call State spend about as long in fn as State
	// spends reading, and a second core can do one while the other does
	// the other.
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Batches go back to the reader once fn has seen them: 2M records
	// would otherwise allocate (and make the collector chase) some 600 MB.
	batches, free := make(chan []idsnap.Record, 2), make(chan []idsnap.Record, 4)
	var qerr error
	go func() {
		defer close(batches)
		buf := make([]idsnap.Record, 0, stateBatch)
		args := []driver.NamedValue{{Name: "src", Ordinal: 1, Value: srcID}, {Name: "at", Ordinal: 2, Value: snapshotID}}
		send := func() error {
			select {
			case batches <- buf:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case buf = <-free:
				buf = buf[:0]
			default:
				buf = make([]idsnap.Record, 0, stateBatch)
			}
			return nil
		}
		qerr = db.query(ctx, stateSQL, args, func(vals []driver.Value) error {
			r := idsnap.Record{Source: name}
			decodeFields(&r, vals[0], vals[1], vals[2:14], vals[14])
			if buf = append(buf, r); len(buf) == stateBatch {
				return send()
			}
			return nil
		})
		if qerr == nil && len(buf) > 0 {
			qerr = send()
		}
	}()
	for b := range batches {
		// The reader may have queued the last batches and finished: the
		// caller's cancellation must still end the stream.
		if err := parent.Err(); err != nil {
			cancel()
			for range batches {
			}
			return db.dbError("read snapshot", err)
		}
		for i, r := range b {
			b[i] = idsnap.Record{} // the batch is reused: keep nothing alive
			if err := fn(r); err != nil {
				cancel()
				for range batches { // let the reader finish
				}
				return err
			}
		}
		select {
		case free <- b:
		default:
		}
	}
	if qerr != nil {
		return db.dbError("read snapshot", qerr)
	}
	return nil
}

// stateBatch is how many records State's reader hands over at a time.
const stateBatch = 256

// stateSQL reads the versions of source :src in force at snapshot :at, in
// canonical order, with only the columns a Record needs and the activity
// packed (packedActivity).
var stateSQL = `SELECT v.kind, v.ext_id, v.principal_id, v.resource_id, v.entitlement_id,
	v.email, v.email_verified, v.username, v.name, v.status, v.type, v.external_id, v.created_at,
	CAST(v.raw AS BLOB), ` + fmt.Sprintf(packedActivity, ":at") + `
	FROM versions v INDEXED BY versions_key
	WHERE v.source_id = :src AND v.valid_from <= :at AND (v.valid_to IS NULL OR v.valid_to > :at)
	ORDER BY v.kind, v.ext_id`

// parseActivity reads packedActivity's column: nil for no row or an
// all-NULL row (activity unknown), as scanVersion reads them.
func parseActivity(v driver.Value) *idsnap.Activity {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	last, rest, _ := strings.Cut(s, ",")
	n, failed, _ := strings.Cut(rest, ",")
	if n == "" {
		return nil
	}
	a := &idsnap.Activity{}
	a.SignIns, _ = strconv.ParseInt(n, 10, 64)
	a.FailedSignIns, _ = strconv.ParseInt(failed, 10, 64)
	if last != "" {
		sec, _ := strconv.ParseInt(last, 10, 64)
		a.LastSignIn = time.Unix(sec, 0).UTC()
	}
	return a
}

// FindUsers returns the users whose id, email (ignoring case) or username
// equals query in any version: the latest version of each, per source,
// whether current or not, with Source set and its latest activity.
func (db *DB) FindUsers(ctx context.Context, query string) ([]idsnap.Record, error) {
	rows, err := db.sql.QueryContext(ctx, `WITH hits (source_id, ext_id) AS (
			SELECT source_id, ext_id FROM versions
			WHERE source_id IN (SELECT id FROM sources) AND kind = 1 AND ext_id = :q
			UNION SELECT source_id, ext_id FROM versions WHERE kind = 1 AND email = :q COLLATE NOCASE
			UNION SELECT source_id, ext_id FROM versions WHERE kind = 1 AND username = :q)
		SELECT o.name, `+versionCols+` FROM hits h JOIN sources o ON o.id = h.source_id
		JOIN versions v ON v.id = (SELECT id FROM versions
			WHERE source_id = h.source_id AND kind = 1 AND ext_id = h.ext_id ORDER BY valid_from DESC LIMIT 1)
		`+activityJoin+`
		ORDER BY o.name, v.ext_id`, sql.Named("q", query), sql.Named("at", int64(1<<62)))
	if err != nil {
		return nil, db.dbError("find users", err)
	}
	defer rows.Close()
	var out []idsnap.Record
	for rows.Next() {
		var name string
		v, err := scanVersion(prefixScanner{rows, &name}, "")
		if err != nil {
			return nil, db.dbError("find users", err)
		}
		v.rec.Source = name
		out = append(out, v.rec)
	}
	if err := rows.Err(); err != nil {
		return nil, db.dbError("find users", err)
	}
	return out, nil
}

// prefixScanner scans leading columns into extra destinations.
type prefixScanner struct {
	sc    interface{ Scan(...any) error }
	first *string
}

func (p prefixScanner) Scan(dest ...any) error {
	return p.sc.Scan(append([]any{p.first}, dest...)...)
}

// query runs q on one connection through the driver itself, calling fn
// with each row's values (valid only during the call). Reading values
// without database/sql's per-column Scan conversions and its per-row
// locking is what makes State stream millions of rows quickly; the values
// are the driver's: int64, float64, string, []byte or nil.
func (db *DB) query(ctx context.Context, q string, args []driver.NamedValue, fn func([]driver.Value) error) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return rawQuery(ctx, conn, q, args, fn)
}

// str is a driver value as a string; NULL is "".
func str(v driver.Value) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// i64 is a driver value as an integer; ok is false for NULL.
func i64(v driver.Value) (n int64, ok bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case float64:
		return int64(v), true
	}
	return 0, false
}

// decodeVersion is scanVersion for the driver's values of versionFields
// and packedActivity; nil when the version's id is NULL (no such version).
func decodeVersion(vals []driver.Value, activity driver.Value, source string) *version {
	id, ok := i64(vals[0])
	if !ok {
		return nil
	}
	v := &version{id: id}
	v.from, _ = i64(vals[3])
	if to, ok := i64(vals[4]); ok {
		v.to = sql.NullInt64{Int64: to, Valid: true}
	}
	switch h := vals[5].(type) {
	case []byte:
		v.hash = h
	case string:
		v.hash = []byte(h)
	}
	v.rec.Source = source
	decodeFields(&v.rec, vals[1], vals[2], vals[6:nVersionFields], activity)
	return v
}

// decodeFields fills r from the driver's values of kind, ext_id and the
// columns from principal_id to raw, in versionCols' order, and activity
// packed as stateSQL packs it (nil: none). Raw read as a BLOB is the
// driver's own copy and is kept without copying.
func decodeFields(r *idsnap.Record, kind, extID driver.Value, vals []driver.Value, activity driver.Value) {
	k, _ := i64(kind)
	r.Kind, r.ID = kindOf(int(k)), str(extID)
	r.PrincipalID, r.ResourceID, r.EntitlementID = str(vals[0]), str(vals[1]), str(vals[2])
	r.Email, r.Username, r.Name = str(vals[3]), str(vals[5]), str(vals[6])
	r.Status, r.Type, r.ExternalID = idsnap.Status(str(vals[7])), idsnap.AccountType(str(vals[8])), str(vals[9])
	if verified, ok := i64(vals[4]); ok {
		b := verified == 1
		r.EmailVerified = &b
	}
	r.CreatedAt = parseTime(str(vals[10]))
	switch raw := vals[11].(type) {
	case string:
		if raw != "" {
			r.Raw = []byte(raw)
		}
	case []byte:
		if len(raw) > 0 {
			r.Raw = raw
		}
	}
	r.Activity = parseActivity(activity)
}
