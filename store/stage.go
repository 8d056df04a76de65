package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
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
// committing, or another process writes) batches wait in a TEMP table,
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

	conn    *sql.Conn
	chunk   *sql.Stmt // prepared once: re-preparing costs more than the insert
	one     *sql.Stmt
	batches chan batch
	written chan struct{} // closed when the writer has finished
	// wctx is the writer's own context. Batches outlive the Put that
	// filled them: a fetcher emits from a pool whose context ends when the
	// pool does, while its last batch may still be queued. Abort cancels it.
	wctx      context.Context
	cancel    context.CancelFunc
	writerErr atomic.Pointer[error]

	// The writer owns these until it has finished, then Commit does.
	tx      *snapTx // non-nil while this Stage holds the write lock
	waiting int     // rows in temp.batch not applied yet
	// staged are the index entries of the rows in temp.batch, in the
	// order of their seq; apply hands them to iw once it knows the ids
	// of the versions they insert.
	staged []staged
	iw     indexWriter
	// applied counts the rows applied; past bigWrite the connection's
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
	bigWrite  = 16 << 10 // rows applied before the Stage raises its page cache
	stageCols = 21
	batchRows = 2048 // rows per staging transaction and per applied batch
	chunkRows = 128  // rows per multi-row INSERT
	// temp.batch holds rows not yet applied to the interval tables, in
	// arrival order.
	// seq, its rowid, is the row's place in staged.
	batchTable = `CREATE TEMP TABLE batch (
	seq INTEGER PRIMARY KEY, vid INTEGER, act_only INTEGER NOT NULL,
	kind INTEGER NOT NULL, ext_id TEXT NOT NULL, hash BLOB NOT NULL,
	last_sign_in INTEGER, sign_ins INTEGER, failed_sign_ins INTEGER,
	principal_id TEXT, resource_id TEXT, entitlement_id TEXT, email TEXT,
	email_verified INTEGER, username TEXT, name TEXT, status TEXT, type TEXT,
	external_id TEXT, created_at TEXT, raw TEXT)`
	batchInsert = `INSERT OR ROLLBACK INTO temp.batch VALUES `
)

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
	err = s.begin(ctx)
	for _, q := range []string{"DROP TABLE IF EXISTS temp.batch", batchTable} {
		if err == nil {
			_, err = conn.ExecContext(ctx, q)
		}
	}
	if err == nil {
		s.chunk, err = conn.PrepareContext(ctx, chunkSQL)
	}
	if err == nil {
		s.one, err = conn.PrepareContext(ctx, oneSQL)
	}
	if err != nil {
		if s.idx != nil {
			s.idx.release()
		}
		conn.Close()
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
	rw, err := prepare(r)
	if err != nil {
		return fmt.Errorf("stage %s: %w", s.src.Name, err)
	}
	if unchanged, err := s.compare(&rw, r); err != nil || unchanged {
		return err
	}
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

// flush writes one batch to temp.batch, then applies what waits there when this Stage holds (or can take at once) the
// write lock. Before the lock is held, each batch is its own transaction
// on the TEMP table only, which takes no lock on the database.
func (s *Stage) flush(ctx context.Context, rows []row) error {
	c, op := s.conn, "stage "+s.src.Name
	if s.tx == nil {
		if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
			return s.db.dbError(op, err)
		}
	}
	err := s.insert(ctx, rows)
	if s.tx == nil {
		if err == nil {
			_, err = c.ExecContext(ctx, "COMMIT")
		}
		if err != nil {
			c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			return s.db.dbError(op, err)
		}
	}
	if err != nil {
		return s.db.dbError(op, err)
	}
	s.waiting += len(rows)
	if s.tx == nil {
		if err := s.lock(ctx, false); err != nil || s.tx == nil {
			return err
		}
	}
	return s.apply(ctx)
}

var chunkSQL, oneSQL = insertSQL(chunkRows), insertSQL(1)

func insertSQL(n int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", stageCols), ",") + ")"
	return batchInsert + strings.TrimSuffix(strings.Repeat(one+",", n), ",")
}

