package zitadeltest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
)

// A listing answer is assembled from rows encoded once and kept until the
// objects they show change: the bench serves hundreds of thousands of rows
// per pull from the same process as the pull, and encoding/json per row
// per request cost the pull as much CPU as a real ZITADEL elsewhere never
// would. The bytes are those encoding/json writes for the whole answer
// (testdata/pages.golden pins them).

// stamp is the sequences of every object a row shows. Every mutation of a
// tenant ticks the changed object's sequence, so a row whose stamp still
// matches is what encoding the objects again would give.
type stamp [4]uint64

type cachedRow struct {
	stamp stamp
	json  []byte
}

// rowCache holds each object's encoded row, keyed by the object: a removed
// object's pointer stays in the map until the cache is dropped, so it is
// never reused for another object. It is guarded by the tenant's lock.
type rowCache struct {
	users    map[*User]cachedRow
	grants   map[*Grant]cachedRow
	projects map[*project]cachedRow
	roles    map[*Role]cachedRow
}

func newRowCache() *rowCache {
	return &rowCache{users: make(map[*User]cachedRow), grants: make(map[*Grant]cachedRow),
		projects: make(map[*project]cachedRow), roles: make(map[*Role]cachedRow)}
}

// rowJSON returns k's row as encoded for stamp s, encoding row() when the
// cached one is missing or stale.
func rowJSON[K comparable, R any](m map[K]cachedRow, k K, s stamp, row func() R) []byte {
	if c, ok := m[k]; ok && c.stamp == s {
		return c.json
	}
	b, err := json.Marshal(row())
	if err != nil {
		panic("zitadeltest: encode row: " + err.Error()) // rows hold only strings, bools and slices of them
	}
	m[k] = cachedRow{s, b}
	return b
}

var pageBufs = sync.Pool{New: func() any { return new([]byte) }}

// answer is a listing answer being assembled: the struct
// {details, sortingColumn (omitempty), result (omitempty)} as
// json.Encoder writes it, trailing newline included.
type answer struct {
	buf  *[]byte
	rows int
}

// newAnswer starts an answer; sorting "" is omitted.
func newAnswer(d listDetails, sorting string) *answer {
	a := &answer{buf: pageBufs.Get().(*[]byte)}
	b := append((*a.buf)[:0], `{"details":`...)
	det, err := json.Marshal(d)
	if err != nil {
		panic("zitadeltest: encode details: " + err.Error())
	}
	b = append(b, det...)
	if sorting != "" {
		b = append(b, `,"sortingColumn":`...)
		q, _ := json.Marshal(sorting) // echoed from the request: quote it as encoding/json does
		b = append(b, q...)
	}
	*a.buf = b
	return a
}

// add appends one encoded row to the result.
func (a *answer) add(row []byte) {
	if a.rows == 0 {
		*a.buf = append(*a.buf, `,"result":[`...)
	} else {
		*a.buf = append(*a.buf, ',')
	}
	*a.buf = append(*a.buf, row...)
	a.rows++
}

// write closes the answer and writes it with its length, then returns the
// buffer to the pool. Call it without the tenant's lock held.
func (a *answer) write(w http.ResponseWriter) {
	b := *a.buf
	if a.rows > 0 {
		b = append(b, ']')
	}
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	*a.buf = b
	pageBufs.Put(a.buf)
}
