package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/idsnap/idsnap"
)

// Commit turns the pull into a snapshot, in one transaction: it closes the
// versions that changed or vanished, inserts the new ones, records activity
// that differs from the last seen, and inserts the snapshot row with its
// counts and digests. Before it commits, readers see none of it.
//
// Snapshots of one source are strictly sequential. Commit waits (up to the
// busy timeout) for another writer, and fails with ErrConcurrentPull when a
// snapshot of the same source was committed after this Stage began: the two
// pulls overlapped, and this one may hold data older than its predecessor's.
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
		// The snapshot is committed; only the scratch table lingers.
		return snap, nil
	}
	return snap, err
}

func (s *Stage) commit(ctx context.Context) (_ idsnap.Snapshot, err error) {
	c, op := s.conn, "commit "+s.src.Name
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return idsnap.Snapshot{}, s.db.dbError(op, err)
	}
	defer func() {
		if err != nil {
			c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	fail := func(err error) (idsnap.Snapshot, error) { return idsnap.Snapshot{}, s.db.dbError(op, err) }

	var srcID int64
	if _, err := c.ExecContext(ctx, "INSERT INTO sources (name) VALUES (?) ON CONFLICT (name) DO NOTHING", s.src.Name); err != nil {
		return fail(err)
	}
	if err := c.QueryRowContext(ctx, "SELECT id FROM sources WHERE name = ?", s.src.Name).Scan(&srcID); err != nil {
		return fail(err)
	}
	var last int64
	var prevChain string
	err = c.QueryRowContext(ctx, "SELECT id, chain_digest FROM snapshots WHERE source_id = ? ORDER BY id DESC LIMIT 1", srcID).Scan(&last, &prevChain)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fail(err)
	}
	if last != s.lastID {
		return idsnap.Snapshot{}, fmt.Errorf("%s: snapshot %d of this source was committed while this pull ran (%w); pull again", op, last, ErrConcurrentPull)
	}

	snap := idsnap.Snapshot{
		Source: s.src.Name, Provider: s.src.Provider, BaseURL: s.src.BaseURL,
		Org: s.src.OrgID, TakenAt: s.takenAt, Counts: map[idsnap.Kind]int64{},
	}
	if snap.Org == "" {
		snap.Org = s.src.ProjectSlug
	}
	if snap.Digest, err = s.digest(ctx, snap.Counts); err != nil {
		return fail(err)
	}
	snap.ChainDigest = chainDigest(prevChain, snap.Digest)
	err = c.QueryRowContext(ctx, `INSERT INTO snapshots (source_id, provider, base_url, org, taken_at,
		users, resources, entitlements, grants, digest, chain_digest)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		srcID, snap.Provider, snap.BaseURL, snap.Org, formatTime(snap.TakenAt),
		snap.Counts[idsnap.KindUser], snap.Counts[idsnap.KindResource],
		snap.Counts[idsnap.KindEntitlement], snap.Counts[idsnap.KindGrant],
		snap.Digest, snap.ChainDigest).Scan(&snap.ID)
	if err != nil {
		return fail(err)
	}

	args := []any{sql.Named("new", snap.ID), sql.Named("src", srcID)}
	for _, q := range commitSQL {
		if _, err := c.ExecContext(ctx, q, args...); err != nil {
			return fail(err)
		}
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return fail(err)
	}
	return snap, nil
}

// commitSQL applies the staged pull as snapshot :new of source :src. The
// order matters: once changed and vanished versions are closed, the
// current versions left are exactly the unchanged ones.
var commitSQL = []string{
	// Close versions that vanished or whose attributes changed.
	// The covering versions_key scan reads no table rows.
	`UPDATE versions SET valid_to = :new WHERE id IN (
		SELECT v.id FROM versions v INDEXED BY versions_key
		WHERE v.source_id = :src AND v.valid_to IS NULL AND NOT EXISTS (
			SELECT 1 FROM temp.stage s WHERE s.kind = v.kind AND s.ext_id = v.ext_id AND s.hash = v.hash))`,
	// Insert the new versions: every staged record without a current one.
	`INSERT INTO versions (source_id, kind, ext_id, valid_from, hash, principal_id, resource_id,
		entitlement_id, email, email_verified, username, name, status, type, external_id, created_at, raw)
	SELECT :src, kind, ext_id, :new, hash, principal_id, resource_id,
		entitlement_id, email, email_verified, username, name, status, type, external_id, created_at, raw
	FROM temp.stage s WHERE NOT EXISTS (
		SELECT 1 FROM versions v
		WHERE v.source_id = :src AND v.kind = s.kind AND v.ext_id = s.ext_id AND v.valid_to IS NULL)`,
	// Record activity only where it differs from the version's latest row
	// (no row reads as all NULL, which is "no activity"). A version this
	// commit inserted has no row yet, so it needs no lookup; a continuing
	// one is compared with its latest row in one seek (descending on the
	// primary key), not a max() subquery and a second seek to that row.
	`INSERT INTO activity (version_id, valid_from, last_sign_in, sign_ins, failed_sign_ins)
	SELECT v.id, :new, s.last_sign_in, s.sign_ins, s.failed_sign_ins
	FROM temp.stage s JOIN versions v
		ON v.source_id = :src AND v.kind = s.kind AND v.ext_id = s.ext_id AND v.valid_to IS NULL
	WHERE CASE WHEN v.valid_from = :new
		THEN (s.last_sign_in, s.sign_ins, s.failed_sign_ins) IS NOT (NULL, NULL, NULL)
		ELSE (s.last_sign_in, s.sign_ins, s.failed_sign_ins) IS NOT (
			SELECT last_sign_in, sign_ins, failed_sign_ins FROM activity
			WHERE version_id = v.id ORDER BY valid_from DESC LIMIT 1) END`,
}

// digest computes the snapshot's content digest and counts. The digest is
// SHA-256 over one line per record in canonical order (kind as in
// idsnap.Kinds, then id bytewise): kind NUL id NUL hex(attribute hash) LF.
func (s *Stage) digest(ctx context.Context, counts map[idsnap.Kind]int64) (string, error) {
	rows, err := s.conn.QueryContext(ctx, "SELECT kind, ext_id, hash FROM temp.stage ORDER BY kind, ext_id")
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
