package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/idsnap/idsnap"
)

// The pull index file (<db>.pull-index-<source>) is a source's index as
// its latest snapshot left it, so the next pull reads one file instead of
// every current version and its latest activity: that read was a fifth of
// a re-pull's CPU. It is a cache: a pull that finds none, or one that does
// not name the source's latest snapshot by id, chain digest and time, or a
// damaged one, reads the versions instead, and so does a copy of the
// database without it.
//
// It lives beside the database rather than in it: stored as blobs, each
// pull's 15 MB (100k users) went through the WAL, the checkpoint and the
// freeing of the old blobs' overflow pages, which cost more than half of
// what reading it saved.
//
// A Stage writes it as it goes, to a temporary file: the entries of the
// versions it inserted and of the activity it recorded as each batch is
// applied, then, at Commit, the entries it loaded that the pull saw
// unchanged. Before the commit, it tallies what it wrote against the
// versions the digest reads (count and a sum over hash and version id); only when they agree, and once the snapshot is committed, is the
// file renamed into place. Entries are in no particular order: the loader
// sorts them.
//
// File: entries of 48 bytes (six little-endian uint64s: key, hash, act,
// vid), then a trailer: magic, snapshot id, entry count, the snapshot's
// chain digest, SHA-256 of the source's name and the snapshot's time,
// and SHA-256 of all that precedes it.

const (
	entrySize   = 48
	pullMagic   = "idsnPI01"
	trailerSize = 8 + 8 + 8 + 32 + 32 + sha256.Size
)

// pullIndexPath is the file of source's pull index beside the database.
func (db *DB) pullIndexPath(source string) string {
	sum := sha256.Sum256([]byte(source))
	return db.path + ".pull-index-" + hex.EncodeToString(sum[:8])
}

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

// tally is a multiset fingerprint of (hash, vid) pairs: the index the
// Stage wrote and the versions the digest read must have the same. The
// key is left out: the attribute hash covers kind and id already, and
// deriving the key of every version read cost a tenth of the digest.
type tally struct {
	n   int64
	sum uint64
}

var tallySeed = maphash.MakeSeed()

func (t *tally) add(hash fp, vid int64) {
	var b [24]byte
	binary.LittleEndian.PutUint64(b[0:], hash.hi)
	binary.LittleEndian.PutUint64(b[8:], hash.lo)
	binary.LittleEndian.PutUint64(b[16:], uint64(vid))
	t.n++
	t.sum += maphash.Bytes(tallySeed, b[:])
}

// trailer is what a pull index file says of itself.
type trailer struct {
	snapID, count int64
	chain         [32]byte
	// bind is SHA-256 of the source's name, a zero byte and the
	// snapshot's taken_at: a database deleted and pulled again from the
	// same tenant repeats snapshot ids and chain digests (neither covers
	// time), but not the time, and its version ids differ.
	bind [32]byte
}

func (t trailer) append(b []byte) []byte {
	b = append(b, pullMagic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(t.snapID))
	b = binary.LittleEndian.AppendUint64(b, uint64(t.count))
	b = append(b, t.chain[:]...)
	return append(b, t.bind[:]...)
}

// wantTrailer is the trailer of source's index for snapshot snapID with n
// records, chain digest chain (hex) and taken_at takenAt (as stored).
func wantTrailer(source string, snapID int64, n int, chain, takenAt string) (trailer, bool) {
	t := trailer{snapID: snapID, count: int64(n), bind: sha256.Sum256([]byte(source + "\x00" + takenAt))}
	c, err := hex.DecodeString(chain)
	if err != nil || len(c) != len(t.chain) {
		return t, false
	}
	copy(t.chain[:], c)
	return t, true
}

// readPullIndex reads source's pull index file when it was written for
// snapshot snapID with n records, the chain digest chain and taken_at
// takenAt; ok is false when there is none or it is another snapshot's or
// damaged.
func (db *DB) readPullIndex(source string, snapID int64, n int, chain, takenAt string) (x *index, ok bool) {
	want, ok := wantTrailer(source, snapID, n, chain, takenAt)
	if !ok {
		return nil, false
	}
	f, err := os.Open(db.pullIndexPath(source))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	size := int64(n)*entrySize + trailerSize
	if fi, err := f.Stat(); err != nil || fi.Size() != size {
		return nil, false
	}
	x = &index{}
	x.ents, x.free = allocEntries(n)
	h := sha256.New()
	if n > 0 {
		// The entries' bytes are read straight into the index: on a
		// little-endian machine they are its memory layout.
		dst := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x.ents[:n]))), n*entrySize)
		if _, err := io.ReadFull(io.TeeReader(f, h), dst); err != nil {
			x.release()
			return nil, false
		}
		x.ents = x.ents[:n]
		if !littleEndian {
			for i := range x.ents {
				x.ents[i] = readEntry(dst[i*entrySize:])
			}
		}
	}
	var tr [trailerSize]byte
	if _, err := io.ReadFull(f, tr[:]); err != nil {
		x.release()
		return nil, false
	}
	body := tr[:trailerSize-sha256.Size]
	h.Write(body)
	if !bytes.Equal(body, want.append(nil)) || !bytes.Equal(h.Sum(nil), tr[len(body):]) {
		x.release()
		return nil, false
	}
	x.buildDir()
	for i := 1; i < len(x.ents); i++ { // the sort put duplicates side by side
		if x.ents[i].key == x.ents[i-1].key {
			x.release()
			return nil, false
		}
	}
	x.seen = make([]uint64, (len(x.ents)+63)/64)
	x.replaced = make([]uint64, len(x.seen))
	return x, true
}

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// The entry layout the file shares with memory on little-endian machines.
var _ [entrySize - unsafe.Sizeof(entry{})]struct{}
var _ [unsafe.Sizeof(entry{}) - entrySize]struct{}

