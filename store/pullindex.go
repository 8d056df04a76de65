package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"hash/maphash"
)

// The pull index (table pull_index) is a source's index as its latest
// snapshot left it, so the next pull reads it as a few blobs instead of
// reading every current version and its latest activity: that read was a
// fifth of a re-pull's CPU.
//
// A Stage writes it inside the transaction that makes the snapshot: the
// entries of the versions it inserted and of the activity it recorded as
// each batch is applied, then, at Commit, the entries it loaded that the
// pull saw unchanged. Parts are in no particular order; the loader sorts.
// Before committing, the Stage compares what it wrote with the rows the
// digest reads (count and a sum over key, hash and version id); when they
// differ it drops the index, and the next pull reads the versions.

const entrySize = 48 // six little-endian uint64s: key, hash, act, vid

// partEntries is how many entries a part holds: 3 MiB. Tests lower it.
var partEntries = 1 << 16

func appendEntry(b []byte, e entry) []byte {
	b = binary.LittleEndian.AppendUint64(b, e.key.hi)
	b = binary.LittleEndian.AppendUint64(b, e.key.lo)
	b = binary.LittleEndian.AppendUint64(b, e.hash.hi)
	b = binary.LittleEndian.AppendUint64(b, e.hash.lo)
	b = binary.LittleEndian.AppendUint64(b, e.act)
	return binary.LittleEndian.AppendUint64(b, uint64(e.vid))
}

func readEntry(b []byte) entry {
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(b[8*i:]) }
	return entry{key: fp{u(0), u(1)}, hash: fp{u(2), u(3)}, act: u(4), vid: int64(u(5))}
}

// tally is a multiset fingerprint of (key, hash, vid) triples: the index
// the Stage wrote and the versions the digest read must have the same.
type tally struct {
	n   int64
	sum uint64
}

var tallySeed = maphash.MakeSeed()

func (t *tally) add(key, hash fp, vid int64) {
	var b [40]byte
	binary.LittleEndian.PutUint64(b[0:], key.hi)
	binary.LittleEndian.PutUint64(b[8:], key.lo)
	binary.LittleEndian.PutUint64(b[16:], hash.hi)
	binary.LittleEndian.PutUint64(b[24:], hash.lo)
	binary.LittleEndian.PutUint64(b[32:], uint64(vid))
	t.n++
	t.sum += maphash.Bytes(tallySeed, b[:])
}

const readPullIndexSQL = `SELECT p.snapshot_id, p.entries FROM pull_index p
	JOIN sources s ON s.id = p.source_id WHERE s.name = ? ORDER BY p.part`

// readPullIndex reads source's stored index when it was written by
// snapshot snap and holds its n records; ok is false when it does not
// (none stored, an older snapshot's, or damaged), and the caller reads the
// versions instead.
func readPullIndex(ctx context.Context, conn *sql.Conn, source string, snap int64, n int) (x *index, ok bool, err error) {
	x = &index{}
	x.ents, x.free = allocEntries(n)
	ok = true
	err = rawQuery(ctx, conn, readPullIndexSQL, []driver.NamedValue{{Ordinal: 1, Value: source}}, func(v []driver.Value) error {
		id, _ := i64(v[0])
		b, _ := v[1].([]byte)
		if !ok || id != snap || len(b)%entrySize != 0 || len(x.ents)+len(b)/entrySize > n {
			ok = false
			return nil
		}
		for ; len(b) > 0; b = b[entrySize:] {
			x.ents = append(x.ents, readEntry(b))
		}
		return nil
	})
	if err != nil || !ok || len(x.ents) != n {
		x.release()
		return nil, false, err
	}
	x.buildDir()
	for i := 1; i < len(x.ents); i++ {
		if x.ents[i].key == x.ents[i-1].key {
			x.release()
			return nil, false, nil
		}
	}
	x.seen = make([]uint64, (len(x.ents)+63)/64)
	x.replaced = make([]uint64, len(x.seen))
	return x, true, nil
}

// indexWriter writes a Stage's pull index as the Stage applies its
// batches and commits; the Stage's writer goroutine owns it, then Commit.
type indexWriter struct {
	srcID, snapID int64
	part          int64
	buf           []byte
	wrote         tally
}

// start drops the source's stored index: from here until the commit, the
// transaction writes the new one.
func (w *indexWriter) start(ctx context.Context, conn *sql.Conn, srcID, snapID int64) error {
	*w = indexWriter{srcID: srcID, snapID: snapID}
	_, err := conn.ExecContext(ctx, "DELETE FROM pull_index WHERE source_id = ?", srcID)
	return err
}

func (w *indexWriter) add(ctx context.Context, conn *sql.Conn, e entry) error {
	if w.buf == nil {
		w.buf = make([]byte, 0, partEntries*entrySize)
	}
	w.buf = appendEntry(w.buf, e)
	w.wrote.add(e.key, e.hash, e.vid)
	if len(w.buf) == cap(w.buf) {
		return w.flush(ctx, conn)
	}
	return nil
}

func (w *indexWriter) flush(ctx context.Context, conn *sql.Conn) error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := conn.ExecContext(ctx, "INSERT OR ROLLBACK INTO pull_index (source_id, part, snapshot_id, entries) VALUES (?, ?, ?, ?)",
		w.srcID, w.part, w.snapID, w.buf)
	w.part++
	w.buf = w.buf[:0]
	return err
}

// finish writes the entries of idx the pull saw and did not replace, then
// keeps the index only if it lists what the digest read.
func (w *indexWriter) finish(ctx context.Context, conn *sql.Conn, idx *index, read tally) error {
	for i, e := range idx.ents {
		if idx.wasSeen(i) && !idx.wasReplaced(i) {
			if err := w.add(ctx, conn, e); err != nil {
				return err
			}
		}
	}
	if err := w.flush(ctx, conn); err != nil {
		return err
	}
	if w.wrote != read {
		_, err := conn.ExecContext(ctx, "DELETE FROM pull_index WHERE source_id = ?", w.srcID)
		return err
	}
	return nil
}
