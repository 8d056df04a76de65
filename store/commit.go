package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

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
	if _, err := c.ExecContext(ctx, closeVanishedSQL, sql.Named("new", tx.snapID), sql.Named("src", tx.srcID)); err != nil {
		return idsnap.Snapshot{}, s.db.dbError(op, err)
	}
	snap := idsnap.Snapshot{
		ID: tx.snapID, Source: s.src.Name, Provider: s.src.Provider, BaseURL: s.src.BaseURL,
		Org: s.src.Tenant, TakenAt: s.takenAt, Counts: map[idsnap.Kind]int64{},
	}
	var err error
	if snap.Digest, err = s.digest(ctx, snap.Counts); err != nil {
		return idsnap.Snapshot{}, s.db.dbError(op, err)
	}
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
	if err := s.unlock(ctx, "COMMIT"); err != nil {
		return idsnap.Snapshot{}, s.db.dbError(op, err)
	}
	return snap, nil
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

// apply moves the rows waiting in temp.batch into the interval tables as
// snapshot tx.snapID, then empties temp.batch.
func (s *Stage) apply(ctx context.Context) error {
	if s.waiting == 0 {
		return nil
	}
	args := []any{sql.Named("new", s.tx.snapID), sql.Named("src", s.tx.srcID)}
	for _, q := range applySQL {
		if _, err := s.conn.ExecContext(ctx, q, args...); err != nil {
			return s.db.dbError("stage "+s.src.Name, err)
		}
	}
	s.waiting = 0
	return nil
}

// applySQL applies the rows of temp.batch as snapshot :new of source :src.
// The order matters: once changed versions are closed, a key with a
// current version is exactly an unchanged record. Every key is new to this
// snapshot (temp.seen refused duplicates), so a version starting at :new
// is one this batch inserted.
//
// OR ROLLBACK spares each statement a journal of the pages it changes,
// kept to undo just that statement should a constraint fail: a failure
// ends the whole pull anyway. CROSS JOIN keeps the batch the outer loop:
// temp.batch has no statistics, and the planner would otherwise scan the
// source's whole index once and the batch for every entry.
var applySQL = []string{
	// Close the current versions whose attributes changed. The covering
	// versions_key seek reads no table rows.
	`UPDATE OR ROLLBACK versions SET valid_to = :new WHERE id IN (
		SELECT v.id FROM temp.batch b CROSS JOIN versions v INDEXED BY versions_key
			ON v.source_id = :src AND v.kind = b.kind AND v.ext_id = b.ext_id
		WHERE v.valid_to IS NULL AND v.hash != b.hash)`,
	// Insert the new versions: every record without a current one, in key
	// order so the index inserts of one batch are near each other.
	`INSERT OR ROLLBACK INTO versions (source_id, kind, ext_id, valid_from, hash, principal_id, resource_id,
		entitlement_id, email, email_verified, username, name, status, type, external_id, created_at, raw)
	SELECT :src, kind, ext_id, :new, hash, principal_id, resource_id,
		entitlement_id, email, email_verified, username, name, status, type, external_id, created_at, raw
	FROM temp.batch b WHERE NOT EXISTS (
		SELECT 1 FROM versions v
		WHERE v.source_id = :src AND v.kind = b.kind AND v.ext_id = b.ext_id AND v.valid_to IS NULL)
	ORDER BY kind, ext_id`,
	// Record activity only where it differs from the version's latest row
	// (no row reads as all NULL, which is "no activity"). A version this
	// snapshot inserted has no row yet, so it needs no lookup; a continuing
	// one is compared with its latest row in one seek (descending on the
	// primary key), not a max() subquery and a second seek to that row.
	`INSERT OR ROLLBACK INTO activity (version_id, valid_from, last_sign_in, sign_ins, failed_sign_ins)
	SELECT v.id, :new, b.last_sign_in, b.sign_ins, b.failed_sign_ins
	FROM temp.batch b CROSS JOIN versions v
		ON v.source_id = :src AND v.kind = b.kind AND v.ext_id = b.ext_id AND v.valid_to IS NULL
	WHERE CASE WHEN v.valid_from = :new
		THEN (b.last_sign_in, b.sign_ins, b.failed_sign_ins) IS NOT (NULL, NULL, NULL)
		ELSE (b.last_sign_in, b.sign_ins, b.failed_sign_ins) IS NOT (
			SELECT last_sign_in, sign_ins, failed_sign_ins FROM activity
			WHERE version_id = v.id ORDER BY valid_from DESC LIMIT 1) END`,
	`DELETE FROM temp.batch`,
}

// closeVanishedSQL closes, once every batch is applied, the current
// versions of records this pull did not see. The covering versions_key
// scan reads no table rows.
const closeVanishedSQL = `UPDATE versions SET valid_to = :new WHERE id IN (
	SELECT v.id FROM versions v INDEXED BY versions_key
	WHERE v.source_id = :src AND v.valid_to IS NULL AND v.valid_from < :new AND NOT EXISTS (
		SELECT 1 FROM temp.seen s WHERE s.kind = v.kind AND s.ext_id = v.ext_id))`

// digest computes the snapshot's content digest and counts. The digest is
// SHA-256 over one line per record in canonical order (kind as in
// idsnap.Kinds, then id bytewise): kind NUL id NUL hex(attribute hash) LF.
func (s *Stage) digest(ctx context.Context, counts map[idsnap.Kind]int64) (string, error) {
	rows, err := s.conn.QueryContext(ctx, "SELECT kind, ext_id, hash FROM temp.seen ORDER BY kind, ext_id")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	h := sha256.New()
	var line []byte
	for rows.Next() {
		var code int
		var id string
		var hash []byte
		if err := rows.Scan(&code, &id, &hash); err != nil {
			return "", err
		}
		k := kindOf(code)
		counts[k]++
		line = append(line[:0], k...)
		line = append(line, 0)
		line = append(line, id...)
		line = append(line, 0)
		line = hex.AppendEncode(line, hash)
		line = append(line, '\n')
		h.Write(line)
	}
	if err := rows.Err(); err != nil {
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
