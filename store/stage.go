package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/internal/jsonbytes"
)

// Stage collects one pull of one source, on a connection of its own.
//
// Records reach the snapshot's tables while the fetch still runs: the
// Stage's writer takes SQLite's write lock as soon as it can (without
// waiting for it) and from then on applies each batch to the interval
// tables inside one open transaction, so the commit that follows the fetch
// has little left to do. The snapshot row is inserted in that transaction
// too; readers see none of it until Commit, and a crash or Abort rolls it
// all back. Until the lock is free (another source of this process is
// committing, or another process writes) batches wait in TEMP tables,
// which no other connection sees and SQLite drops when the connection ends.
//
// Stage begins by reading the source's current versions into an index
// (index.go). Put canonicalizes and hashes in the caller's goroutine,
// compares with the index, and hands only new, changed and signed-in
// records to the writer goroutine in batches, so preparing and writing
// overlap and an unchanged record costs no SQL at all.
type Stage struct {
	db      *DB
	src     idsnap.Source
	takenAt time.Time
	pull    *idsnap.PullInfo
	lastID  int64  // the source's latest snapshot when the pull began
	idx     *index // its current versions
	// idxMu guards idx against release while Puts read it: its entries
	// may live outside the Go heap, and reading them after they are freed
	// would crash rather than fail.
	idxMu sync.RWMutex

	conn *sql.Conn
	// Prepared once: re-preparing costs more than the insert.
	stashVers, stashActs inserter // temp.batch, temp.act
	versions, activity   inserter
	closeVer             *sql.Stmt
	batches              chan batch
	written              chan struct{} // closed when the writer has finished
	// wctx is the writer's own context. Batches outlive the Put that
	// filled them: a fetcher emits from a pool whose context ends when the
	// pool does, while its last batch may still be queued. Abort cancels it.
	wctx      context.Context
	cancel    context.CancelFunc
	writerErr atomic.Pointer[error]

	// The writer owns these until it has finished, then Commit does.
	tx      *snapTx // non-nil while this Stage holds the write lock
	waiting int     // rows in the TEMP tables not applied yet
	// staged are the index entries of the rows in the TEMP tables: those
	// of new versions in temp.batch's order, whose ids apply assigns.
	staged []staged
	iw     indexWriter
	// applied counts the rows written; past bigWrite the connection's
	// page cache is raised to writeCache (bigCache) until release.
	applied  int
	bigCache bool

	mu   sync.Mutex
	buf  []row
	done bool // committed or aborted
}

// snapTx is the open write transaction of a Stage that holds the lock: the
// snapshot row it inserted, whose counts and digests Commit fills in.
type snapTx struct {
	srcID, snapID int64
	prevChain     string
}

type batch struct {
	rows []row
}

// staged is the index entry of a row waiting in temp.batch: newVersion
// when the row inserts a version, whose id apply assigns.
type staged struct {
	ent        entry
	newVersion bool
}

// row is a record ready for the staging table: a new version (closing
// version vid when it replaces one), or with actOnly the new activity of
// version vid, whose attributes did not change.
type row struct {
	vid                           int64
	actOnly                       bool
	kind                          int
	id                            string
	key                           fp // keyOf(kind, id)
	hash                          []byte
	principal, resource, entitle  string
	email                         string
	verified                      any // nil, 0 or 1
	username, name, status, typ   string
	externalID, createdAt, raw    string
	lastSignIn, signIns, failedIn any // all nil: no activity
}