// indexWriter writes a Stage's pull index file. The Stage's writer
// goroutine owns it, then Commit. It never fails the pull: after an
// error (a full disk) it removes its file and writes nothing more, and
// the next pull reads the versions.
type indexWriter struct {
	path   string // the index file it replaces
	f      *os.File
	w      *bufio.Writer
	h      hash.Hash
	buf    []byte
	wrote  tally
	failed bool
	// changes holds the entries of what the pull applied until there
	// are maxHeld of them; Commit sorts them into the loaded entries, so
	// the next pull's load need not sort. Past maxHeld (a first pull)
	// they are written as they come, and the load sorts.
	changes []entry
	spilled bool
}

// maxHeld is 3 MiB of entries; tests lower it.
var maxHeld = 1 << 16

// open creates the temporary file on first use; false once it failed.
func (w *indexWriter) open() bool {
	if w.failed || w.path == "" {
		return false
	}
	if w.f == nil {
		f, err := os.CreateTemp(filepath.Dir(w.path), filepath.Base(w.path)+".tmp*")
		if err != nil {
			w.failed = true
			return false
		}
		w.f, w.h = f, sha256.New()
		w.w = bufio.NewWriterSize(io.MultiWriter(f, w.h), 1<<20)
	}
	return true
}

// change adds the entry of a version or activity the pull applied.
func (w *indexWriter) change(e entry) {
	if !w.spilled {
		if w.changes = append(w.changes, e); len(w.changes) < maxHeld {
			return
		}
		w.spilled = true
		for _, e := range w.changes {
			w.add(e)
		}
		w.changes = nil
		return
	}
	w.add(e)
}

func (w *indexWriter) add(e entry) {
	if !w.open() {
		return
	}
	w.buf = appendEntry(w.buf[:0], e)
	w.wrote.add(e.hash, e.vid)
	if _, err := w.w.Write(w.buf); err != nil {
		w.fail()
	}
}

func (w *indexWriter) fail() {
	w.failed = true
	if w.f != nil {
		w.f.Close()
		os.Remove(w.f.Name())
		w.f = nil
	}
}

// entries writes the entries of idx the pull saw and did not replace,
// then reports whether what was written tallies with the versions read.
func (w *indexWriter) entries(idx *index, read tally) bool {
	slices.SortFunc(w.changes, func(a, b entry) int { return a.key.cmp(b.key) })
	c := w.changes
	for i, e := range idx.ents {
		if !idx.wasSeen(i) || idx.wasReplaced(i) {
			continue
		}
		for len(c) > 0 && c[0].key.cmp(e.key) < 0 {
			w.add(c[0])
			c = c[1:]
		}
		w.add(e)
	}
	for _, e := range c {
		w.add(e)
	}
	w.changes = nil
	return w.open() && w.wrote == read
}

// sweep removes the temporary index files of this source last written
// before cutoff, the moment this Stage began to commit: a pull killed
// while writing one leaves it behind (15 MB for 100k users). Any pull of
// the source that began before that moment fails with ErrConcurrentPull
// and never renames its file, so only the dead and the doomed are swept.
func (w *indexWriter) sweep(cutoff time.Time) {
	if w.path == "" {
		return
	}
	// Not filepath.Glob: the database's path may hold its metacharacters.
	dir, prefix := filepath.Dir(w.path), filepath.Base(w.path)+".tmp"
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// commit finishes the file for the committed snapshot and puts it in
// place of the source's previous one.
func (w *indexWriter) commit(t trailer) {
	if w.failed || w.f == nil {
		return
	}
	t.count = w.wrote.n
	b := t.append(nil)
	w.w.Write(b)
	err := w.w.Flush()
	if err == nil {
		_, err = w.f.Write(w.h.Sum(nil))
	}
	if err == nil {
		err = w.f.Chmod(0o600)
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.f.Name(), w.path)
	}
	if err != nil {
		os.Remove(w.f.Name())
	}
	w.f = nil
}

// discard removes the file being written and, with old, the source's
// previous one, which no longer names its latest snapshot.
func (w *indexWriter) discard(old bool) {
	w.fail()
	if old && w.path != "" {
		os.Remove(w.path)
	}
}

// startIndex readies the Stage's index writer for its pull.
func (s *Stage) startIndex() { s.iw = indexWriter{path: s.db.pullIndexPath(s.src.Name)} }

// checkPullIndex reports whether the pull index file of s, the latest
// snapshot of its source, is the index read from its versions. A file a
// pull would not use (none, another snapshot's) is fine.
func (db *DB) checkPullIndex(ctx context.Context, s idsnap.Snapshot) (bool, error) {
	n := 0
	for _, c := range s.Counts {
		n += int(c)
	}
	stored, ok := db.readPullIndex(s.Source, s.ID, n, s.ChainDigest, formatTime(s.TakenAt))
	if !ok {
		return true, nil
	}
	defer stored.release()
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	// In one read transaction that still has s as the source's latest
	// snapshot: a pull committing meanwhile is no mismatch.
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return false, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	var last int64
	err = conn.QueryRowContext(ctx, `SELECT max(s.id) FROM snapshots s JOIN sources o ON o.id = s.source_id
		WHERE o.name = ?`, s.Source).Scan(&last)
	if err != nil || last != s.ID {
		return true, err
	}
	read, err := loadIndex(ctx, conn, s.Source, n)
	if err != nil {
		return false, err
	}
	defer read.release()
	return slices.Equal(stored.ents, read.ents), nil
}
