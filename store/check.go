package store

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/idsnap/idsnap"
)

// CheckResult is what Check found. Problems is empty when the database is
// sound.
type CheckResult struct {
	Integrity   string // PRAGMA integrity_check's verdict: "ok" when sound
	ForeignKeys int    // rows PRAGMA foreign_key_check reported
	Snapshots   int    // snapshots whose digest and chain digest were recomputed
	Sources     int
	Anchors     []idsnap.Anchor
	Problems    []string // one line each, naming the snapshot or table
}

// Check is what an operator runs after restoring a backup: SQLite's
// integrity_check and foreign_key_check, then every snapshot's digest and
// counts recomputed from the versions in force at it, and every chain
// digest from its predecessor's (or the source's anchor, after a prune).
func (db *DB) Check(ctx context.Context) (*CheckResult, error) {
	res := &CheckResult{}
	rows, err := db.sql.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return nil, db.dbError("check", err)
	}
	var lines []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, db.dbError("check", err)
		}
		lines = append(lines, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, db.dbError("check", err)
	}
	res.Integrity = strings.Join(lines, "; ")
	if res.Integrity != "ok" {
		res.Problems = append(res.Problems, "integrity_check: "+res.Integrity)
	}
	fk, err := db.sql.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return nil, db.dbError("check", err)
	}
	tables := map[string]int{}
	for fk.Next() {
		var table, parent string
		var rowid, n any
		if err := fk.Scan(&table, &rowid, &parent, &n); err != nil {
			fk.Close()
			return nil, db.dbError("check", err)
		}
		res.ForeignKeys++
		tables[table+" -> "+parent]++
	}
	fk.Close()
	if err := fk.Err(); err != nil {
		return nil, db.dbError("check", err)
	}
	for t, n := range tables {
		res.Problems = append(res.Problems, fmt.Sprintf("foreign_key_check: %d rows of %s refer to missing rows", n, t))
	}

	if res.Anchors, err = db.Anchors(ctx); err != nil {
		return nil, err
	}
	prev := map[string]string{}
	for _, a := range res.Anchors {
		prev[a.Source] = a.ChainDigest
	}
	snaps, err := db.Snapshots(ctx, "")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, s := range snaps {
		if !seen[s.Source] {
			seen[s.Source] = true
			res.Sources++
		}
		digest, counts, err := db.recomputeDigest(ctx, s.ID)
		if err != nil {
			return nil, db.dbError(fmt.Sprintf("check snapshot %d", s.ID), err)
		}
		res.Snapshots++
		switch {
		case digest != s.Digest:
			res.Problems = append(res.Problems, fmt.Sprintf("snapshot %d of %s: digest %s does not match its versions (%s)", s.ID, s.Source, short(s.Digest), short(digest)))
		case countsDiffer(counts, s.Counts):
			res.Problems = append(res.Problems, fmt.Sprintf("snapshot %d of %s: counts %v do not match its versions (%v)", s.ID, s.Source, s.Counts, counts))
		}
		if want := chainDigest(prev[s.Source], s.Digest); s.ChainDigest != want {
			res.Problems = append(res.Problems, fmt.Sprintf("snapshot %d of %s: chain digest does not follow from the previous snapshot's: history was rewritten", s.ID, s.Source))
		}
		prev[s.Source] = s.ChainDigest
	}
	latest := map[string]idsnap.Snapshot{}
	for _, s := range snaps {
		latest[s.Source] = s
	}
	for _, s := range latest {
		ok, err := db.checkPullIndex(ctx, s)
		if err != nil {
			return nil, db.dbError("check the pull index of "+s.Source, err)
		}
		if !ok {
			res.Problems = append(res.Problems, fmt.Sprintf("%s: the pull index does not match the versions of snapshot %d; "+
				"the next pull may record changes wrongly: delete %s and the pull rebuilds it", s.Source, s.ID, db.pullIndexPath(s.Source)))
		}
	}
	return res, nil
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}

func countsDiffer(a, b map[idsnap.Kind]int64) bool {
	for _, k := range idsnap.Kinds {
		if a[k] != b[k] {
			return true
		}
	}
	return false
}

// recomputeDigest computes a snapshot's digest as Commit did, from the
// versions in force at it rather than from what was staged. The covering
// versions_key scan reads no table rows.
func (db *DB) recomputeDigest(ctx context.Context, id int64) (string, map[idsnap.Kind]int64, error) {
	srcID, _, err := db.snapshotSource(ctx, id)
	if err != nil {
		return "", nil, err
	}
	counts := map[idsnap.Kind]int64{}
	h := sha256.New()
	var line []byte
	args := []driver.NamedValue{{Name: "src", Ordinal: 1, Value: srcID}, {Name: "at", Ordinal: 2, Value: id}}
	err = db.query(ctx, `SELECT v.kind, v.ext_id, v.hash FROM versions v INDEXED BY versions_key
		WHERE v.source_id = :src AND v.valid_from <= :at AND (v.valid_to IS NULL OR v.valid_to > :at)
		ORDER BY v.kind, v.ext_id`, args, func(vals []driver.Value) error {
		code, _ := i64(vals[0])
		k := kindOf(int(code))
		counts[k]++
		line = append(line[:0], k...)
		line = append(line, 0)
		line = append(line, str(vals[1])...)
		line = append(line, 0)
		hash, _ := vals[2].([]byte)
		line = hex.AppendEncode(line, hash)
		line = append(line, '\n')
		h.Write(line)
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return hex.EncodeToString(h.Sum(nil)), counts, nil
}