const (
	bigWrite  = 16 << 10 // rows written before the Stage raises its page cache
	batchRows = 2048     // rows per staging transaction and per written batch
	chunkRows = 128      // rows per multi-row INSERT
	// temp.batch holds the new versions not yet applied to the interval
	// tables (vid: the version each closes), in the order they get their
	// ids: its rowids count from 1, so a version's id is the largest when
	// it is applied plus its rowid. temp.act holds the activity of versions
	// that did not change.
	batchTable = `CREATE TEMP TABLE batch (
	vid INTEGER, kind INTEGER NOT NULL, ext_id TEXT NOT NULL, hash BLOB NOT NULL,
	last_sign_in INTEGER, sign_ins INTEGER, failed_sign_ins INTEGER,
	principal_id TEXT, resource_id TEXT, entitlement_id TEXT, email TEXT,
	email_verified INTEGER, username TEXT, name TEXT, status TEXT, type TEXT,
	external_id TEXT, created_at TEXT, raw TEXT)`
	actTable = `CREATE TEMP TABLE act (
	vid INTEGER NOT NULL, last_sign_in INTEGER, sign_ins INTEGER, failed_sign_ins INTEGER)`
	batchInsert = `INSERT OR ROLLBACK INTO temp.batch VALUES `
	actInsert   = `INSERT OR ROLLBACK INTO temp.act VALUES `
	// A version's id is left to SQLite, which gives a new row the largest
	// id plus one: an explicit id would make every multi-row INSERT keep a
	// statement journal, since a value that is not an integer would abort
	// just that statement. write checks the ids it expects.
	versionsInsert = `INSERT OR ROLLBACK INTO versions (source_id, kind, ext_id, valid_from, hash,
	principal_id, resource_id, entitlement_id, email, email_verified, username, name, status, type,
	external_id, created_at, raw) VALUES `
	dropTemp       = "DROP TABLE IF EXISTS temp.batch; DROP TABLE IF EXISTS temp.act"
	activityInsert = `INSERT OR ROLLBACK INTO activity (version_id, valid_from, last_sign_in, sign_ins, failed_sign_ins) VALUES `
	closeVersion   = `UPDATE OR ROLLBACK versions SET valid_to = ? WHERE id = ?`
)

// inserter is a multi-row INSERT prepared for chunkRows rows and for one.
type inserter struct {
	chunk, one *sql.Stmt
	cols       int
}

func (in *inserter) prepare(ctx context.Context, c *sql.Conn, insert string, cols int) (err error) {
	in.cols = cols
	if in.chunk, err = c.PrepareContext(ctx, valuesSQL(insert, cols, chunkRows)); err != nil {
		return err
	}
	in.one, err = c.PrepareContext(ctx, valuesSQL(insert, cols, 1))
	return err
}

func (in *inserter) close() {
	for _, st := range []*sql.Stmt{in.chunk, in.one} {
		if st != nil {
			st.Close()
		}
	}
}

func valuesSQL(insert string, cols, rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return insert + strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

// exec inserts n rows, add appending row i's values to args; done, when
// not nil, sees each statement's result and its number of rows.
func (in *inserter) exec(ctx context.Context, n int, add func(args []any, i int) []any, done func(sql.Result, int) error) error {
	args := make([]any, 0, chunkRows*in.cols)
	for i := 0; i < n; {
		k, q := chunkRows, in.chunk
		if n-i < chunkRows {
			k, q = 1, in.one
		}
		args = args[:0]
		for j := i; j < i+k; j++ {
			args = add(args, j)
		}
		res, err := q.ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		if done != nil {
			if err := done(res, k); err != nil {
				return err
			}
		}
		i += k
	}
	return nil
}

// Stage begins a pull of src. It uses only the source's name, provider,
// base URL, org id and project slug: never its secrets.
func (db *DB) Stage(ctx context.Context, src idsnap.Source) (*Stage, error) {
	if src.Name == "" {
		return nil, errors.New("stage: source has no name")
	}
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, db.dbError("stage", err)
	}
	s := &Stage{db: db, src: src, conn: conn, takenAt: db.now().UTC()}
	s.startIndex()
	// The Stage inserts only versions of the source row and activity of
	// the versions it inserts, all in the transaction that inserts the
	// snapshot row they refer to, so foreign key enforcement on its own
	// connection checks nothing it does not already know, at a price: three
	// lookups a version, and a statement journal for every multi-row
	// statement (a foreign key failure must undo just that statement), most
	// of a first pull's writes. release turns it back on before the
	// connection returns to the pool; check's foreign_key_check still
	// audits the result. The pragma is a no-op inside a transaction, so it
	// is set here, before any.
	_, err = conn.ExecContext(ctx, "PRAGMA foreign_keys = 0")
	if err == nil {
		err = s.begin(ctx)
	}
	for _, q := range []string{dropTemp, batchTable, actTable} {
		if err == nil {
			_, err = conn.ExecContext(ctx, q)
		}
	}
	if err == nil {
		err = s.stashVers.prepare(ctx, conn, batchInsert, 19)
	}
	if err == nil {
		err = s.stashActs.prepare(ctx, conn, actInsert, 4)
	}
	if err == nil {
		err = s.versions.prepare(ctx, conn, versionsInsert, 17)
	}
	if err == nil {
		err = s.activity.prepare(ctx, conn, activityInsert, 5)
	}
	if err == nil {
		s.closeVer, err = conn.PrepareContext(ctx, closeVersion)
	}
	if err != nil {
		if s.idx != nil {
			s.idx.release()
		}
		s.closeStmts()
		closeConn(conn)
		return nil, db.dbError("stage "+src.Name, err)
	}
	s.batches, s.written = make(chan batch, 1), make(chan struct{})
	s.wctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go s.writer()
	return s, nil
}

