package zitadeltest

// A listing answer is assembled from rows encoded once and kept until the
// objects they show change: the bench serves hundreds of thousands of rows
// per pull from the same process as the pull it times, and encoding every
// row of every page with encoding/json took CPU from that pull, which a
// real ZITADEL elsewhere never would. The bytes are those encoding/json
// wrote for the whole answer (testdata/pages.golden pins them).

// stamp is the sequences of every object a row shows. Every mutation of a
// tenant ticks the changed object's sequence, so a row whose stamp still
// matches is what encoding the objects again would give.
type stamp [4]uint64

type cachedRow struct {
	stamp stamp
	json  []byte
}

// cachedGrant also keeps the user and the user's org the row shows: a
// grant's user never changes, nor a user's org, and finding the user by id
// in a map of every user was the dearest part of serving a cached page.
type cachedGrant struct {
	cachedRow
	user    *User
	userOrg *Org
}

// rowCache holds each object's encoded row, keyed by the object: a removed
// object's pointer stays in the map as long as the cache, so it is never
// reused for another object. It is guarded by the tenant's lock.
type rowCache struct {
	users    map[*User]cachedRow
	grants   map[*Grant]cachedGrant
	projects map[*project]cachedRow
	roles    map[*Role]cachedRow
	slab     rowSlab
	scratch  []byte // the row being written
}

func newRowCache() *rowCache {
	return &rowCache{users: make(map[*User]cachedRow), grants: make(map[*Grant]cachedGrant),
		projects: make(map[*project]cachedRow), roles: make(map[*Role]cachedRow)}
}

// encode returns the row appendRow writes, kept in the slab.
func (c *rowCache) encode(appendRow func([]byte) []byte) []byte {
	c.scratch = appendRow(c.scratch[:0])
	return c.slab.keep(c.scratch)
}

// cached returns k's row as encoded for stamp s, writing it again with
// appendRow when the cached one is missing or stale.
func cached[K comparable](c *rowCache, m map[K]cachedRow, k K, s stamp, appendRow func([]byte) []byte) []byte {
	if r, ok := m[k]; ok && r.stamp == s {
		return r.json
	}
	b := c.encode(appendRow)
	m[k] = cachedRow{s, b}
	return b
}

// rowSlab hands out rows from large chunks: one allocation per chunk
// rather than per row. A row is never written over; a stale one is left
// behind in its chunk.
type rowSlab struct{ chunk []byte }

const slabChunk = 256 << 10

// keep returns a copy of row in the slab.
func (s *rowSlab) keep(row []byte) []byte {
	if len(row) > cap(s.chunk)-len(s.chunk) {
		s.chunk = make([]byte, 0, max(slabChunk, len(row)))
	}
	n := len(s.chunk)
	s.chunk = append(s.chunk, row...)
	return s.chunk[n:len(s.chunk):len(s.chunk)]
}
