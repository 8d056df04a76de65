package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/idsnap/idsnap"
)

// Commit turns the pull into a snapshot and makes it visible, in the one
// transaction the Stage holds or takes now: it applies the batches still
// waiting, closes the versions that vanished, and fills in the snapshot
// row's counts and digests. Before it commits, readers see none of it.
//
// Snapshots of one source are strictly sequential. Commit waits for the
// other Stages of this process, and up to the busy timeout for another
// process's writer, and fails with ErrConcurrentPull when a snapshot of the
// same source was committed after this Stage began: the two pulls
// overlapped, and this one may hold data older than its predecessor's.
// After Commit, successful or not, the Stage is finished.
func (s *Stage) Commit(ctx context.Context) (idsnap.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return idsnap.Snapshot{}, s.usable()
	}
	// finish also ends a stage poisoned by a failed batch, so the caller
	// need not Abort after a failed Commit.
	if err := s.finish(); err != nil {
		s.release()
		return idsnap.Snapshot{}, err
	}
	snap, err := s.commit(ctx)
	if rerr := s.release(); err == nil && rerr != nil {
		// The snapshot is committed; only the scratch tables linger.
		return snap, nil
	}
	return snap, err
}

func (s *Stage) commit(ctx context.Context) (idsnap.Snapshot, error) {
	op := "commit " + s.src.Name
	if s.tx == nil {
		if err := s.lock(ctx, true); err != nil {
			return idsnap.Snapshot{}, err
		}
	}
	if err := s.apply(ctx); err != nil {
		return idsnap.Snapshot{}, err
	}
	tx, c := s.tx, s.conn
	if err := s.closeVanished(ctx); err != nil {
		return idsnap.Snapshot{}, s.db.dbError(op, err)
	}
	snap := idsnap.Snapshot{
		ID: tx.snapID, Source: s.src.Name, Provider: s.src.Provider, BaseURL: s.src.BaseURL,
		Org: s.src.Tenant, TakenAt: s.takenAt, Counts: map[idsnap.Kind]int64{},
	}
	var read tally
	var err error
	if snap.Digest, err = s.digest(ctx, snap.Counts, &read); err != nil {
		return idsnap.Snapshot{}, fmt.Errorf("%s: %w", op, err)
	}
	indexOK := s.iw.entries(s.idx, read)
	snap.ChainDigest = chainDigest(tx.prevChain, snap.Digest)
	var pull any // NULL when the caller recorded nothing
	if s.pull != nil {
		b, err := json.Marshal(s.pull)
		if err != nil {
			return idsnap.Snapshot{}, fmt.Errorf("%s: encode pull record: %w", op, err)
		}
		pull, snap.Pull = string(b), s.pull
	}
	_, err = c.ExecContext(ctx, `UPDATE snapshots SET org = ?, users = ?, resources = ?,
		entitlements = ?, grants = ?, digest = ?, chain_digest = ?, pull = ? WHERE id = ?`,
		snap.Org, snap.Counts[idsnap.KindUser], snap.Counts[idsnap.KindResource],
		snap.Counts[idsnap.KindEntitlement], snap.Counts[idsnap.KindGrant],
		snap.Digest, snap.ChainDigest, pull, snap.ID)
	if err != nil {
		return idsnap.Snapshot{}, s.db.dbError(op, err)
	}
	if snap.Previous, err = s.previous(ctx); err != nil {
		return idsnap.Snapshot{}, s.db.dbError(op, err)
	}
	committing := time.Now()
	if err := s.unlock(ctx, "COMMIT"); err != nil {
		return idsnap.Snapshot{}, s.db.dbError(op, err)
	}
	// The snapshot is committed: the index file follows it, or the
	// previous one, which no longer names the latest snapshot, goes.
	if t, ok := wantTrailer(s.src.Name, snap.ID, 0, snap.ChainDigest, formatTime(s.takenAt)); ok && indexOK {
		s.iw.commit(t)
	} else {
		s.iw.discard(true)
	}
	s.iw.sweep(committing)
	return snap, nil
}