// writer writes batches until the channel closes; after an error it only
// drains, and Put, Commit and Abort report the error.
func (s *Stage) writer() {
	defer close(s.written)
	for b := range s.batches {
		if s.writerErr.Load() != nil {
			continue
		}
		if err := s.flush(s.wctx, b.rows); err != nil {
			s.writerErr.Store(&err)
		}
	}
}

// Put adds one record to the pull. It has fetch.Emit's shape and is safe
// for concurrent use. Records are written in batches, so a duplicate (same
// kind and id) is reported by a later Put or by Commit.
func (s *Stage) Put(ctx context.Context, r idsnap.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rw, form, err := prepareForm(r)
	if err != nil {
		return fmt.Errorf("stage %s: %w", s.src.Name, err)
	}
	if unchanged, err := s.compare(&rw, r); err != nil || unchanged {
		form.Release()
		return err
	}
	rw.raw = string(form.Bytes())
	form.Release()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	s.buf = append(s.buf, rw)
	if len(s.buf) >= batchRows {
		// Sending under the lock is the backpressure: Puts wait while the
		// writer is a batch behind.
		s.batches <- batch{s.buf}
		s.buf = make([]row, 0, batchRows)
	}
	return nil
}

// compare looks rw up in the index: an unchanged record needs no row, one
// that only signed in becomes an activity row of its version, a changed
// one closes its version. A record seen twice poisons the Stage.
func (s *Stage) compare(rw *row, r idsnap.Record) (unchanged bool, err error) {
	s.idxMu.RLock()
	defer s.idxMu.RUnlock()
	i := s.idx.find(rw.key)
	if i < 0 {
		return false, nil
	}
	e := &s.idx.ents[i]
	if s.idx.mark(i) {
		err := fmt.Errorf("stage %s: duplicate %s %q", s.src.Name, r.Kind, r.ID)
		s.writerErr.CompareAndSwap(nil, &err)
		return false, err
	}
	rw.vid = e.vid
	if hashFP(rw.hash) != e.hash {
		s.idx.replace(i)
		return false, nil
	}
	if actFP(rw.lastSignIn, rw.signIns, rw.failedIn) == e.act {
		return true, nil
	}
	s.idx.replace(i)
	rw.actOnly = true
	return false, nil
}

func (s *Stage) usable() error {
	if err := s.writerErr.Load(); err != nil {
		return *err
	}
	if s.done {
		return fmt.Errorf("stage %s: already committed or aborted", s.src.Name)
	}
	return nil
}

// finish hands the last batch to the writer and waits for it; the caller
// holds mu and has checked usable.
func (s *Stage) finish() error {
	s.done = true
	if len(s.buf) > 0 {
		s.batches <- batch{s.buf}
		s.buf = nil
	}
	close(s.batches)
	<-s.written
	if err := s.writerErr.Load(); err != nil {
		return *err
	}
	return nil
}

