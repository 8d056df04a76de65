package kindetest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
)

// A listing answer is assembled from rows encoded once and kept in the
// object they show until it changes: the bench serves a pull's 320,000
// rows from the same process as the pull it times, and encoding every row
// of every page took CPU from that pull, which a real Kinde elsewhere
// never would. The bytes are those json.Marshal wrote for the whole answer
// (testdata/pages.golden pins them).

// cachedRow is a row encoded when the objects it shows were at the
// revisions in stamp. Every mutation gives the changed object the
// tenant's next revision, so a row whose stamp still matches is what
// encoding the objects again would give.
type cachedRow struct {
	stamp [2]uint64
	json  []byte
}

// row returns c's row, encoding v() again when it was never encoded or
// for another stamp than s. The caller holds the tenant's read lock and
// its rowsMu.
func (c *cachedRow) row(s [2]uint64, v func() any) []byte {
	if c.json == nil || c.stamp != s {
		c.stamp, c.json = s, encodeRow(v())
	}
	return c.json
}

func encodeRow(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("kindetest: encode row: " + err.Error()) // rows hold strings, bools, ints and slices of them
	}
	return b
}

// writeMemberRows encodes every membership's row ahead of the first
// listing: the bench builds a tenant, then times pulls of it while the
// fake shares the machine, and a real Kinde would not spend our CPU on
// any of them. Memberships have one shape; a user's row depends on the
// expansions the client asks for, so users are encoded when first listed.
func (t *Tenant) writeMemberRows() {
	t.mu.RLock()
	defer t.mu.RUnlock()
	t.rowsMu.Lock()
	defer t.rowsMu.Unlock()
	for _, o := range t.orgs {
		for id, m := range o.members {
			memberRow(m, t.users[id])
		}
	}
}

var answerBufs = sync.Pool{New: func() any { return new([]byte) }}

// writeList writes a listing answer as json.Marshal writes the map
// {code, message, next_token, <list>: rows}: keys in sorted order, which
// list names keep after next_token. next nil is null.
func writeList(w http.ResponseWriter, list string, next *string, rows [][]byte) {
	buf := answerBufs.Get().(*[]byte)
	b := append((*buf)[:0], `{"code":"OK","message":"Success","next_token":`...)
	if next == nil {
		b = append(b, "null"...)
	} else {
		tok, _ := json.Marshal(*next) // a string always encodes
		b = append(b, tok...)
	}
	b = append(b, `,"`...)
	b = append(b, list...)
	b = append(b, `":[`...)
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	b = append(b, "]}"...)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	*buf = b
	answerBufs.Put(buf)
}