// previous reads, inside the commit's transaction, the source's snapshot
// before the one being committed, so the caller can say when the tenant
// changed (idsnap.Snapshot.TenantChange); nil for a source's first.
func (s *Stage) previous(ctx context.Context) (*idsnap.Snapshot, error) {
	prev, err := scanSnapshot(s.conn.QueryRowContext(ctx, `SELECT `+snapshotCols+` FROM snapshots s
		JOIN sources o ON o.id = s.source_id WHERE s.source_id = ? AND s.id < ? ORDER BY s.id DESC LIMIT 1`,
		s.tx.srcID, s.tx.snapID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &prev, nil
}

// lock takes the database's write lock for this Stage: first this
// process's turn, then SQLite's lock, then the snapshot row. With wait
// false it gives up at once, leaving s.tx nil, when either is taken.
// Holding the lock, it checks that no snapshot of the source was committed
// since the Stage began.
func (s *Stage) lock(ctx context.Context, wait bool) (err error) {
	op := "commit " + s.src.Name
	if wait {
		select {
		case s.db.writeTurn <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", op, ctx.Err())
		}
	} else {
		select {
		case s.db.writeTurn <- struct{}{}:
		default:
			return nil
		}
	}
	c := s.conn
	begin := func() error {
		_, err := c.ExecContext(ctx, "BEGIN IMMEDIATE")
		return err
	}
	if !wait {
		// The connection's busy timeout would stall the fetch behind
		// another process's writer; this attempt must not wait at all.
		begin = func() error {
			if _, err := c.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
				return err
			}
			_, err := c.ExecContext(ctx, "BEGIN IMMEDIATE")
			if _, rerr := c.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout.Milliseconds())); err == nil {
				err = rerr
			}
			return err
		}
	}
	if err := begin(); err != nil {
		<-s.db.writeTurn
		if !wait && sqliteCode(err) == sqlite3.SQLITE_BUSY {
			return nil
		}
		return s.db.dbError(op, err)
	}
	tx := &snapTx{}
	s.tx = tx
	defer func() {
		if err != nil {
			s.unlock(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if _, err := c.ExecContext(ctx, "INSERT INTO sources (name) VALUES (?) ON CONFLICT (name) DO NOTHING", s.src.Name); err != nil {
		return s.db.dbError(op, err)
	}
	if err := c.QueryRowContext(ctx, "SELECT id FROM sources WHERE name = ?", s.src.Name).Scan(&tx.srcID); err != nil {
		return s.db.dbError(op, err)
	}
	var last int64
	err = c.QueryRowContext(ctx, "SELECT id, chain_digest FROM snapshots WHERE source_id = ? ORDER BY id DESC LIMIT 1", tx.srcID).Scan(&last, &tx.prevChain)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return s.db.dbError(op, err)
	}
	if last != s.lastID {
		return fmt.Errorf("%s: snapshot %d of this source was committed while this pull ran (%w); pull again", op, last, ErrConcurrentPull)
	}
	// Counts and digests are filled in by Commit; the row exists now
	// because the versions this transaction inserts refer to it.
	err = c.QueryRowContext(ctx, `INSERT INTO snapshots (source_id, provider, base_url, org, taken_at,
		users, resources, entitlements, grants, digest, chain_digest)
		VALUES (?, ?, ?, '', ?, 0, 0, 0, 0, '', '') RETURNING id`,
		tx.srcID, s.src.Provider, s.src.BaseURL, formatTime(s.takenAt)).Scan(&tx.snapID)
	if err != nil {
		return s.db.dbError(op, err)
	}
	return nil
}

// unlock ends the write transaction with verb (COMMIT or ROLLBACK) and
// gives up this process's turn. Without a transaction it does nothing.
func (s *Stage) unlock(ctx context.Context, verb string) error {
	if s.tx == nil {
		return nil
	}
	_, err := s.conn.ExecContext(ctx, verb)
	if err != nil && verb == "COMMIT" {
		s.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	}
	s.tx = nil
	<-s.db.writeTurn
	return err
}

// apply moves the rows waiting in the TEMP tables into the interval tables
// as snapshot tx.snapID, then empties them.
func (s *Stage) apply(ctx context.Context) error {
	if s.waiting == 0 {
		return nil
	}
	op := "stage " + s.src.Name
	var base, n, maxRowid int64
	err := s.conn.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(id), 0) FROM versions),
		count(*), coalesce(max(rowid), 0) FROM temp.batch`).Scan(&base, &n, &maxRowid)
	if err != nil {
		return s.db.dbError(op, err)
	}
	if n != maxRowid {
		return fmt.Errorf("%s: temp.batch holds %d rows numbered up to %d", op, n, maxRowid)
	}
	args := []any{sql.Named("new", s.tx.snapID), sql.Named("src", s.tx.srcID), sql.Named("base", base)}
	for _, q := range applySQL {
		res, err := s.conn.ExecContext(ctx, q, args...)
		if err != nil {
			return s.db.dbError(op, err)
		}
		if q != applySQL[1] {
			continue
		}
		// The versions' activity assumed these ids.
		if last, err := res.LastInsertId(); err != nil || (n > 0 && last != base+n) {
			return fmt.Errorf("%s: new versions got ids up to %d, not %d (%v)", op, last, base+n, err)
		}
	}
	k, rows := base, len(s.staged)
	for _, st := range s.staged {
		if st.newVersion {
			k++
			st.ent.vid = k // as applySQL numbers it: :base + rowid
		}
		s.iw.change(st.ent)
	}
	s.waiting, s.staged = 0, s.staged[:0]
	return s.wrote(ctx, rows)
}

// wrote counts n rows written; past bigWrite it raises the connection's
// page cache to writeCache, so fewer dirty pages spill to the WAL before
// the commit.
func (s *Stage) wrote(ctx context.Context, n int) error {
	s.applied += n
	if s.applied >= bigWrite && !s.bigCache {
		s.bigCache = true
		if _, err := s.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = %d", writeCache)); err != nil {
			return s.db.dbError("stage "+s.src.Name, err)
		}
	}
	return nil
}

// applySQL applies the rows of the TEMP tables as snapshot :new of source
// :src. Put has already compared each record with the source's current
// versions, so no statement looks a key up: a row of temp.batch closes the
// version it names and inserts its own, one of temp.act adds activity to
// the version it names.
//
// New versions are inserted in temp.batch's order, so SQLite numbers them
// from :base, the largest id when they are applied (this Stage holds the
// write lock), plus one: a version's id is :base plus its row's rowid, and
// its activity needs no lookup either. Leaving the id to SQLite spares the
// INSERT a statement journal, as OR ROLLBACK spares every statement: a
// constraint failure ends the whole pull anyway.
var applySQL = []string{
	`UPDATE OR ROLLBACK versions SET valid_to = :new WHERE id IN (
		SELECT vid FROM temp.batch WHERE vid IS NOT NULL)`,
	`INSERT OR ROLLBACK INTO versions (source_id, kind, ext_id, valid_from, hash, principal_id, resource_id,
		entitlement_id, email, email_verified, username, name, status, type, external_id, created_at, raw)
	SELECT :src, kind, ext_id, :new, hash, principal_id, resource_id,
		entitlement_id, email, email_verified, username, name, status, type, external_id, created_at, raw
	FROM temp.batch ORDER BY rowid`,
	// Activity is recorded where it differs from the version's latest
	// row: for a new version, where there is any.
	`INSERT OR ROLLBACK INTO activity (version_id, valid_from, last_sign_in, sign_ins, failed_sign_ins)
	SELECT :base + rowid, :new, last_sign_in, sign_ins, failed_sign_ins
	FROM temp.batch WHERE (last_sign_in, sign_ins, failed_sign_ins) IS NOT (NULL, NULL, NULL)`,
	`INSERT OR ROLLBACK INTO activity (version_id, valid_from, last_sign_in, sign_ins, failed_sign_ins)
	SELECT vid, :new, last_sign_in, sign_ins, failed_sign_ins FROM temp.act`,
	`DELETE FROM temp.batch`,
	`DELETE FROM temp.act`,
}

// closeVanished closes, once every batch is applied, the current versions
// of records this pull did not see.
func (s *Stage) closeVanished(ctx context.Context) error {
	var stmt *sql.Stmt
	for i, e := range s.idx.ents {
		if s.idx.wasSeen(i) {
			continue
		}
		if stmt == nil {
			var err error
			if stmt, err = s.conn.PrepareContext(ctx, "UPDATE OR ROLLBACK versions SET valid_to = ? WHERE id = ?"); err != nil {
				return err
			}
			defer stmt.Close()
		}
		if _, err := stmt.ExecContext(ctx, s.tx.snapID, e.vid); err != nil {
			return err
		}
	}
	return nil
}

// digestSQL reads the snapshot's records in canonical order once every
// change is applied: they are the source's current versions. The covering
// versions_key scan reads no table rows.
const digestSQL = `SELECT kind, ext_id, hash, id FROM versions INDEXED BY versions_key
	WHERE source_id = ? AND valid_to IS NULL ORDER BY kind, ext_id`

// digest computes the snapshot's content digest and counts. The digest is
// SHA-256 over one line per record in canonical order (kind as in
// idsnap.Kinds, then id bytewise): kind NUL id NUL hex(attribute hash) LF.
// A key read twice is a record the pull staged twice as new. read tallies
// the versions read, for the pull index to be checked against.
func (s *Stage) digest(ctx context.Context, counts map[idsnap.Kind]int64, read *tally) (string, error) {
	h := sha256.New()
	var line []byte
	var lastKind int64
	var lastID string
	err := rawQuery(ctx, s.conn, digestSQL, []driver.NamedValue{{Ordinal: 1, Value: s.tx.srcID}}, func(v []driver.Value) error {
		code, _ := i64(v[0])
		id := str(v[1])
		hash, _ := v[2].([]byte)
		vid, _ := i64(v[3])
		read.add(hashFP(hash), vid)
		k := kindOf(int(code))
		if code == lastKind && id == lastID {
			return fmt.Errorf("duplicate %s %q", k, id)
		}
		lastKind, lastID = code, id
		counts[k]++
		line = append(line[:0], k...)
		line = append(line, 0)
		line = append(line, id...)
		line = append(line, 0)
		line = hex.AppendEncode(line, hash)
		line = append(line, '\n')
		h.Write(line)
		return nil
	})
	if err != nil {
		return "", err
	}
	for _, k := range idsnap.Kinds {
		counts[k] += 0 // every kind present, zero or not
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// chainDigest links a snapshot to its source's previous one, so history
// cannot be rewritten without changing every later chain digest: SHA-256
// over the previous chain digest's bytes (none for the first snapshot)
// followed by the digest's bytes.
func chainDigest(prev, digest string) string {
	p, _ := hex.DecodeString(prev)
	d, _ := hex.DecodeString(digest)
	sum := sha256.Sum256(append(p, d...))
	return hex.EncodeToString(sum[:])
}