// flush writes one batch. Holding the write lock (or able to take it at
// once), the Stage writes it straight to the interval tables, after what
// waited in the TEMP tables. Before that, each batch is its own
// transaction on the TEMP tables only, which takes no lock on the database.
func (s *Stage) flush(ctx context.Context, rows []row) error {
	if s.tx == nil {
		if err := s.lock(ctx, false); err != nil {
			return err
		}
	}
	if s.tx == nil {
		return s.stash(ctx, rows)
	}
	if err := s.apply(ctx); err != nil {
		return err
	}
	if err := s.write(ctx, rows); err != nil {
		return s.db.dbError("stage "+s.src.Name, err)
	}
	return s.wrote(ctx, len(rows))
}

// stash keeps rows in the TEMP tables for apply once the Stage holds the
// lock, sorted by key as write would insert them.
func (s *Stage) stash(ctx context.Context, rows []row) error {
	c, op := s.conn, "stage "+s.src.Name
	sortRows(rows)
	vers := make([]int, 0, len(rows))
	acts := make([]int, 0, len(rows))
	for i := range rows {
		if rows[i].actOnly {
			acts = append(acts, i)
		} else {
			vers = append(vers, i)
		}
	}
	if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
		return s.db.dbError(op, err)
	}
	err := s.stashVers.exec(ctx, len(vers), func(args []any, i int) []any {
		r := &rows[vers[i]]
		var vid any
		if r.vid != 0 {
			vid = r.vid
		}
		return append(args, vid, r.kind, r.id, r.hash, r.lastSignIn, r.signIns, r.failedIn,
			r.principal, r.resource, r.entitle, r.email, r.verified, r.username, r.name,
			r.status, r.typ, r.externalID, r.createdAt, r.raw)
	}, nil)
	if err == nil {
		err = s.stashActs.exec(ctx, len(acts), func(args []any, i int) []any {
			r := &rows[acts[i]]
			return append(args, r.vid, r.lastSignIn, r.signIns, r.failedIn)
		}, nil)
	}
	if err == nil {
		_, err = c.ExecContext(ctx, "COMMIT")
	}
	if err != nil {
		c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return s.db.dbError(op, err)
	}
	s.waiting += len(rows)
	for _, i := range vers {
		s.staged = append(s.staged, staged{ent: rowEntry(&rows[i], rows[i].vid), newVersion: true})
	}
	for _, i := range acts {
		s.staged = append(s.staged, staged{ent: rowEntry(&rows[i], rows[i].vid)})
	}
	return nil
}

// rowEntry is the index entry of r as version vid.
func rowEntry(r *row, vid int64) entry {
	return entry{key: r.key, hash: hashFP(r.hash), act: actFP(r.lastSignIn, r.signIns, r.failedIn), vid: vid}
}

