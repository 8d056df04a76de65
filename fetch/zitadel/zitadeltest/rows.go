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

// get returns the row, writing it again with appendRow into slab when it
// was never written or for another stamp than s. The row lives in the
// object it shows, guarded by the tenant's lock: no map to look it up in
// or to grow, which at 300,000 rows cost more than the rows themselves.
func (c *cachedRow) get(s stamp, slab *rowSlab, appendRow func([]byte) []byte) []byte {
	if c.json == nil || c.stamp != s {
		c.stamp, c.json = s, slab.encode(appendRow)
	}
	return c.json
}

// rowSlab hands out rows from large chunks: one allocation per chunk
// rather than per row. A row is never written over; a stale one is left
// behind in its chunk.
type rowSlab struct {
	chunk   []byte
	scratch []byte // the row being written
}

const slabChunk = 256 << 10

// encode returns the row appendRow writes, kept in the slab.
func (s *rowSlab) encode(appendRow func([]byte) []byte) []byte {
	s.scratch = appendRow(s.scratch[:0])
	if len(s.scratch) > cap(s.chunk)-len(s.chunk) {
		s.chunk = make([]byte, 0, max(slabChunk, len(s.scratch)))
	}
	n := len(s.chunk)
	s.chunk = append(s.chunk, s.scratch...)
	return s.chunk[n:len(s.chunk):len(s.chunk)]
}

// writeRows writes every row ahead of the first listing, so the first
// pull costs the fake what later ones do: the bench builds a tenant, then
// times pulls of it while the fake shares the machine, and a real ZITADEL
// would not spend our CPU on any of them.
func (h *handler) writeRows() {
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	for _, u := range h.t.users {
		h.userRow(u)
	}
	projects := make(map[string]*project, len(h.t.projects))
	for _, pr := range h.t.projects {
		projects[pr.ID] = pr
		h.projectRow(pr)
		for _, ro := range pr.roles {
			h.roleRow(ro, pr.OrgID)
		}
	}
	for _, g := range h.t.grants {
		h.grantRow(g, projects[g.ProjectID])
	}
}