func (s *Stage) insert(ctx context.Context, rows []row) error {
	args := make([]any, 0, chunkRows*stageCols)
	for len(rows) > 0 {
		n, q := chunkRows, s.chunk
		if len(rows) < chunkRows {
			n, q = 1, s.one
		}
		args = args[:0]
		for _, r := range rows[:n] {
			var vid any
			if r.vid != 0 {
				vid = r.vid
			}
			e := entry{key: r.key, hash: hashFP(r.hash), act: actFP(r.lastSignIn, r.signIns, r.failedIn), vid: r.vid}
			s.staged = append(s.staged, staged{ent: e, newVersion: !r.actOnly})
			args = append(args, len(s.staged), vid, r.actOnly, r.kind, r.id, r.hash, r.lastSignIn, r.signIns, r.failedIn,
				r.principal, r.resource, r.entitle, r.email, r.verified, r.username, r.name,
				r.status, r.typ, r.externalID, r.createdAt, r.raw)
		}
		if _, err := q.ExecContext(ctx, args...); err != nil {
			return err
		}
		rows = rows[n:]
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
	var chain string
	err := s.conn.QueryRowContext(ctx, `SELECT s.id, s.users + s.resources + s.entitlements + s.grants, s.chain_digest FROM snapshots s
		JOIN sources o ON o.id = s.source_id WHERE o.name = ? ORDER BY s.id DESC LIMIT 1`, s.src.Name).Scan(&s.lastID, &n, &chain)
	s.idx = &index{}
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	} else if err == nil {
		var ok bool
		if s.idx, ok = s.db.readPullIndex(s.src.Name, s.lastID, n, chain); !ok {
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
	s.chunk.Close()
	s.one.Close()
	ctx := context.Background()
	s.unlock(ctx, "ROLLBACK")
	_, err := s.conn.ExecContext(ctx, "DROP TABLE IF EXISTS temp.batch")
	if s.bigCache && err == nil {
		// The connection goes back to the pool: readers get readCache.
		_, err = s.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = %d", readCache))
	}
	if cerr := s.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// prepare validates a record, canonicalizes its Raw and hashes its
// attributes: all work done outside the Stage's lock, so concurrent
// callers canonicalize in parallel.
func prepare(r idsnap.Record) (row, error) {
	code, ok := kindCode[r.Kind]
	if !ok {
		return row{}, fmt.Errorf("record %q: unknown kind %q", r.ID, r.Kind)
	}
	if r.ID == "" {
		return row{}, fmt.Errorf("%s with an empty id", r.Kind)
	}
	var raw []byte
	if len(bytes.TrimSpace(r.Raw)) > 0 {
		var err error
		if raw, err = jsonbytes.Canonical(r.Raw); err != nil {
			return row{}, fmt.Errorf("%s %q: raw: %w", r.Kind, r.ID, err)
		}
	}
	rw := row{
		kind: code, id: r.ID,
		principal: r.PrincipalID, resource: r.ResourceID, entitle: r.EntitlementID,
		email: r.Email, username: r.Username, name: r.Name, status: string(r.Status),
		typ: string(r.Type), externalID: r.ExternalID, createdAt: formatTime(r.CreatedAt),
		raw: string(raw),
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
	rw.hash = hashRow(&rw)
	rw.key = keyOf(code, r.ID)
	return rw, nil
}

// hashRow is SHA-256 over the attributes, each length-prefixed so no two
// records share an encoding. Activity is left out: a sign-in is not a change.
func hashRow(r *row) []byte {
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	put := func(s string) {
		h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	verified := ""
	if r.verified != nil {
		verified = fmt.Sprint(r.verified)
	}
	for _, f := range []string{string(kindOf(r.kind)), r.id, r.principal, r.resource, r.entitle,
		r.email, verified, r.username, r.name, r.status, r.typ, r.externalID, r.createdAt, r.raw} {
		put(f)
	}
	return h.Sum(nil)
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