// sortRows sorts rows by key, the order of versions_key.
func sortRows(rows []row) {
	slices.SortFunc(rows, func(a, b row) int {
		if c := cmp.Compare(a.kind, b.kind); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
}

// write applies rows to the interval tables as snapshot tx.snapID, this
// Stage holding the write lock. Put has already compared each record with
// the source's current versions, so nothing is looked up: a row closes the
// version it names and inserts its own, or adds activity to the version
// it names. New versions go in key order, so one batch's index inserts are
// near each other, and take the ids after the largest: no other writer can
// insert while this Stage holds the lock, so their activity rows know them.
func (s *Stage) write(ctx context.Context, rows []row) error {
	sortRows(rows)
	var last int64
	if err := s.conn.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM versions").Scan(&last); err != nil {
		return err
	}
	snap := s.tx.snapID
	// Boxed once rather than for each row they are bound to.
	snapV, srcV := any(snap), any(s.tx.srcID)
	vers := make([]int, 0, len(rows)) // rows that are new versions
	acts := make([]int, 0, len(rows)) // rows with activity to record
	ids := make([]int64, len(rows))   // the version each row's activity is of
	for i := range rows {
		r := &rows[i]
		if r.actOnly {
			ids[i] = r.vid
			acts = append(acts, i)
			continue
		}
		if r.vid != 0 {
			if _, err := s.closeVer.ExecContext(ctx, snapV, r.vid); err != nil {
				return err
			}
		}
		vers = append(vers, i)
		ids[i] = last + int64(len(vers))
		// Activity is recorded where it differs from the version's latest
		// row: for a new version, where there is any.
		if r.lastSignIn != nil || r.signIns != nil || r.failedIn != nil {
			acts = append(acts, i)
		}
	}
	err := s.versions.exec(ctx, len(vers), func(args []any, i int) []any {
		r := &rows[vers[i]]
		return append(args, srcV, r.kind, r.id, snapV, r.hash, r.principal, r.resource, r.entitle,
			r.email, r.verified, r.username, r.name, r.status, r.typ, r.externalID, r.createdAt, r.raw)
	}, func(res sql.Result, n int) error {
		got, err := res.LastInsertId()
		if last += int64(n); err == nil && got != last {
			err = fmt.Errorf("new versions got ids up to %d, not %d", got, last)
		}
		return err
	})
	if err != nil {
		return err
	}
	err = s.activity.exec(ctx, len(acts), func(args []any, i int) []any {
		r := &rows[acts[i]]
		return append(args, ids[acts[i]], snapV, r.lastSignIn, r.signIns, r.failedIn)
	}, nil)
	if err != nil {
		return err
	}
	for i := range rows {
		s.iw.change(rowEntry(&rows[i], ids[i]))
	}
	return nil
}

// begin reads, in one read transaction, the source's latest snapshot and
// its current versions, so the index is the state that snapshot left:
// Commit's check that no other snapshot followed it keeps them true.
func (s *Stage) begin(ctx context.Context) error {
	if _, err := s.conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	var n int
	var chain, takenAt string
	err := s.conn.QueryRowContext(ctx, `SELECT s.id, s.users + s.resources + s.entitlements + s.grants, s.chain_digest, s.taken_at
		FROM snapshots s JOIN sources o ON o.id = s.source_id WHERE o.name = ? ORDER BY s.id DESC LIMIT 1`, s.src.Name).Scan(&s.lastID, &n, &chain, &takenAt)
	s.idx = &index{}
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	} else if err == nil {
		var ok bool
		if s.idx, ok = s.db.readPullIndex(s.src.Name, s.lastID, n, chain, takenAt); !ok {
			s.idx, err = loadIndex(ctx, s.conn, s.src.Name, n)
		}
	}
	if _, cerr := s.conn.ExecContext(context.WithoutCancel(ctx), "COMMIT"); err == nil {
		err = cerr
	}
	return err
}

// SetOrg names the tenant the pull read when the source's configuration
// did not (ZITADEL's detected org); Commit stores it in the snapshot.
func (s *Stage) SetOrg(org string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if org != "" {
		s.src.Tenant = org
	}
}

// SetPull records how the pull ran; Commit stores it with the snapshot.
func (s *Stage) SetPull(p idsnap.PullInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pull = &p
}

// Abort discards the pull. It is idempotent and safe after Commit.
func (s *Stage) Abort() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil
	}
	s.buf = nil
	s.cancel()
	s.finish()
	return s.release()
}

// release rolls back a write transaction still open, drops the TEMP
// tables and hands the connection back.
func (s *Stage) release() error {
	s.cancel()
	s.iw.discard(false)
	s.idxMu.Lock()
	s.idx.release()
	s.idxMu.Unlock()
	s.closeStmts()
	ctx := context.Background()
	s.unlock(ctx, "ROLLBACK")
	_, err := s.conn.ExecContext(ctx, dropTemp)
	if cerr := closeConn(s.conn); err == nil {
		err = cerr
	}
	return err
}

func (s *Stage) closeStmts() {
	s.stashVers.close()
	s.stashActs.close()
	s.versions.close()
	s.activity.close()
	if s.closeVer != nil {
		s.closeVer.Close()
	}
}

