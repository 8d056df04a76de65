package zitadeltest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// listRequest is the body of every _search call. offset is a uint64 and
// limit a uint32: protojson accepts both as JSON strings or numbers.
type listRequest struct {
	Query *struct {
		Offset json.RawMessage `json:"offset"`
		Limit  json.RawMessage `json:"limit"`
		Asc    bool            `json:"asc"`
	} `json:"query"`
	SortingColumn string                       `json:"sortingColumn"`
	Queries       []map[string]json.RawMessage `json:"queries"`
}

type page struct {
	offset, limit uint64
	asc           bool
	unbounded     bool
}

func protoUint(raw json.RawMessage) (uint64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	return strconv.ParseUint(strings.Trim(string(raw), `"`), 10, 64)
}

// readList decodes a _search body and applies the limit rules; it writes
// the error itself and returns false on a bad request.
func (h *handler) readList(w http.ResponseWriter, r *request, allowed ...string) (*listRequest, page, bool) {
	var lr listRequest
	if err := json.NewDecoder(r.Body).Decode(&lr); err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidArgument, "invalid request body: "+err.Error(), "")
		return nil, page{}, false
	}
	var p page
	if lr.Query != nil {
		var err1, err2 error
		p.offset, err1 = protoUint(lr.Query.Offset)
		p.limit, err2 = protoUint(lr.Query.Limit)
		if err1 != nil || err2 != nil || p.limit > 1<<32-1 {
			writeError(w, http.StatusBadRequest, codeInvalidArgument, "invalid query: offset and limit must be unsigned integers", "")
			return nil, page{}, false
		}
		p.asc = lr.Query.Asc
	}
	switch max := h.cfg.MaxLimit; {
	case max > 0 && p.limit > uint64(max):
		writeError(w, http.StatusBadRequest, codeInvalidArgument,
			fmt.Sprintf("Errors.Query.LimitExceeded (given: %d, allowed: %d)", p.limit, max), "QUERY-4M0fs")
		return nil, page{}, false
	case max > 0 && p.limit == 0:
		p.limit = uint64(max)
	case p.limit == 0:
		p.unbounded = true
	}
	for _, q := range lr.Queries {
		for k := range q {
			if !slices.Contains(allowed, k) {
				writeError(w, http.StatusBadRequest, codeInvalidArgument, "zitadeltest does not implement the query "+k, "")
				return nil, page{}, false
			}
		}
	}
	if h.cfg.BeforePage != nil {
		h.cfg.BeforePage(r.URL.Path, p.offset)
	}
	return &lr, p, true
}

// cut returns the page's window of n rows.
func (p page) cut(n int) (int, int) {
	lo := int(min(p.offset, uint64(n)))
	if p.unbounded {
		return lo, n
	}
	return lo, int(min(uint64(lo)+p.limit, uint64(n)))
}

type details struct {
	Sequence      string `json:"sequence,omitempty"`
	CreationDate  string `json:"creationDate,omitempty"`
	ChangeDate    string `json:"changeDate,omitempty"`
	ResourceOwner string `json:"resourceOwner,omitempty"`
}

func objectDetails(seq uint64, created, changed time.Time, owner string) *details {
	return &details{Sequence: u64(seq), CreationDate: ts(created), ChangeDate: ts(changed), ResourceOwner: owner}
}

type listDetails struct {
	TotalResult       string `json:"totalResult,omitempty"`
	ProcessedSequence string `json:"processedSequence,omitempty"`
	ViewTimestamp     string `json:"viewTimestamp,omitempty"`
}

// listDetails must be called with the tenant locked.
func (h *handler) listDetails(total int) listDetails {
	return listDetails{TotalResult: u64(uint64(total)), ProcessedSequence: u64(h.t.seq),
		ViewTimestamp: ts(h.t.base.Add(time.Duration(h.t.seq) * time.Minute))}
}

// u64 encodes a uint64 as protojson does: a string, omitted when zero.
func u64(n uint64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func sortingColumn(s, unspecified string) string {
	if s == unspecified {
		return ""
	}
	return s
}
