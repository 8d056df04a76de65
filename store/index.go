package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
)

// index is a source's current versions when its pull began, held so that
// a Put can tell on its own whether a record is new, changed, unchanged or
// only signed in: only what changed reaches SQLite, and what the pull did
// not see is what vanished.
//
// It is compact so a million users (about 3M records with their grants)
// fit in about 150 MB: an entry keeps 128-bit fingerprints of the key and
// of the attribute hash, not the id's text or the whole SHA-256, in one
// sorted slice without a map's overhead, plus one bit for "seen". Key
// fingerprints are SHA-256 of kind and id, so ids a provider chose cannot
// be made to collide, and stay the same from one process to the next:
// the commit stores the index (pull_index, pullindex.go) for the next
// pull. The digest is still computed from the stored hashes, in full.
type index struct {
	ents []entry // sorted by key
	free func()  // releases ents (allocEntries)
	seen []uint64
	// replaced marks the entries a pull saw changed (or only signed in):
	// their new entries are written as the change is applied.
	replaced []uint64
	// dir[b] is the first entry whose key's top bits are b or more: keys
	// are uniform, so a lookup searches a bucket of about two entries
	// instead of the whole slice (a binary search over 300k entries cost a
	// cache miss a step). Four bytes an entry at most.
	dir   []uint32
	shift uint
}

type entry struct {
	key  fp
	hash fp     // the version's attribute hash, its first 128 bits
	act  uint64 // fingerprint of the version's latest activity
	vid  int64  // the version's id
}

type fp struct{ hi, lo uint64 }

func (a fp) cmp(b fp) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// keyOf fingerprints a record's kind and id.
func keyOf(kind int, id string) fp {
	var buf [128]byte // most ids fit: no allocation
	sum := sha256.Sum256(append(append(buf[:0], byte(kind)), id...))
	return hashFP(sum[:])
}

func hashFP(sum []byte) fp {
	if len(sum) < 16 {
		return fp{}
	}
	return fp{binary.BigEndian.Uint64(sum), binary.BigEndian.Uint64(sum[8:])}
}

// actFP fingerprints an activity row: each of its three values is NULL or
// an integer. A collision would hide one change of activity, never of
// attributes; 2^-64 a pull and record.
func actFP(vals ...any) uint64 {
	var buf [27]byte
	for i, v := range vals {
		var n int64
		switch v := v.(type) {
		case nil:
			continue
		case int64:
			n = v
		case int:
			n = int64(v)
		default:
			panic(fmt.Sprintf("activity value %T", v))
		}
		buf[9*i] = 1
		binary.BigEndian.PutUint64(buf[9*i+1:], uint64(n))
	}
	sum := sha256.Sum256(buf[:])
	return binary.BigEndian.Uint64(sum[:])
}

// release frees the entries; the index is empty afterwards.
func (x *index) release() {
	if x.free != nil {
		x.free()
	}
	*x = index{}
}

// find returns the position of key, or -1.
func (x *index) find(key fp) int {
	if len(x.ents) == 0 {
		return -1
	}
	b := key.hi >> x.shift
	// A bucket holds about two entries, sorted: a scan beats a binary
	// search through a comparison function (a tenth of a re-pull's Put).
	for i, end := int(x.dir[b]), int(x.dir[b+1]); i < end; i++ {
		switch k := x.ents[i].key; {
		case k == key:
			return i
		case k.hi > key.hi || k.hi == key.hi && k.lo > key.lo:
			return -1
		}
	}
	return -1
}

// buildDir sorts the entries and fills dir with about one bucket for two
// entries.
func (x *index) buildDir() {
	// The pull index file is mostly written in order: checking is a
	// tenth of sorting.
	if cmp := func(a, b entry) int { return a.key.cmp(b.key) }; !slices.IsSortedFunc(x.ents, cmp) {
		slices.SortFunc(x.ents, cmp)
	}
	bits := uint(1)
	for 1<<bits < len(x.ents)/2 && bits < 32 {
		bits++
	}
	x.shift = 64 - bits
	x.dir = make([]uint32, 1<<bits+1)
	i := 0
	for b := range 1 << bits {
		for i < len(x.ents) && x.ents[i].key.hi>>x.shift < uint64(b) {
			i++
		}
		x.dir[b] = uint32(i)
	}
	x.dir[1<<bits] = uint32(len(x.ents))
}

// mark records that entry i was seen and reports whether it already was.
func (x *index) mark(i int) bool {
	bit := uint64(1) << (i % 64)
	return atomic.OrUint64(&x.seen[i/64], bit)&bit != 0
}

func (x *index) wasSeen(i int) bool { return atomic.LoadUint64(&x.seen[i/64])&(1<<(i%64)) != 0 }

func (x *index) replace(i int) { atomic.OrUint64(&x.replaced[i/64], 1<<(i%64)) }

func (x *index) wasReplaced(i int) bool {
	return atomic.LoadUint64(&x.replaced[i/64])&(1<<(i%64)) != 0
}

// loadIndexSQL reads a source's current versions and the latest activity
// of each: one scan of the covering versions_key and one seek into
// activity per version.
const loadIndexSQL = `SELECT v.kind, v.ext_id, v.hash, v.id, a.last_sign_in, a.sign_ins, a.failed_sign_ins
	FROM sources s CROSS JOIN versions v INDEXED BY versions_key ON v.source_id = s.id
	LEFT JOIN activity a ON a.version_id = v.id
		AND a.valid_from = (SELECT max(valid_from) FROM activity x WHERE x.version_id = v.id)
	WHERE s.name = ? AND v.valid_to IS NULL`

// loadIndex reads the index of source on conn; n, the number of records
// of its latest snapshot, is how many current versions it has.
func loadIndex(ctx context.Context, conn *sql.Conn, source string, n int) (*index, error) {
	x := &index{}
	x.ents, x.free = allocEntries(n)
	err := rawQuery(ctx, conn, loadIndexSQL, []driver.NamedValue{{Ordinal: 1, Value: source}}, func(v []driver.Value) error {
		kind, _ := i64(v[0])
		vid, _ := i64(v[3])
		hash, _ := v[2].([]byte)
		x.ents = append(x.ents, entry{key: keyOf(int(kind), str(v[1])), hash: hashFP(hash), act: actFP(v[4], v[5], v[6]), vid: vid})
		return nil
	})
	if err != nil {
		x.release()
		return nil, err
	}
	x.buildDir()
	x.seen = make([]uint64, (len(x.ents)+63)/64)
	x.replaced = make([]uint64, len(x.seen))
	return x, nil
}

// rawQuery runs q on conn through the driver itself, calling fn with each
// row's values (valid only during the call): no per-column Scan
// conversions or per-row locking. The values are the driver's: int64,
// float64, string, []byte or nil.
func rawQuery(ctx context.Context, conn *sql.Conn, q string, args []driver.NamedValue, fn func([]driver.Value) error) error {
	return conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("sqlite driver connection %T cannot query", dc)
		}
		rows, err := qc.QueryContext(ctx, q, args)
		if err != nil {
			return err
		}
		defer rows.Close()
		vals := make([]driver.Value, len(rows.Columns()))
		for {
			if err := rows.Next(vals); err == io.EOF {
				return ctx.Err()
			} else if err != nil {
				return err
			}
			if err := fn(vals); err != nil {
				return err
			}
		}
	})
}