// closeConn hands a Stage's connection back to the pool with the DSN's
// settings the Stage changed: foreign keys enforced again, and readers'
// page cache (readCache) rather than a writer's. A pooled connection must
// never lack them, so one that cannot be restored is discarded.
func closeConn(conn *sql.Conn) error {
	_, err := conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA foreign_keys = 1; PRAGMA cache_size = %d", readCache))
	if err != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn })
		return err
	}
	return conn.Close()
}

// prepare validates a record, canonicalizes its Raw and hashes its
// attributes: all work done outside the Stage's lock, so concurrent
// callers canonicalize in parallel.
func prepare(r idsnap.Record) (row, error) {
	rw, form, err := prepareForm(r)
	if err == nil {
		rw.raw = string(form.Bytes())
		form.Release()
	}
	return rw, err
}

// prepareForm is prepare that leaves rw.raw empty and returns the
// canonical Raw, whose bytes it hashed, for the caller to copy into
// rw.raw if it keeps the row (and Release either way): most records of a
// re-pull are unchanged, and the copy of each one's Raw was garbage.
func prepareForm(r idsnap.Record) (row, jsonbytes.Form, error) {
	var none jsonbytes.Form
	code, ok := kindCode[r.Kind]
	if !ok {
		return row{}, none, fmt.Errorf("record %q: unknown kind %q", r.ID, r.Kind)
	}
	if r.ID == "" {
		return row{}, none, fmt.Errorf("%s with an empty id", r.Kind)
	}
	var form jsonbytes.Form
	if len(bytes.TrimSpace(r.Raw)) > 0 {
		var err error
		if form, err = jsonbytes.CanonicalForm(r.Raw); err != nil {
			return row{}, none, fmt.Errorf("%s %q: raw: %w", r.Kind, r.ID, err)
		}
	}
	rw := row{
		kind: code, id: r.ID,
		principal: r.PrincipalID, resource: r.ResourceID, entitle: r.EntitlementID,
		email: r.Email, username: r.Username, name: r.Name, status: string(r.Status),
		typ: string(r.Type), externalID: r.ExternalID, createdAt: formatTime(r.CreatedAt),
	}
	if r.EmailVerified != nil {
		rw.verified = boolInt(*r.EmailVerified)
	}
	if a := r.Activity; a != nil {
		rw.signIns, rw.failedIn = a.SignIns, a.FailedSignIns
		if !a.LastSignIn.IsZero() {
			rw.lastSignIn = a.LastSignIn.Unix() // kept to the second
		}
	}
	rw.hash = hashRow(&rw, form.Bytes())
	rw.key = keyOf(code, r.ID)
	return rw, form, nil
}

// hashRow is SHA-256 over the attributes, each length-prefixed so no two
// records share an encoding. Activity is left out: a sign-in is not a change.
//
// The fields go into one pooled buffer hashed at once: writing each to a
// hash.Hash copied it to the heap first (the interface call lets the
// []byte(s) escape), Raw included.
func hashRow(r *row, raw []byte) []byte {
	bp := hashBufs.Get().(*[]byte)
	b := (*bp)[:0]
	for _, f := range [...]string{string(kindOf(r.kind)), r.id, r.principal, r.resource, r.entitle,
		r.email, verifiedText(r.verified), r.username, r.name, r.status, r.typ, r.externalID, r.createdAt} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.AppendUvarint(b, uint64(len(raw)))
	b = append(b, raw...)
	sum := sha256.Sum256(b)
	if cap(b) <= 64<<10 { // a rare huge Raw is not kept for the pool's life
		*bp = b
		hashBufs.Put(bp)
	}
	return sum[:]
}

var hashBufs = sync.Pool{New: func() any { return new([]byte) }}

// verifiedText is how hashRow writes email_verified: as fmt.Sprint does.
func verifiedText(v any) string {
	switch v {
	case nil:
		return ""
	case 0:
		return "0"
	case 1:
		return "1"
	}
	return fmt.Sprint(v)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// formatTime is the stored form of a time: RFC 3339 in UTC, "" for zero.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
